"""The values the compatibility engine returns: stable incompatibility codes, one issue per
broken rule (where in the reader schema, both fragments, a message and a fix hint), and the result.

Incompatibilities are expected answers, not errors, so they are plain frozen data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"


class IncompatibilityCode(StrEnum):
    """Why a reader cannot read what a writer wrote. Public API: never rename or reuse one."""

    TYPE_MISMATCH = "type_mismatch"
    NAME_MISMATCH = "name_mismatch"
    MISSING_UNION_BRANCH = "missing_union_branch"
    MISSING_ENUM_SYMBOLS = "missing_enum_symbols"
    FIXED_SIZE_MISMATCH = "fixed_size_mismatch"
    READER_FIELD_MISSING_DEFAULT_VALUE = "reader_field_missing_default_value"
    INVALID_DEFAULT_VALUE = "invalid_default_value"
    LOGICAL_TYPE_MISMATCH = "logical_type_mismatch"


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One rule the pair breaks.

    ``location`` is a JSON pointer into the reader schema ("" is the root); the fragments are
    the reader's and the writer's schema at the point of failure (named types are shown as
    their definition).
    """

    code: IncompatibilityCode
    location: str
    reader_fragment: JsonValue
    writer_fragment: JsonValue
    message: str
    hint: str

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "code": self.code.value,
            "location": self.location,
            "message": self.message,
            "hint": self.hint,
            "reader_fragment": self.reader_fragment,
            "writer_fragment": self.writer_fragment,
        }


@dataclass(frozen=True, slots=True)
class CompatibilityResult:
    """Every incompatibility found; compatible exactly when there is none."""

    issues: tuple[Incompatibility, ...] = ()

    @property
    def compatible(self) -> bool:
        return not self.issues

    def __bool__(self) -> bool:
        return self.compatible

    def codes(self) -> frozenset[IncompatibilityCode]:
        return frozenset(issue.code for issue in self.issues)
