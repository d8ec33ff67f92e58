"""The schema registry: a Confluent-compatible REST service backed by a Kafka topic, the
registry-backed schema resolver for the serde, and registration of the catalog.

May import contracts, serde, compat, kafka; the CLI and the gateway import it.
"""

from __future__ import annotations

from velocity_stream.registry.answers import RegisteredVersion
from velocity_stream.registry.canonical import CanonicalSchema, identity_form, parse_avro
from velocity_stream.registry.errors import ErrorCode, RegistryRequestError
from velocity_stream.registry.service import RegistryService
from velocity_stream.registry.store import RegistryStore, StoreOptions, kafka_store, memory_store

__all__ = [
    "CanonicalSchema",
    "ErrorCode",
    "RegisteredVersion",
    "RegistryRequestError",
    "RegistryService",
    "RegistryStore",
    "StoreOptions",
    "identity_form",
    "kafka_store",
    "memory_store",
    "parse_avro",
]
