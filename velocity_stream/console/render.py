"""A consumed record as one JSON object: coordinates, key, headers, and the decoded artifact, or
the raw value in base64 with the reason it did not decode. Pure (no Kafka client).

Shape (one line each)::

    {"topic", "partition", "offset", "timestamp_ms", "timestamp",
     "key" | "key_base64", "headers": [{"name", "value" | "value_base64"}],
     "family", "artifact"                                    -- decoded and valid, or
     "family"?, "error": {"code", "message", "violations"?}, "record"?, "value_base64"
     "dead_letter": {...}                                    -- on the dead-letter topic}

``artifact`` is the contract's JSON form, so a tailed line's artifact is a valid ``produce``
input line. Text fields appear when the bytes are UTF-8, ``*_base64`` ones otherwise.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Headers = Sequence[tuple[str, bytes | None]]


@dataclass(frozen=True, slots=True)
class Decoded:
    """What decoding one value gave: an artifact's JSON, or an error (and what was read)."""

    family: str | None
    artifact: dict[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    violations: tuple[dict[str, str], ...] = ()
    # The Avro record as read, when it decoded but broke its contract.
    record: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.artifact is not None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def text_or_base64(name: str, data: bytes | None) -> dict[str, Any]:
    """``{name: text}`` when ``data`` is UTF-8, ``{name_base64: ...}`` otherwise; null stays."""
    if data is None:
        return {name: None}
    try:
        return {name: data.decode("utf-8")}
    except UnicodeDecodeError:
        return {f"{name}_base64": b64(data)}


def headers_json(headers: Headers) -> list[dict[str, Any]]:
    """Headers in order (names repeat), each value as text when it is UTF-8."""
    return [{"name": name, **text_or_base64("value", value)} for name, value in headers]


def iso_time(timestamp_ms: int | None) -> str | None:
    if timestamp_ms is None or timestamp_ms < 0:
        return None
    moment = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def jsonable(value: object) -> Any:
    """Avro values (bytes, datetimes, decimals, UUIDs) as JSON values: bytes in base64."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: object) -> object:
    if isinstance(value, bytes | bytearray | memoryview):
        return b64(bytes(value))
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def record_json(
    *,
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int | None,
    key: bytes | None,
    headers: Headers,
    value: bytes | None,
    decoded: Decoded,
    dead_letter: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON object ``tail`` prints for one record."""
    out: dict[str, Any] = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "timestamp_ms": timestamp_ms,
        "timestamp": iso_time(timestamp_ms),
        **text_or_base64("key", key),
        "headers": headers_json(headers),
        "family": decoded.family,
    }
    if dead_letter is not None:
        out["dead_letter"] = dead_letter
    if decoded.ok:
        out["artifact"] = decoded.artifact
        return out
    error: dict[str, Any] = {"code": decoded.error_code, "message": decoded.error_message}
    if decoded.violations:
        error["violations"] = list(decoded.violations)
    out["error"] = error
    if decoded.record is not None:
        out["record"] = jsonable(decoded.record)
    out["value_base64"] = None if value is None else b64(value)
    return out


def dead_letter_json(
    *,
    reason: str,
    stage: str,
    message: str,
    field_path: str,
    source: tuple[str, int, int] | None,
    dead_lettered_at_ms: int | None,
    gateway_version: str | None,
    dropped: Sequence[str],
) -> dict[str, Any]:
    """The gateway's ``velocity.dlq.*`` headers of a dead letter, decoded."""
    return {
        "reason": reason or None,
        "stage": stage or None,
        "message": message or None,
        "field": field_path or None,
        "source": (
            None
            if source is None
            else {"topic": source[0], "partition": source[1], "offset": source[2]}
        ),
        "dead_lettered_at_ms": dead_lettered_at_ms,
        "dead_lettered_at": iso_time(dead_lettered_at_ms),
        "gateway_version": gateway_version,
        "dropped": list(dropped),
    }


def line(obj: dict[str, Any]) -> str:
    """One JSON line (compact, UTF-8 as is)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
