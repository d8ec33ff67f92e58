"""The versioning policy over the catalog.

1. Within one major, every version is compatible, in its family's mode's direction(s), with
   every earlier version of that major: the major's topic holds data of all of them. (This is
   transitive even for a non-transitive mode, which only relaxes what the registry checks.)
2. A new major may break the previous one only when reader mappings (upgrade functions from
   each major to the next) are registered for it.
3. Released schemas are immutable: against a git ref, a version the ref had must still exist
   with the same (expanded) schema, and versions added since are checked against what the ref
   released rather than against local edits.
4. Models do not drift from their schemas (the contracts' drift check, when given).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise
from pathlib import Path

from velocity_stream.compat.issues import Incompatibility, IncompatibilityCode, JsonValue
from velocity_stream.compat.modes import Direction, directions
from velocity_stream.compat.pointers import field_names_along
from velocity_stream.compat.releases import FamilyReleases, ReleasedSchema, group_by_major
from velocity_stream.compat.rules import check_compatibility

# ``mapping_for(family, from_major)``: the registered upgrade from ``from_major`` to the next
# major, or None. ``velocity_stream.contracts.upgrades.mapping_for`` fits.
MappingLookup = Callable[[str, int], object | None]
# ``probe(family, from_major, to_major)``: try the registered mappings on a sample artifact of
# ``from_major``; a message saying what failed, or None when the result is a valid artifact.
MappingProbe = Callable[[str, int, int], str | None]
# Drift problems of one family as (version the model should match, message) pairs.
DriftCheck = Callable[[FamilyReleases], Sequence[tuple[ReleasedSchema, str]]]

Code = IncompatibilityCode


class ViolationKind(StrEnum):
    """What part of the policy broke. Public API: never rename or reuse one."""

    INCOMPATIBLE_VERSION = "incompatible_version"
    BREAKING_MAJOR_WITHOUT_MAPPING = "breaking_major_without_mapping"
    RELEASED_SCHEMA_EDITED = "released_schema_edited"
    RELEASED_SCHEMA_DELETED = "released_schema_deleted"
    READER_MAPPING_FAILS = "reader_mapping_fails"
    INVALID_SCHEMA = "invalid_schema"
    MODEL_DRIFT = "model_drift"


@dataclass(frozen=True, slots=True)
class PolicyViolation:
    """One broken rule, naming family, versions, where (a JSON pointer) and how to fix it.

    ``file`` is the schema file to fix. ``location`` points into the schema of
    ``location_version`` (the reader side of the failed check).
    """

    kind: ViolationKind
    family: str
    version: str
    file: Path
    message: str
    hint: str
    against: str | None = None
    location: str | None = None
    location_version: str | None = None
    code: IncompatibilityCode | None = None
    direction: Direction | None = None
    field_path: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "kind": self.kind.value,
            "family": self.family,
            "version": self.version,
            "against": self.against,
            "file": str(self.file),
            "location": self.location,
            "location_version": self.location_version,
            "field": ".".join(self.field_path) or None,
            "code": self.code.value if self.code else None,
            "direction": self.direction.value if self.direction else None,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass(frozen=True, slots=True)
class PolicyReport:
    violations: tuple[PolicyViolation, ...]
    families: int
    versions: int
    pairs_checked: int
    against_ref: str | None = None

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass
class _Run:
    mapping_for: MappingLookup
    probe: MappingProbe | None = None
    violations: list[PolicyViolation] = field(default_factory=list)
    pairs: int = 0

    def check_pair(
        self, new: ReleasedSchema, old: ReleasedSchema, direction: Direction
    ) -> tuple[Incompatibility, ...]:
        assert new.parsed is not None and old.parsed is not None
        self.pairs += 1
        if direction is Direction.NEW_READS_OLD:
            return check_compatibility(new.parsed, old.parsed).issues
        return check_compatibility(old.parsed, new.parsed).issues


def check_policy(
    families: Sequence[FamilyReleases],
    mapping_for: MappingLookup,
    *,
    released_at_ref: Sequence[FamilyReleases] | None = None,
    ref: str | None = None,
    drift: DriftCheck | None = None,
    probe_mapping: MappingProbe | None = None,
) -> PolicyReport:
    """Check the policy for every family; ``released_at_ref`` is what ``ref`` had released."""
    run = _Run(mapping_for, probe_mapping)
    at_ref = {family.directory: family for family in released_at_ref or ()}
    for family in families:
        previous = at_ref.pop(family.directory, None)
        if previous is not None:
            _check_immutable(run, family, previous, ref or "the ref")
        for version in family.versions:
            if version.parsed is None:
                run.violations.append(
                    PolicyViolation(
                        ViolationKind.INVALID_SCHEMA,
                        family.name,
                        str(version.version),
                        version.file,
                        f"{family.name} {version.version} is not a valid Avro "
                        f"schema: {version.parse_error}",
                        "fix the schema file",
                    )
                )
        history = _history(family, previous)
        _check_within_majors(run, family, history)
        _check_new_majors(run, family, history)
        if drift is not None:
            for version, problem in drift(family):
                run.violations.append(
                    PolicyViolation(
                        ViolationKind.MODEL_DRIFT,
                        family.name,
                        str(version.version),
                        version.file,
                        problem,
                        "make the model match the schema (the .avsc is the source of truth)",
                    )
                )
    for gone in at_ref.values():  # whole family folders removed since the ref
        _check_immutable(
            run, FamilyReleases(gone.name, gone.directory, gone.mode, ()), gone, ref or "the ref"
        )
    count = sum(len(family.versions) for family in families)
    return PolicyReport(tuple(run.violations), len(families), count, run.pairs, ref)


def _history(family: FamilyReleases, previous: FamilyReleases | None) -> list[ReleasedSchema]:
    """Every released version, oldest first; what the ref released wins over local content."""
    versions = {v.version: v for v in family.versions}
    if previous is not None:
        versions.update({v.version: v for v in previous.versions})
    return [versions[key] for key in sorted(versions) if versions[key].parsed is not None]


def _check_immutable(run: _Run, family: FamilyReleases, previous: FamilyReleases, ref: str) -> None:
    for old in previous.versions:
        current = family.find(old.version)
        if current is None:
            run.violations.append(
                PolicyViolation(
                    ViolationKind.RELEASED_SCHEMA_DELETED,
                    previous.name,
                    str(old.version),
                    old.file,
                    f"{previous.name} {old.version} was released at {ref} and has been deleted; "
                    "data written with it may still be on its topic",
                    f"restore {old.file.name} from {ref}",
                )
            )
        elif current.schema != old.schema:
            run.violations.append(
                PolicyViolation(
                    ViolationKind.RELEASED_SCHEMA_EDITED,
                    family.name,
                    str(old.version),
                    current.file,
                    f"{family.name} {old.version} was released at {ref} and has been edited in "
                    f"place{_first_difference(current.schema, old.schema)}",
                    f"restore {current.file.name} from {ref} and release the change as a new "
                    "version",
                )
            )


def _first_difference(new: JsonValue, old: JsonValue, pointer: str = "") -> str:
    """`` (first difference at /fields/3/type)``, for a message; "" if none is found."""
    if isinstance(new, dict) and isinstance(old, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            if new.get(key, _MISSING) != old.get(key, _MISSING):
                return _first_difference(new.get(key), old.get(key), f"{pointer}/{key}")
    elif isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        for index, (left, right) in enumerate(zip(new, old, strict=True)):
            if left != right:
                return _first_difference(left, right, f"{pointer}/{index}")
    return f" (first difference at {pointer or '/'})"


_MISSING = object()


def _check_within_majors(run: _Run, family: FamilyReleases, history: list[ReleasedSchema]) -> None:
    wanted = directions(family.mode)
    if not wanted:
        return
    for versions in group_by_major(history).values():
        for index, new in enumerate(versions):
            for old in versions[:index]:
                for direction in wanted:
                    for issue in run.check_pair(new, old, direction):
                        run.violations.append(_incompatible(family, new, old, direction, issue))


def _incompatible(
    family: FamilyReleases,
    new: ReleasedSchema,
    old: ReleasedSchema,
    direction: Direction,
    issue: Incompatibility,
) -> PolicyViolation:
    reader = new if direction is Direction.NEW_READS_OLD else old
    path = field_names_along(reader.schema, issue.location)
    where = _where(issue.location, path)
    if direction is Direction.NEW_READS_OLD:
        message = (
            f"{family.name} {new.version} cannot read data written with {old.version} "
            f"({family.mode.value}) at {where}: {issue.message}"
        )
        hint = issue.hint
    else:
        message = (
            f"readers on {family.name} {old.version} cannot read data written with "
            f"{new.version} ({family.mode.value}) at {where} of {old.version}: {issue.message}"
        )
        hint = _forward_hint(issue, new, old)
    return PolicyViolation(
        ViolationKind.INCOMPATIBLE_VERSION,
        family.name,
        str(new.version),
        new.file,
        message,
        hint,
        against=str(old.version),
        location=issue.location,
        location_version=str(reader.version),
        code=issue.code,
        direction=direction,
        field_path=path,
    )


def _where(location: str, path: tuple[str, ...]) -> str:
    pointer = location or "/"
    return f"{pointer} (field `{'.'.join(path)}`)" if path else pointer


def _forward_hint(issue: Incompatibility, new: ReleasedSchema, old: ReleasedSchema) -> str:
    # The reader here is a released schema that cannot change: the fix is always in the new one.
    if issue.code is Code.READER_FIELD_MISSING_DEFAULT_VALUE and isinstance(
        issue.reader_fragment, dict
    ):
        name = issue.reader_fragment.get("name")
        return (
            f"keep writing field `{name}` in {new.version}: {old.version} readers require "
            "it (it has no default there)"
        )
    if issue.code is Code.MISSING_ENUM_SYMBOLS:
        return (
            f"drop the new symbol(s) from {new.version} or release them in a new major; "
            f"{old.version} readers have no enum default"
        )
    return (
        f"revert this change in {new.version}: {old.version} readers cannot change, so it "
        "needs a new major with a reader mapping"
    )


def _check_new_majors(run: _Run, family: FamilyReleases, history: list[ReleasedSchema]) -> None:
    majors = group_by_major(history)
    ordered = sorted(majors)
    wanted = directions(family.mode)
    for previous_major, major in pairwise(ordered):
        first, last_before = majors[major][0], majors[previous_major][-1]
        breaks = [
            (direction, issue)
            for direction in wanted
            for issue in run.check_pair(first, last_before, direction)
        ]
        if not breaks:
            continue
        missing = [
            m for m in range(previous_major, major) if run.mapping_for(family.name, m) is None
        ]
        if not missing:
            _probe(run, family, first, previous_major)
            continue
        steps = ", ".join(f"{m} -> {m + 1}" for m in missing)
        first_direction, first_issue = breaks[0]
        reader = first if first_direction is Direction.NEW_READS_OLD else last_before
        path = field_names_along(reader.schema, first_issue.location)
        run.violations.append(
            PolicyViolation(
                ViolationKind.BREAKING_MAJOR_WITHOUT_MAPPING,
                family.name,
                str(first.version),
                first.file,
                f"{family.name} {first.version} breaks {last_before.version} ({len(breaks)} "
                f"incompatibilities, first at {_where(first_issue.location, path)} of "
                f"{reader.version}: "
                f"{first_issue.message}) "
                f"and no reader mapping is registered for major {steps}",
                f'register one with @register_upgrade("{family.name}", {missing[0]}) in '
                "velocity_stream/contracts/upgrades.py",
                against=str(last_before.version),
                location=first_issue.location,
                location_version=str(reader.version),
                code=first_issue.code,
                direction=first_direction,
                field_path=path,
            )
        )


def _probe(run: _Run, family: FamilyReleases, first: ReleasedSchema, previous_major: int) -> None:
    """A registered mapping must also work: carry a sample of the old major to the new one."""
    if run.probe is None:
        return
    failure = run.probe(family.name, previous_major, first.major)
    if failure is not None:
        run.violations.append(
            PolicyViolation(
                ViolationKind.READER_MAPPING_FAILS,
                family.name,
                str(first.version),
                first.file,
                f"the reader mapping of {family.name} from major {previous_major} to "
                f"{first.major} fails on a sample artifact: {failure}",
                "fix the upgrade function in velocity_stream/contracts/upgrades.py so that it "
                "returns a valid artifact of the new major",
            )
        )
