"""What ``dlq show`` says about a dead letter's value: a hex dump and a best-effort decode.

The decode goes as far as it can and says where it stopped: the Confluent framing (magic
byte, schema id), the writer schema (from the registry), the Avro body resolved to the family's
reader schema, then the contract. A dead letter is often exactly a record that fails one of
these steps, so the failure is part of the answer, not an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from velocity_stream.contracts.catalog import Family
from velocity_stream.contracts.metadata import validate_artifact
from velocity_stream.contracts.registry import model_for
from velocity_stream.errors import ContractError, VelocityError
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.serde.wire import HEADER_SIZE, MAGIC_BYTE

HEX_LIMIT = 512


def hex_dump(data: bytes, limit: int | None = HEX_LIMIT, width: int = 16) -> list[str]:
    """``offset  hex bytes  |ascii|`` lines, like ``xxd``; cut after ``limit`` bytes."""
    shown = data if limit is None else data[:limit]
    lines: list[str] = []
    for start in range(0, len(shown), width):
        row = shown[start : start + width]
        hex_part = " ".join(f"{b:02x}" for b in row).ljust(width * 3 - 1)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{start:08x}  {hex_part}  |{text}|")
    if len(shown) < len(data):
        lines.append(f"... {len(data) - len(shown)} more bytes (--full shows all)")
    return lines


@dataclass(frozen=True, slots=True)
class DecodeAttempt:
    """How far decoding got: ``stage`` is the step that failed, or ``"ok"``."""

    stage: str
    detail: str
    schema_id: int | None = None
    record: dict[str, Any] | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "stage": self.stage,
            "detail": self.detail,
            "schema_id": self.schema_id,
            "record": _jsonable(self.record) if self.record is not None else None,
        }


def framing(value: bytes | None) -> tuple[str, int | None]:
    """A sentence on the Confluent framing of ``value`` and the schema id it names."""
    if not value:
        return "empty or null value", None
    if value[0] != MAGIC_BYTE:
        return f"not Confluent-framed (first byte {value[0]:#04x}, expected 0x00)", None
    if len(value) < HEADER_SIZE:
        return f"{len(value)} bytes: shorter than the {HEADER_SIZE}-byte wire header", None
    schema_id = int.from_bytes(value[1:HEADER_SIZE], "big")
    return f"Confluent wire format, schema id {schema_id}, {len(value) - HEADER_SIZE}-byte body", (
        schema_id
    )


def attempt_decode(
    value: bytes | None, family: Family | None, major: int | None, serde: AvroSerde | None
) -> DecodeAttempt:
    """Decode as far as possible; never raises."""
    text, schema_id = framing(value)
    if schema_id is None:
        return DecodeAttempt("framing", text)
    if family is None or major is None:
        return DecodeAttempt("family", f"{text}; unknown family, not decoded", schema_id)
    if serde is None:
        return DecodeAttempt("registry", f"{text}; no schema registry to decode with", schema_id)
    try:
        decoded = serde.decode_record(value, family, major)
    except VelocityError as error:
        return DecodeAttempt("decode", str(error), schema_id)
    except Exception as error:  # a bug or an unreachable registry must not hide the rest
        return DecodeAttempt("decode", f"{type(error).__name__}: {error}", schema_id)
    try:
        validate_artifact(model_for(family.name, major), decoded.record)
    except ContractError as error:
        return DecodeAttempt("contract", str(error), schema_id, decoded.record)
    except Exception as error:
        return DecodeAttempt(
            "contract", f"{type(error).__name__}: {error}", schema_id, decoded.record
        )
    return DecodeAttempt(
        "ok", f"{text}; meets the {family.name} contract", schema_id, decoded.record
    )


def _jsonable(value: object) -> object:
    """Avro values (bytes, datetimes, decimals, UUIDs) as JSON-friendly values."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: object) -> object:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)
