"""The replay audit log: one record per replayed dead letter, on its own topic.

Records are the internal family DlqReplayAudit (velocity_stream/contracts/replay_audit.py),
Avro-encoded with the catalog's contract like every other record on Kafka.

Each record says what was replayed (the dead letter's coordinates, reason, family, artifact
id), where it went (the ingress topic, partition and offset of the republished record), by whom
and when, and whether ``--force`` replayed it again. The log doubles as the replay tool's
memory: a dead letter with an audit record is skipped by later replays unless forced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from velocity_stream.contracts.catalog import Catalog, TopicSpec
from velocity_stream.contracts.metadata import validate_artifact
from velocity_stream.contracts.replay_audit import (
    DlqReplayAudit,
    RecordCoordinates,
    replay_audit_id,
)
from velocity_stream.dlq.records import Coordinates
from velocity_stream.errors import ContractError, RegistryError, SerdeError

if TYPE_CHECKING:
    from velocity_stream.protocol.records import InboundMessage
    from velocity_stream.serde.avro import AvroSerde

DLQ_OPERATOR = "dlq-operator"  # the audit family's producer (catalog)


def audit_topic(catalog: Catalog, prefix: str) -> str:
    """The audit topic's name: the topic of the catalog's ``dlq_audit_family``."""
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

    def to_artifact(self) -> DlqReplayAudit:
        """The record as its contract (ContractError when it breaks it)."""
        ref = coordinates_key(self.dead_letter)
        at = _instant(self.replayed_at)
        return validate_artifact(
            DlqReplayAudit,
            {
                "artifact_id": replay_audit_id(self.replay_id, ref),
                "artifact_type": DlqReplayAudit.FAMILY,
                "schema_version": DlqReplayAudit.SCHEMA_VERSION,
                "source_system": DLQ_OPERATOR,
                "created_at": at,
                "created_by": self.operator,
                "confidence": 1.0,
                "provenance": {"origin": "HUMAN", "source_refs": [ref], "method": "dlq replay"},
                "dead_letter_ref": ref,
                "replay_id": self.replay_id,
                "operator": self.operator,
                "replayed_at": at,
                "dead_letter": _coords_model(self.dead_letter),
                "reason": self.reason,
                "family": self.family,
                "replayed_artifact_id": self.artifact_id,
                "source": _coords_model(self.source) if self.source else None,
                "target": _coords_model(self.target),
                "forced": self.forced,
                "filter": self.filter,
                "host": self.host,
                "tool_version": self.tool_version,
            },
        )

    def encode(self, serde: AvroSerde) -> bytes:
        """The record as the audit topic carries it: Avro, Confluent framing."""
        return serde.encode(self.to_artifact())

    @classmethod
    def from_artifact(cls, audit: DlqReplayAudit) -> AuditRecord:
        return cls(
            replay_id=audit.replay_id,
            operator=audit.operator,
            replayed_at=iso_millis(audit.replayed_at),
            dead_letter=_coords_of(audit.dead_letter),
            reason=audit.reason,
            family=audit.family,
            artifact_id=audit.replayed_artifact_id,
            source=_coords_of(audit.source) if audit.source else None,
            target=_coords_of(audit.target),
            forced=audit.forced,
            filter=audit.filter,
            host=audit.host,
            tool_version=audit.tool_version,
        )

    @classmethod
    def decode(cls, value: bytes | None, serde: AvroSerde, catalog: Catalog) -> AuditRecord:
        """Read one record of the audit topic; ValueError (naming why) when it is not a valid
        audit record: not Avro of the audit contract, or breaking it."""
        try:
            audit = serde.decode(value, catalog.dlq_audit)
        except (SerdeError, ContractError) as error:
            raise ValueError(str(error)) from error
        except RegistryError as error:
            raise ValueError(f"cannot resolve its schema: {error}") from error
        assert isinstance(audit, DlqReplayAudit)
        return cls.from_artifact(audit)


def iso_millis(moment: datetime) -> str:
    """``moment`` as the audit log shows times: ISO 8601 UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _coords_model(coordinates: Coordinates) -> RecordCoordinates:
    topic, partition, offset = coordinates
    return RecordCoordinates(topic=topic, partition=partition, offset=offset)


def _coords_of(coordinates: RecordCoordinates) -> Coordinates:
    return (coordinates.topic, coordinates.partition, coordinates.offset)


@dataclass(frozen=True)
class AuditLog:
    """Every audit record read back, indexed by the dead letter it replayed."""

    records: tuple[AuditRecord, ...]
    unreadable: int = 0

    @classmethod
    def from_records(
        cls, records: Iterable[InboundMessage], serde: AvroSerde, catalog: Catalog
    ) -> AuditLog:
        """The audit log of ``records``; those that are not valid audit records are counted
        as unreadable (and never make a dead letter look replayed)."""
        parsed: list[AuditRecord] = []
        unreadable = 0
        for record in records:
            try:
                parsed.append(AuditRecord.decode(record.value, serde, catalog))
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
