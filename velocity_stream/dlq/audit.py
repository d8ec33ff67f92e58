"""The replay audit log: one JSON record per replayed dead letter, on its own topic.

Each record says what was replayed (the dead letter's coordinates, reason, family, artifact
id), where it went (the ingress topic, partition and offset of the republished record), by whom
and when, and whether ``--force`` replayed it again. The log doubles as the replay tool's
memory: a dead letter with an audit record is skipped by later replays unless forced.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from velocity_stream.contracts.catalog import Catalog, TopicSpec
from velocity_stream.dlq.records import Coordinates

if TYPE_CHECKING:
    from velocity_stream.gateway.messages import InboundMessage

AUDIT_SCHEMA = "velocity.dlq.audit/1"


def audit_topic(catalog: Catalog, prefix: str) -> str:
    """The audit topic's name, from the catalog's [gateway] section."""
    return catalog.dlq_audit_topic(prefix)


def audit_topic_spec(catalog: Catalog, prefix: str) -> TopicSpec:
    """The audit topic as the catalog's topic specs describe it."""
    name = audit_topic(catalog, prefix)
    return next(spec for spec in catalog.topic_specs(prefix) if spec.name == name)


def coordinates_key(coordinates: Coordinates) -> str:
    topic, partition, offset = coordinates
    return f"{topic}:{partition}:{offset}"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One replayed dead letter. Times are ISO 8601 UTC; coordinates are (topic, partition,
    offset)."""

    replay_id: str
    operator: str
    replayed_at: str
    dead_letter: Coordinates
    reason: str
    family: str | None
    artifact_id: str | None
    source: Coordinates | None
    target: Coordinates
    forced: bool
    filter: str
    host: str
    tool_version: str

    @property
    def key(self) -> bytes:
        """Kafka key: the dead letter's coordinates, so its replays sit side by side."""
        return coordinates_key(self.dead_letter).encode("utf-8")

    def to_json(self) -> bytes:
        body = {
            "schema": AUDIT_SCHEMA,
            "replay_id": self.replay_id,
            "operator": self.operator,
            "replayed_at": self.replayed_at,
            "dead_letter": _coords_json(self.dead_letter),
            "reason": self.reason,
            "family": self.family,
            "artifact_id": self.artifact_id,
            "source": _coords_json(self.source) if self.source else None,
            "target": _coords_json(self.target),
            "forced": self.forced,
            "filter": self.filter,
            "host": self.host,
            "tool_version": self.tool_version,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> AuditRecord:
        """Parse one record; ValueError when it is not an audit record of this schema."""
        try:
            body = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"not JSON: {error}") from error
        if not isinstance(body, dict) or body.get("schema") != AUDIT_SCHEMA:
            raise ValueError("not a velocity.dlq.audit/1 record")
        try:
            source = body.get("source")
            return cls(
                replay_id=str(body["replay_id"]),
                operator=str(body["operator"]),
                replayed_at=str(body["replayed_at"]),
                dead_letter=_coords_of(body["dead_letter"]),
                reason=str(body["reason"]),
                family=body.get("family"),
                artifact_id=body.get("artifact_id"),
                source=_coords_of(source) if source else None,
                target=_coords_of(body["target"]),
                forced=bool(body.get("forced", False)),
                filter=str(body.get("filter", "")),
                host=str(body.get("host", "")),
                tool_version=str(body.get("tool_version", "")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"incomplete audit record: {error}") from error


def _coords_json(coordinates: Coordinates) -> dict[str, object]:
    topic, partition, offset = coordinates
    return {"topic": topic, "partition": partition, "offset": offset}


def _coords_of(data: object) -> Coordinates:
    if not isinstance(data, dict):
        raise ValueError("coordinates must be an object")
    return (str(data["topic"]), int(data["partition"]), int(data["offset"]))


@dataclass(frozen=True)
class AuditLog:
    """Every audit record read back, indexed by the dead letter it replayed."""

    records: tuple[AuditRecord, ...]
    unreadable: int = 0

    @classmethod
    def from_records(cls, records: Iterable[InboundMessage]) -> AuditLog:
        parsed: list[AuditRecord] = []
        unreadable = 0
        for record in records:
            try:
                parsed.append(AuditRecord.from_json(record.value or b""))
            except ValueError:
                unreadable += 1
        return cls(tuple(parsed), unreadable)

    @cached_property
    def _by_dead_letter(self) -> dict[Coordinates, list[AuditRecord]]:
        index: dict[Coordinates, list[AuditRecord]] = {}
        for record in self.records:
            index.setdefault(record.dead_letter, []).append(record)
        return index

    def replays_of(self, dead_letter: Coordinates) -> list[AuditRecord]:
        """Every replay of one dead letter, oldest first."""
        return list(self._by_dead_letter.get(dead_letter, ()))

    def last_replay(self, dead_letter: Coordinates) -> AuditRecord | None:
        found = self.replays_of(dead_letter)
        return found[-1] if found else None

    @property
    def replayed(self) -> frozenset[Coordinates]:
        return frozenset(self._by_dead_letter)
