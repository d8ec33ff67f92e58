"""The released schema versions the policy reasons about, built either from the loaded catalog
(the working tree) or from a git snapshot of the schema folder (what a ref had released).

Each version is parsed once here; every check after that reuses the parsed form.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from velocity_stream.compat.git_snapshot import SchemaSnapshot
from velocity_stream.compat.issues import JsonValue
from velocity_stream.compat.schema_model import ParsedSchema, SchemaParseError, parse_schema
from velocity_stream.contracts.catalog import Catalog, CompatibilityMode, Version
from velocity_stream.contracts.schema_files import SHARED_DIR, expand_schema, full_name
from velocity_stream.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ReleasedSchema:
    """One released version: its expanded (self-contained) schema, parsed or the parse error."""

    family: str
    version: Version
    file: Path
    schema: JsonValue
    parsed: ParsedSchema | None
    parse_error: str | None = None

    @property
    def major(self) -> int:
        return self.version.major


@dataclass(frozen=True, slots=True)
class FamilyReleases:
    name: str
    directory: str
    mode: CompatibilityMode
    versions: tuple[ReleasedSchema, ...]

    def find(self, version: Version) -> ReleasedSchema | None:
        for candidate in self.versions:
            if candidate.version == version:
                return candidate
        return None


def released(family: str, version: Version, file: Path, schema: JsonValue) -> ReleasedSchema:
    """A released version with its schema parsed (a parse error is kept, not raised)."""
    try:
        return ReleasedSchema(family, version, file, schema, parse_schema(_as_input(schema)))
    except SchemaParseError as error:
        return ReleasedSchema(family, version, file, schema, None, str(error))


def _as_input(schema: JsonValue) -> dict[str, JsonValue] | list[JsonValue] | str:
    if isinstance(schema, dict | list | str):
        return schema
    raise SchemaParseError(f"a schema is an object, array or type name, not {schema!r}")


def releases_from_catalog(catalog: Catalog) -> list[FamilyReleases]:
    """Every family of the loaded catalog with its released versions, oldest first."""
    return [
        FamilyReleases(
            family.name,
            family.directory,
            family.compatibility,
            tuple(released(family.name, v.version, v.path, v.schema) for v in family.versions),
        )
        for family in catalog.all_families()
    ]


def releases_from_snapshot(
    snapshot: SchemaSnapshot, catalog: Catalog, schemas_dir: Path
) -> list[FamilyReleases]:
    """The versions released at the snapshot's ref, grouped like the current catalog.

    Folders the current catalog no longer knows become families named after the folder, so
    their versions count as deleted. Files that were not valid JSON at the ref are skipped:
    nothing can have been produced with them.
    """
    shared = _shared_types(snapshot.files)
    by_directory = {family.directory: family for family in catalog.all_families()}
    grouped: dict[str, list[ReleasedSchema]] = {}
    for path, text in sorted(snapshot.files.items()):
        parts = PurePosixPath(path).parts
        if len(parts) != 2 or parts[0] == SHARED_DIR or not parts[1].endswith(".avsc"):
            continue
        directory, filename = parts
        try:
            version = Version.parse(filename.removesuffix(".avsc"))
            raw = json.loads(text)
        except (ConfigError, json.JSONDecodeError):
            continue
        family = by_directory.get(directory)
        name = family.name if family else directory
        schema: JsonValue = expand_schema(raw, shared) if isinstance(raw, dict) else raw
        grouped.setdefault(directory, []).append(
            released(name, version, schemas_dir / directory / filename, schema)
        )
    families: list[FamilyReleases] = []
    for directory, versions in grouped.items():
        family = by_directory.get(directory)
        families.append(
            FamilyReleases(
                family.name if family else directory,
                directory,
                family.compatibility if family else CompatibilityMode.NONE,
                tuple(sorted(versions, key=lambda v: v.version)),
            )
        )
    return families


def _shared_types(files: Mapping[str, str]) -> dict[str, dict[str, object]]:
    shared: dict[str, dict[str, object]] = {}
    for path, text in files.items():
        parts = PurePosixPath(path).parts
        if len(parts) == 2 and parts[0] == SHARED_DIR and parts[1].endswith(".avsc"):
            try:
                schema = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(schema, dict) and isinstance(schema.get("name"), str):
                shared[full_name(schema)] = schema
    return shared


def group_by_major(versions: Sequence[ReleasedSchema]) -> dict[int, list[ReleasedSchema]]:
    """Versions per major, each list oldest first (input must be sorted)."""
    majors: dict[int, list[ReleasedSchema]] = {}
    for version in versions:
        majors.setdefault(version.major, []).append(version)
    return majors
