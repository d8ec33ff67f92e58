"""Reader mappings between major versions: how a record of major N becomes one of major N+1.

A breaking change gets a new major (and a new topic); old readers and old
data must keep working during the transition, so each new major registers a mapping from the
one before it here. :func:`upgrade` chains them. Records are the plain dicts fastavro reads
and ``Artifact.to_avro`` writes; the mapped record must validate under the newer model.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from velocity_stream.contracts.entity_proposal import EntityType
from velocity_stream.contracts.import_manifest import FIELD_PATH
from velocity_stream.contracts.metadata import Artifact, validate_artifact
from velocity_stream.contracts.registry import family_name, model_for
from velocity_stream.errors import ConfigError

AvroRecord = dict[str, Any]
UpgradeFunction = Callable[[AvroRecord], AvroRecord]


@dataclass(frozen=True, slots=True)
class ReaderMapping:
    """A registered mapping of ``family`` records from ``from_major`` to ``from_major + 1``."""

    family: str
    from_major: int
    function: UpgradeFunction

    @property
    def to_major(self) -> int:
        return self.from_major + 1


_MAPPINGS: dict[tuple[str, int], ReaderMapping] = {}


def register_upgrade(family: str, from_major: int) -> Callable[[UpgradeFunction], UpgradeFunction]:
    """Register the decorated function as the ``family`` mapping from ``from_major`` to the next."""

    def decorate(function: UpgradeFunction) -> UpgradeFunction:
        key = (family, from_major)
        if key in _MAPPINGS:
            raise ConfigError(f"{family}: a mapping from major {from_major} is already registered")
        _MAPPINGS[key] = ReaderMapping(family, from_major, function)
        return function

    return decorate


def mapping_for(family: str, from_major: int) -> ReaderMapping | None:
    """The mapping of ``family`` from ``from_major`` to ``from_major + 1``, if registered."""
    return _MAPPINGS.get((family, from_major))


def registered_upgrades() -> list[ReaderMapping]:
    """Every registered mapping, by family then major."""
    return [_MAPPINGS[key] for key in sorted(_MAPPINGS)]


def upgrade(family: str, record: AvroRecord, from_major: int, to_major: int) -> AvroRecord:
    """``record`` (of ``family``, major ``from_major``) as a record of ``to_major``.

    Applies the registered mappings one major at a time, after checking that the whole
    chain exists. The input is never modified (mappings work on a deep copy).
    """
    if to_major < from_major:
        raise ConfigError(
            f"{family}: records are upgraded, never downgraded ({from_major} -> {to_major})"
        )
    chain = []
    for major in range(from_major, to_major):
        mapping = _MAPPINGS.get((family, major))
        if mapping is None:
            raise ConfigError(
                f"{family}: no reader mapping from major {major} to {major + 1}; "
                "register one with @register_upgrade"
            )
        chain.append(mapping)
    current = copy.deepcopy(record)
    for mapping in chain:
        current = mapping.function(current)
    return current


def upgraded_artifact(
    family: str, record: AvroRecord, from_major: int, to_major: int | None = None
) -> Artifact:
    """A record of ``from_major`` upgraded and validated as the model of ``to_major``
    (default: the family's latest major). Contract violations raise ContractError."""
    name = family_name(family)
    model = model_for(name, to_major)
    target = int(model.SCHEMA_VERSION.split(".", 1)[0])
    return validate_artifact(model, upgrade(name, record, from_major, target))


# --- the mappings -------------------------------------------------------------------------

_FIELD_PATH = re.compile(FIELD_PATH)


def _v1_target(target_field: str) -> dict[str, str] | None:
    """``person.email`` -> PERSON / ``email``; None when the text names no entity type."""
    prefix, _, path = target_field.partition(".")
    entity = prefix.upper()
    if entity not in EntityType.__members__ or not _FIELD_PATH.match(path):
        return None
    return {"entity_type": entity, "field_path": path}


@register_upgrade("ImportMappingManifest", 1)
def _import_mapping_manifest_1_to_2(record: AvroRecord) -> AvroRecord:
    """1.x free-text targets become structured targets; nothing is guessed.

    A target written as ``entity.field`` (the 1.x convention) maps directly; any other text
    leaves the column unresolved with an UPGRADED note, so the column accounting still holds
    and a human re-resolves it. 1.x had no per-mapping confidence: the manifest's own
    confidence stands in. A 1.x transform makes the mapping TRANSFORMED, none DIRECT.
    """
    mappings: list[AvroRecord] = []
    unmapped = list(record["unmapped_columns"])
    notes: list[AvroRecord] = [
        {"column": note.get("column"), "kind": "INFO", "note": note["note"], "candidate_fields": []}
        for note in record["resolver_notes"]
    ]
    for mapping in record["column_mappings"]:
        column, transform = mapping["source_column"], mapping.get("transform")
        target = _v1_target(mapping["target_field"])
        if target is None:
            unmapped.append(column)
            notes.append(
                {
                    "column": column,
                    "kind": "UPGRADED",
                    "note": f"1.x target {mapping['target_field']!r} names no entity type "
                    "(expected entity.field); re-resolve this column",
                    "candidate_fields": [],
                }
            )
            continue
        mappings.append(
            {
                "source_column": column,
                "target": target,
                "mapping_kind": "DIRECT" if transform is None else "TRANSFORMED",
                "transform": transform,
                "confidence": record["confidence"],
            }
        )
    return {
        **record,
        "schema_version": "2.0.0",
        "column_mappings": mappings,
        "unmapped_columns": unmapped,
        "resolver_notes": notes,
    }
