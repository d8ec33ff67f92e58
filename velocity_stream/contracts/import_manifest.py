"""ImportMappingManifest: how an import batch's columns map to canonical fields.

Major 2 (:class:`ImportMappingManifest`) makes each mapping a structured target with a kind
and a confidence; major 1 (:class:`ImportMappingManifestV1`) is kept so old manifests stay
readable, and ``upgrades.py`` maps 1.x records to 2.x. Both share the column accounting rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum

from pydantic import Field

from velocity_stream.contracts.entity_proposal import EntityType
from velocity_stream.contracts.metadata import Artifact, ContractModel
from velocity_stream.errors import ReasonCode, Violation

# Dotted snake_case path inside an entity, e.g. ``email`` or ``address.postal_code``.
FIELD_PATH = r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$"


def column_accounting(
    source_columns: Sequence[str],
    claims: Iterable[tuple[str, str]],
    note_columns: Iterable[tuple[str, str | None]] = (),
) -> Iterator[Violation]:
    """Every source column mapped, ignored or unresolved exactly once.

    ``claims`` are ``(path, column)`` pairs from the mapped, ignored and unmapped lists, in
    that order, so a duplicate is reported where it repeats an earlier claim.
    """
    known: dict[str, int] = {}
    for index, column in enumerate(source_columns):
        if column in known:
            yield Violation(
                ReasonCode.CONTRACT_MANIFEST_COLUMN_DUPLICATED,
                f"source_columns.{index}",
                f"{column!r} is already source column {known[column]}",
            )
        else:
            known[column] = index
    claimed: dict[str, str] = {}
    for path, column in claims:
        if column not in known:
            yield Violation(
                ReasonCode.CONTRACT_MANIFEST_COLUMN_UNKNOWN,
                path,
                f"{column!r} is not a column of the imported file",
            )
        elif column in claimed:
            yield Violation(
                ReasonCode.CONTRACT_MANIFEST_COLUMN_DUPLICATED,
                path,
                f"{column!r} is already accounted for at {claimed[column]}",
            )
        else:
            claimed[column] = path
    for column, index in known.items():
        if column not in claimed:
            yield Violation(
                ReasonCode.CONTRACT_MANIFEST_COLUMN_UNACCOUNTED,
                f"source_columns.{index}",
                f"{column!r} is neither mapped, ignored nor listed as unresolved",
            )
    for path, noted in note_columns:
        if noted is not None and noted not in known:
            yield Violation(
                ReasonCode.CONTRACT_MANIFEST_COLUMN_UNKNOWN,
                path,
                f"the note is about {noted!r}, which is not a column of the imported file",
            )


def _list_claims(field: str, columns: Sequence[str]) -> Iterator[tuple[str, str]]:
    return ((f"{field}.{index}", column) for index, column in enumerate(columns))


# --- major 1 ------------------------------------------------------------------------------


class ColumnMappingV1(ContractModel):
    source_column: str = Field(min_length=1)
    target_field: str = Field(min_length=1)
    transform: str | None = None


class ResolverNoteV1(ContractModel):
    column: str | None = None
    note: str = Field(min_length=1)


def _every_column_accounted(
    manifest: ImportMappingManifestV1 | ImportMappingManifest,
) -> Iterator[Violation]:
    """Every imported column is mapped, ignored or unresolved exactly once (both majors)."""
    mappings: Sequence[ColumnMappingV1 | ColumnMapping] = manifest.column_mappings
    notes_in: Sequence[ResolverNoteV1 | ResolverNote] = manifest.resolver_notes
    claims = [
        *((f"column_mappings.{i}.source_column", m.source_column) for i, m in enumerate(mappings)),
        *_list_claims("ignored_columns", manifest.ignored_columns),
        *_list_claims("unmapped_columns", manifest.unmapped_columns),
    ]
    notes = ((f"resolver_notes.{i}.column", n.column) for i, n in enumerate(notes_in))
    yield from column_accounting(manifest.source_columns, claims, notes)


class ImportMappingManifestV1(Artifact):
    """Manifest major 1: targets as free text (by convention ``entity.field``)."""

    FAMILY = "ImportMappingManifest"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "ImportMappingManifest"
    schema_version: str = "1.0.0"
    manifest_id: str = Field(min_length=1)
    batch_id: str = Field(min_length=1)
    source_profile: str = Field(min_length=1)
    source_columns: tuple[str, ...]
    column_mappings: tuple[ColumnMappingV1, ...]
    ignored_columns: tuple[str, ...]
    unmapped_columns: tuple[str, ...]
    resolver_notes: tuple[ResolverNoteV1, ...]

    def rules(self) -> Iterator[Violation]:
        yield from _every_column_accounted(self)


# --- major 2 ------------------------------------------------------------------------------


class MappingKind(StrEnum):
    """How a source value becomes the target value."""

    DIRECT = "DIRECT"  # copied as received
    NORMALIZED = "NORMALIZED"  # same meaning, canonical form (phone numbers, case, trimming)
    TRANSFORMED = "TRANSFORMED"  # computed by a named transform (split, parse, lookup)


class NoteKind(StrEnum):
    AMBIGUOUS = "AMBIGUOUS"
    LOW_CONFIDENCE = "LOW_CONFIDENCE"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    UPGRADED = "UPGRADED"  # written by the 1.x -> 2.x reader mapping
    INFO = "INFO"


class TargetField(ContractModel):
    entity_type: EntityType
    field_path: str = Field(pattern=FIELD_PATH)


class ColumnMapping(ContractModel):
    source_column: str = Field(min_length=1)
    target: TargetField
    mapping_kind: MappingKind
    transform: str | None = None
    confidence: float


class ResolverNote(ContractModel):
    column: str | None = None
    kind: NoteKind
    note: str = Field(min_length=1)
    candidate_fields: tuple[TargetField, ...] = ()


class ImportMappingManifest(Artifact):
    """Manifest major 2: structured targets, mapping kinds, per-mapping confidence."""

    FAMILY = "ImportMappingManifest"
    SCHEMA_VERSION = "2.0.0"

    artifact_type: str = "ImportMappingManifest"
    schema_version: str = "2.0.0"
    manifest_id: str = Field(min_length=1)
    batch_id: str = Field(min_length=1)
    source_profile: str = Field(min_length=1)
    source_columns: tuple[str, ...]
    column_mappings: tuple[ColumnMapping, ...]
    ignored_columns: tuple[str, ...]
    unmapped_columns: tuple[str, ...]
    resolver_notes: tuple[ResolverNote, ...]

    def rules(self) -> Iterator[Violation]:
        yield from _every_column_accounted(self)
        for index, mapping in enumerate(self.column_mappings):
            yield from _mapping_rules(index, mapping)


def _mapping_rules(index: int, mapping: ColumnMapping) -> Iterator[Violation]:
    where = f"column_mappings.{index}"
    if not 0.0 <= mapping.confidence <= 1.0:
        yield Violation(
            ReasonCode.CONTRACT_CONFIDENCE_RANGE,
            f"{where}.confidence",
            f"is {mapping.confidence}, must lie within [0, 1]",
        )
    if mapping.mapping_kind is MappingKind.DIRECT and mapping.transform is not None:
        yield Violation(
            ReasonCode.CONTRACT_MANIFEST_MAPPING_SHAPE,
            f"{where}.transform",
            "a DIRECT mapping copies the value as received and names no transform",
        )
    if mapping.mapping_kind is not MappingKind.DIRECT and not mapping.transform:
        yield Violation(
            ReasonCode.CONTRACT_MANIFEST_MAPPING_SHAPE,
            f"{where}.transform",
            f"a {mapping.mapping_kind.value} mapping must name the transform it applies",
        )
