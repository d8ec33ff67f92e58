"""Schema-id lookup: the small interface between the serde and wherever schemas live.

The serde asks for a writer schema by id when decoding and for the id of a schema when
encoding. An in-memory resolver serves tests and the offline default; a registry-backed one
(velocity_stream.registry) serves production.
"""

from __future__ import annotations

import json
import threading
from typing import Protocol

from velocity_stream.errors import ReasonCode, SerdeError


def subject_for(topic: str) -> str:
    """Confluent's TopicNameStrategy for message values."""
    return f"{topic}-value"


def canonical_text(schema: str | dict[str, object]) -> str:
    """A stable text for identity checks: key order and whitespace never make a new schema."""
    data = json.loads(schema) if isinstance(schema, str) else schema
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


class SchemaResolver(Protocol):
    """Where schema ids come from. Implementations cache: the hot path does no I/O."""

    def schema_by_id(self, schema_id: int) -> str:
        """The schema registered under ``schema_id`` as JSON text; SerdeError if unknown."""
        ...

    def register(self, subject: str, schema: str) -> int:
        """The id of ``schema`` under ``subject``, registering it if it is new."""
        ...


class InMemorySchemaResolver:
    """A process-local registry: ids from 1 up, one id per distinct schema across subjects."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[int, str] = {}
        self._by_text: dict[str, int] = {}
        self._subjects: dict[str, list[int]] = {}

    def schema_by_id(self, schema_id: int) -> str:
        try:
            return self._by_id[schema_id]
        except KeyError:
            raise SerdeError(
                ReasonCode.DECODE_UNKNOWN_SCHEMA_ID, f"no schema is registered with id {schema_id}"
            ) from None

    def register(self, subject: str, schema: str) -> int:
        text = canonical_text(schema)
        with self._lock:
            schema_id = self._by_text.get(text)
            if schema_id is None:
                schema_id = len(self._by_id) + 1
                self._by_id[schema_id] = text
                self._by_text[text] = schema_id
            versions = self._subjects.setdefault(subject, [])
            if schema_id not in versions:
                versions.append(schema_id)
            return schema_id

    def subjects(self) -> dict[str, list[int]]:
        with self._lock:
            return {subject: list(ids) for subject, ids in self._subjects.items()}
