"""The Kafka headers every artifact message carries, in one place for producers and readers.

Headers repeat a few envelope fields so tools can route, filter and trace without decoding
Avro. They are hints: the Avro body is the record of truth, and readers validate it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

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
    """A fresh trace id (32 hex digits, the size of a W3C trace id).

    Trace ids need to be unique, not secret: the fast Mersenne Twister (seeded from the OS at
    start) is enough and several times cheaper per message than uuid4's os.urandom call.
    """
    return f"{random.getrandbits(128):032x}"


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
