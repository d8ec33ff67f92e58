"""The schema browser's view of the catalog: families, their released versions, the
difference between two versions, the compatibility verdict under the family's mode, and the
reader mappings that carry records across majors. Pure: read from the catalog and the
contracts package, nothing from Kafka or the registry.

The verdict is the catalog check's own (velocity_stream.compat.modes.check_mode): a version is
checked against the earlier versions of its major, as the family's mode asks (a new major is
a new topic, so it is not checked against the old one; the reader mapping bridges them).
"""

from __future__ import annotations

import difflib
import itertools
import json
from dataclasses import dataclass
from typing import Any

from velocity_stream.compat.modes import check_mode
from velocity_stream.contracts.catalog import Catalog, Family, SchemaVersion
from velocity_stream.contracts.upgrades import mapping_for


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One top-level field that differs: ``added``, ``removed`` or ``changed`` (its type or
    default), with the field's definition in each version (None where it is absent)."""

    name: str
    change: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class VersionDiff:
    family: str
    before: str
    after: str
    fields: tuple[FieldDiff, ...]
    text: tuple[str, ...]  # a unified diff of the two schemas, pretty-printed


@dataclass(frozen=True, slots=True)
class Verdict:
    """The compatibility verdict of one version against the earlier ones of its major."""

    version: str
    mode: str
    checked_against: tuple[str, ...]
    compatible: bool
    problems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MajorMapping:
    """How records of ``from_major`` are read as ``to_major``: a registered mapping or none."""

    from_major: int
    to_major: int
    function: str | None
    description: str


def _pretty(schema: object) -> str:
    return json.dumps(schema, indent=2, sort_keys=True)


def _fields(schema: Any) -> dict[str, str]:
    if not isinstance(schema, dict):
        return {}
    return {
        str(field.get("name")): json.dumps(
            {k: v for k, v in field.items() if k != "doc"}, sort_keys=True
        )
        for field in schema.get("fields", ())
        if isinstance(field, dict)
    }


def version_diff(family: Family, before: SchemaVersion, after: SchemaVersion) -> VersionDiff:
    old, new = _fields(before.schema), _fields(after.schema)
    fields = [FieldDiff(name, "removed", old[name], None) for name in old if name not in new] + [
        FieldDiff(name, "added" if name not in old else "changed", old.get(name), new[name])
        for name in new
        if old.get(name) != new[name]
    ]
    text = difflib.unified_diff(
        _pretty(before.schema).splitlines(),
        _pretty(after.schema).splitlines(),
        fromfile=f"{family.name} {before.version}",
        tofile=f"{family.name} {after.version}",
        lineterm="",
    )
    return VersionDiff(
        family.name, str(before.version), str(after.version), tuple(fields), tuple(text)
    )


def verdict(family: Family, version: SchemaVersion) -> Verdict:
    earlier = [
        v for v in family.versions if v.major == version.major and v.version < version.version
    ]
    result = check_mode(version.schema, [v.schema for v in earlier], family.compatibility)
    problems = tuple(
        f"{check.direction.value} against {earlier[check.previous_index].version}: "
        f"{issue.location or '/'}: {issue.message}"
        for check in result.failures
        for issue in check.result.issues
    )
    against = sorted({str(earlier[c.previous_index].version) for c in result.checks})
    return Verdict(
        str(version.version),
        family.compatibility.value,
        tuple(against),
        result.compatible,
        problems,
    )


def major_mappings(family: Family) -> list[MajorMapping]:
    majors = family.majors()
    found: list[MajorMapping] = []
    for old, new in itertools.pairwise(majors):
        mapping = mapping_for(family.name, old)
        if mapping is None:
            found.append(MajorMapping(old, new, None, "no reader mapping is registered"))
            continue
        doc = (mapping.function.__doc__ or "").strip().split("\n\n")[0]
        found.append(
            MajorMapping(old, new, mapping.function.__name__, " ".join(doc.split()) or "-")
        )
    return found


def find_version(family: Family, text: str | None, default: SchemaVersion) -> SchemaVersion:
    """The version named ``text`` (ConfigError when the family has none), else ``default``."""
    return family.version(text) if text else default


def families(catalog: Catalog) -> list[Family]:
    return sorted(catalog, key=lambda f: f.name)
