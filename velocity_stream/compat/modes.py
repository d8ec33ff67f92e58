"""Compatibility modes with their Confluent Schema Registry meanings: which earlier versions a new
schema is checked against, and in which direction (who reads whose data).

The mode enum itself is the catalog's (``contracts.catalog.CompatibilityMode``), re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from velocity_stream.compat.issues import CompatibilityResult
from velocity_stream.compat.rules import check_compatibility
from velocity_stream.compat.schema_model import ParsedSchema, SchemaInput, parse_schema
from velocity_stream.contracts.catalog import CompatibilityMode

__all__ = ["CompatibilityMode", "Direction", "ModeCheck", "ModeResult", "check_mode"]


class Direction(StrEnum):
    """Which side reads: BACKWARD means consumers on the new schema read data written with the
    old one; FORWARD means consumers still on the old schema read data written with the new one."""

    NEW_READS_OLD = "new_reads_old"
    OLD_READS_NEW = "old_reads_new"


def is_transitive(mode: CompatibilityMode) -> bool:
    """Transitive modes check every earlier version, the others only the latest."""
    return mode.value.endswith("_TRANSITIVE")


def directions(mode: CompatibilityMode) -> tuple[Direction, ...]:
    """Which reader/writer checks a mode asks for (none for NONE)."""
    base = mode.value.removesuffix("_TRANSITIVE")
    if base == "BACKWARD":
        return (Direction.NEW_READS_OLD,)
    if base == "FORWARD":
        return (Direction.OLD_READS_NEW,)
    if base == "FULL":
        return (Direction.NEW_READS_OLD, Direction.OLD_READS_NEW)
    return ()


@dataclass(frozen=True, slots=True)
class ModeCheck:
    """One reader/writer check the mode required: against ``previous_schemas[previous_index]``."""

    previous_index: int
    direction: Direction
    result: CompatibilityResult

    @property
    def compatible(self) -> bool:
        return self.result.compatible


@dataclass(frozen=True, slots=True)
class ModeResult:
    mode: CompatibilityMode
    checks: tuple[ModeCheck, ...]

    @property
    def compatible(self) -> bool:
        return all(check.compatible for check in self.checks)

    @property
    def failures(self) -> tuple[ModeCheck, ...]:
        return tuple(check for check in self.checks if not check.compatible)


def check_mode(
    new_schema: SchemaInput,
    previous_schemas: Sequence[SchemaInput],
    mode: CompatibilityMode | str,
) -> ModeResult:
    """Check ``new_schema`` against earlier versions (oldest first) under ``mode``.

    Transitive modes check every earlier version; the others only the latest, as in Confluent's
    registry. NONE checks nothing.
    """
    mode = CompatibilityMode(mode)
    wanted = directions(mode)
    if not wanted or not previous_schemas:
        return ModeResult(mode, ())
    new = parse_schema(new_schema)
    last = len(previous_schemas) - 1
    indexes = range(len(previous_schemas)) if is_transitive(mode) else [last]
    checks: list[ModeCheck] = []
    for index in indexes:
        old: ParsedSchema = parse_schema(previous_schemas[index])
        for direction in wanted:
            if direction is Direction.NEW_READS_OLD:
                result = check_compatibility(new, old)
            else:
                result = check_compatibility(old, new)
            checks.append(ModeCheck(index, direction, result))
    return ModeResult(mode, tuple(checks))
