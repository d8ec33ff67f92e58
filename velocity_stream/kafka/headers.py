"""The Kafka headers every artifact message carries, in one place for producers and readers.

Headers repeat a few envelope fields so tools can route, filter and trace without decoding
Avro. They are hints: the Avro body is the record of truth, and readers validate it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Header names: lower-case, prefixed so they never collide with other systems' headers.
ARTIFACT_TYPE = "velocity.artifact_type"
SCHEMA_VERSION = "velocity.schema_version"
ARTIFACT_ID = "velocity.artifact_id"
PRODUCER = "velocity.producer"
SOURCE_SYSTEM = "velocity.source_system"
TRACE_ID = "velocity.trace_id"

# Message headers in the shape confluent-kafka's produce() accepts.
KafkaHeaders = list[tuple[str, str | bytes | None]]
HeaderInput = Mapping[str, str | bytes] | Sequence[tuple[str, str | bytes | None]]


def new_trace_id() -> str:
    """A fresh trace id (32 hex digits, the size of a W3C trace id)."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class ArtifactHeaders:
    """The envelope headers of one artifact message."""

    artifact_type: str
    schema_version: str
    artifact_id: str
    producer: str
    source_system: str
    trace_id: str

    def to_kafka(self) -> KafkaHeaders:
        return [
            (ARTIFACT_TYPE, self.artifact_type.encode()),
            (SCHEMA_VERSION, self.schema_version.encode()),
            (ARTIFACT_ID, self.artifact_id.encode()),
            (PRODUCER, self.producer.encode()),
            (SOURCE_SYSTEM, self.source_system.encode()),
            (TRACE_ID, self.trace_id.encode()),
        ]


def to_kafka_headers(headers: HeaderInput | None) -> KafkaHeaders:
    """Normalize caller headers (a mapping or pairs, str or bytes values) to Kafka's form."""
    if not headers:
        return []
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    result: KafkaHeaders = []
    for name, value in pairs:
        if value is None:
            continue
        result.append((name, value.encode() if isinstance(value, str) else bytes(value)))
    return result


def header_map(headers: Sequence[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """Headers as text by name (last value wins; undecodable bytes are replaced, not raised)."""
    if not headers:
        return {}
    return {
        name: value.decode("utf-8", errors="replace")
        for name, value in headers
        if value is not None
    }
