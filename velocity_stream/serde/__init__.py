"""Avro encoding in the Confluent wire format, with the writer schema looked up by id."""

from __future__ import annotations

from velocity_stream.serde.avro import AvroSerde, DecodedRecord
from velocity_stream.serde.resolver import InMemorySchemaResolver, SchemaResolver, subject_for
from velocity_stream.serde.wire import MAGIC_BYTE, frame, unframe

__all__ = [
    "MAGIC_BYTE",
    "AvroSerde",
    "DecodedRecord",
    "InMemorySchemaResolver",
    "SchemaResolver",
    "frame",
    "subject_for",
    "unframe",
]
