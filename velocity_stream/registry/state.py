"""The registry's in-memory state, a deterministic fold over the records of its topic.

Every process applies the same records in the same (single-partition) order with the same rules,
so every process ends in the same state. A write is a *claim*: the writer proposes an id and a
version from the state it has seen; if another process's claim for that id, version or schema
got into the log first, this apply rejects it everywhere alike and the writer retries with a
newer view. That is what keeps ids from colliding across instances without a leader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from velocity_stream.contracts.catalog import CompatibilityMode
from velocity_stream.registry.modes import RegistryMode
from velocity_stream.registry.records import (
    ConfigRecord,
    IdWatermark,
    Json,
    LogRecord,
    Marker,
    ModeRecord,
    SchemaRecord,
    SchemaTombstone,
)
from velocity_stream.registry.references import Reference


@dataclass(frozen=True, slots=True)
class StoredSchema:
    """One schema by id: its text and data-contract fields (all covered by ``fingerprint``)."""

    schema_id: int
    fingerprint: str
    text: str
    metadata: Json = None
    rule_set: Json = None
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True, slots=True)
class SubjectVersion:
    subject: str
    version: int
    schema_id: int
    deleted: bool


@dataclass
class RegistryState:
    """Schemas by id, subject versions, compatibility levels and modes, as the log says."""

    schemas: dict[int, StoredSchema] = field(default_factory=dict)
    by_fingerprint: dict[str, int] = field(default_factory=dict)
    subjects: dict[str, dict[int, SubjectVersion]] = field(default_factory=dict)
    configs: dict[str | None, CompatibilityMode] = field(default_factory=dict)
    modes: dict[str | None, RegistryMode] = field(default_factory=dict)
    max_id: int = 0

    # --- the fold --------------------------------------------------------------------------

    def apply(self, record: LogRecord) -> bool:
        """Fold one record in; False when it is a claim that lost (it changes nothing then)."""
        if isinstance(record, SchemaRecord):
            return self._apply_schema(record)
        if isinstance(record, SchemaTombstone):
            self._apply_tombstone(record)
            return True
        if isinstance(record, ConfigRecord):
            if record.level is None:
                self.configs.pop(record.subject, None)
            else:
                self.configs[record.subject] = record.level
            return True
        if isinstance(record, ModeRecord):
            if record.mode is None:
                self.modes.pop(record.subject, None)
            elif record.mode in RegistryMode.__members__:
                self.modes[record.subject] = RegistryMode(record.mode)
            else:
                return False  # not a mode we know: ignored, the way an unreadable record is
            return True
        if isinstance(record, IdWatermark):
            self.max_id = max(self.max_id, record.schema_id)
            return True
        assert isinstance(record, Marker)
        return True

    def _apply_schema(self, record: SchemaRecord) -> bool:
        # An id seen in any claim, even a losing one, is never handed out again.
        self.max_id = max(self.max_id, record.schema_id)
        versions = self.subjects.get(record.subject, {})
        existing = versions.get(record.version)
        if existing is not None:
            stored = self.schemas.get(existing.schema_id)
            same = (
                existing.schema_id == record.schema_id
                and stored is not None
                and stored.fingerprint == record.fingerprint
            )
            if not same:
                return False  # the version number went to another schema first
            # The same claim again, or a soft-delete flag change.
            versions[record.version] = SubjectVersion(
                record.subject, record.version, record.schema_id, record.deleted
            )
            return True
        stored = self.schemas.get(record.schema_id)
        if stored is not None and stored.fingerprint != record.fingerprint:
            return False  # the id went to another schema first
        bound = self.by_fingerprint.get(record.fingerprint)
        if bound is not None and bound != record.schema_id:
            return False  # this schema got another id first
        if not record.deleted and any(
            v.schema_id == record.schema_id and not v.deleted for v in versions.values()
        ):
            return False  # already a live version of this subject
        if stored is None:
            self.schemas[record.schema_id] = StoredSchema(
                record.schema_id,
                record.fingerprint,
                record.schema,
                record.metadata,
                record.rule_set,
                record.references,
            )
            self.by_fingerprint[record.fingerprint] = record.schema_id
        self.subjects.setdefault(record.subject, {})[record.version] = SubjectVersion(
            record.subject, record.version, record.schema_id, record.deleted
        )
        return True

    def _apply_tombstone(self, record: SchemaTombstone) -> None:
        versions = self.subjects.get(record.subject)
        if versions is None:
            return
        existing = versions.get(record.version)
        stored = self.schemas.get(record.schema_id)
        if (
            existing is None
            or existing.schema_id != record.schema_id
            or stored is None
            or stored.fingerprint != record.fingerprint
        ):
            return  # a tombstone for a claim that lost: nothing of it is in the state
        del versions[record.version]
        if not versions:
            del self.subjects[record.subject]
        if not self.versions_using(record.schema_id):
            # Dropped so the state equals a replay of the compacted topic, where the record
            # is gone; max_id (and the watermark record) keep the id from being reused.
            del self.schemas[record.schema_id]
            self.by_fingerprint.pop(record.fingerprint, None)

    # --- queries ---------------------------------------------------------------------------

    def versions_using(self, schema_id: int) -> list[SubjectVersion]:
        """Every subject version (soft-deleted included) that uses ``schema_id``."""
        return [
            entry
            for versions in self.subjects.values()
            for entry in versions.values()
            if entry.schema_id == schema_id
        ]

    def referenced_by(self, subject: str, version: int) -> list[SubjectVersion]:
        """Every subject version (soft-deleted included) whose schema references ``subject``
        version ``version``."""
        return [
            entry
            for versions in self.subjects.values()
            for entry in versions.values()
            if any(
                r.subject == subject and r.version == version
                for r in self.schemas[entry.schema_id].references
            )
        ]

    def versions(self, subject: str, *, deleted: bool = False) -> list[SubjectVersion]:
        """The subject's versions, oldest first; soft-deleted ones only when asked."""
        found = self.subjects.get(subject, {})
        return [found[v] for v in sorted(found) if deleted or not found[v].deleted]

    def subject_names(self, *, deleted: bool = False) -> list[str]:
        return sorted(s for s in self.subjects if self.versions(s, deleted=deleted))

    def next_version(self, subject: str) -> int:
        found = self.subjects.get(subject, {})
        return max(found, default=0) + 1
