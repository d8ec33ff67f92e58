"""The Confluent wire format: magic byte 0, a 4-byte big-endian schema id, then the Avro body.

Every serializer in the Confluent ecosystem (Kafka Connect, ksqlDB, confluent-kafka's own
AvroSerializer) frames messages this way, so keeping to it lets them all read our topics.
"""

from __future__ import annotations

import struct

from velocity_stream.errors import ReasonCode, SerdeError

MAGIC_BYTE = 0
_HEADER = struct.Struct(">bI")
HEADER_SIZE = _HEADER.size


def frame(schema_id: int, body: bytes) -> bytes:
    return _HEADER.pack(MAGIC_BYTE, schema_id) + body


def unframe(payload: bytes | None) -> tuple[int, memoryview]:
    """Split a framed payload into its schema id and Avro body (a zero-copy view)."""
    if not payload:
        raise SerdeError(ReasonCode.DECODE_EMPTY_PAYLOAD, "the message value is empty or null")
    if payload[0] != MAGIC_BYTE:
        raise SerdeError(
            ReasonCode.DECODE_BAD_MAGIC_BYTE,
            f"first byte is {payload[0]:#04x}, the Confluent wire format starts with 0x00",
        )
    if len(payload) < HEADER_SIZE:
        raise SerdeError(
            ReasonCode.DECODE_CORRUPT_BODY,
            f"{len(payload)} bytes is shorter than the {HEADER_SIZE}-byte wire header",
        )
    _, schema_id = _HEADER.unpack_from(payload)
    return schema_id, memoryview(payload)[HEADER_SIZE:]
