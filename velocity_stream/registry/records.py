"""The records of the registry's Kafka topic: what each key and value holds, and their bytes.

Keys are compact JSON with sorted keys, so one logical key is always the same bytes and log
compaction keeps exactly the last record per key. A schema key names the subject, version, id
and schema fingerprint: a claim that lost a race (see state.py) never shares a key with the
claim that won, so compaction cannot replace a winner by a loser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from velocity_stream.contracts.catalog import CompatibilityMode
from velocity_stream.registry.references import Reference, references_from_record

Json = Any  # a decoded JSON value


@dataclass(frozen=True, slots=True)
class SchemaRecord:
    """Version ``version`` of ``subject`` is schema ``schema_id``; ``deleted``: soft-deleted.

    ``references`` (references.py), ``metadata`` and ``rule_set`` (datacontract.py) are part
    of what ``fingerprint`` covers; absent from the value when empty, so older records read the
    same.
    """

    subject: str
    version: int
    schema_id: int
    fingerprint: str
    schema: str
    deleted: bool = False
    metadata: Json = None
    rule_set: Json = None
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True, slots=True)
class SchemaTombstone:
    """Hard delete of one schema record (also how a writer withdraws a claim that lost)."""

    subject: str
    version: int
    schema_id: int
    fingerprint: str


@dataclass(frozen=True, slots=True)
class ConfigRecord:
    """Compatibility level of a subject (``subject`` None: the global level); None level clears."""

    subject: str | None
    level: CompatibilityMode | None


@dataclass(frozen=True, slots=True)
class ModeRecord:
    """Mode of a subject (``subject`` None: the global mode); None mode clears it."""

    subject: str | None
    mode: str | None


@dataclass(frozen=True, slots=True)
class IdWatermark:
    """Highest id ever handed out; written before hard deletes so compaction cannot lower it."""

    schema_id: int


@dataclass(frozen=True, slots=True)
class Marker:
    """A no-op a process writes and reads back to know it has read everything before it."""

    token: str


LogRecord = SchemaRecord | SchemaTombstone | ConfigRecord | ModeRecord | IdWatermark | Marker


def _dump(data: dict[str, object]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def encode(record: LogRecord) -> tuple[bytes, bytes | None]:
    """The (key, value) bytes of a record; a tombstone's value is None."""
    if isinstance(record, SchemaRecord | SchemaTombstone):
        key = _dump(
            {
                "keytype": "SCHEMA",
                "subject": record.subject,
                "version": record.version,
                "id": record.schema_id,
                "fingerprint": record.fingerprint,
            }
        )
        if isinstance(record, SchemaTombstone):
            return key, None
        fields: dict[str, object] = {
            "subject": record.subject,
            "version": record.version,
            "id": record.schema_id,
            "fingerprint": record.fingerprint,
            "schema": record.schema,
            "deleted": record.deleted,
        }
        if record.references:
            fields["references"] = [r.to_json() for r in record.references]
        if record.metadata is not None:
            fields["metadata"] = record.metadata
        if record.rule_set is not None:
            fields["ruleSet"] = record.rule_set
        return key, _dump(fields)
    if isinstance(record, ConfigRecord):
        key = _dump({"keytype": "CONFIG", "subject": record.subject})
        if record.level is None:
            return key, None
        return key, _dump({"compatibilityLevel": record.level.value})
    if isinstance(record, ModeRecord):
        key = _dump({"keytype": "MODE", "subject": record.subject})
        if record.mode is None:
            return key, None
        return key, _dump({"mode": record.mode})
    if isinstance(record, IdWatermark):
        return _dump({"keytype": "ID_WATERMARK"}), _dump({"id": record.schema_id})
    return _dump({"keytype": "MARKER"}), _dump({"token": record.token})


class UnreadableRecord(ValueError):
    """A record on the topic that is not ours or is corrupt; the replay skips it."""


def _object_or_none(value: object, name: str) -> Json:
    if value is not None and not isinstance(value, dict):
        raise UnreadableRecord(f"{name} is not a JSON object")
    return value


def decode(key: bytes | None, value: bytes | None) -> LogRecord:
    """The record behind (key, value) bytes; UnreadableRecord when they are not ours."""
    try:
        head = json.loads(key) if key else None
        if not isinstance(head, dict):
            raise UnreadableRecord("record key is not a JSON object")
        body = json.loads(value) if value is not None else None
        keytype = head.get("keytype")
        if keytype == "SCHEMA":
            if body is None:
                return SchemaTombstone(
                    str(head["subject"]),
                    int(head["version"]),
                    int(head["id"]),
                    str(head["fingerprint"]),
                )
            return SchemaRecord(
                str(body["subject"]),
                int(body["version"]),
                int(body["id"]),
                str(body["fingerprint"]),
                str(body["schema"]),
                bool(body.get("deleted", False)),
                _object_or_none(body.get("metadata"), "metadata"),
                _object_or_none(body.get("ruleSet"), "ruleSet"),
                references_from_record(body.get("references")),
            )
        if keytype == "CONFIG":
            subject = head.get("subject")
            level = None if body is None else CompatibilityMode(body["compatibilityLevel"])
            return ConfigRecord(None if subject is None else str(subject), level)
        if keytype == "MODE":
            subject = head.get("subject")
            mode = None if body is None else str(body["mode"])
            return ModeRecord(None if subject is None else str(subject), mode)
        if keytype == "ID_WATERMARK":
            return IdWatermark(int(body["id"]) if body else 0)
        if keytype == "MARKER":
            return Marker(str(body["token"]) if body else "")
    except (ValueError, KeyError, TypeError) as error:
        raise UnreadableRecord(f"unreadable registry record: {error}") from None
    raise UnreadableRecord(f"unknown record key type {keytype!r}")
