"""The whole ``schemas check``: the catalog in the working tree, optionally what a git ref had
released, the reader mappings and the model drift check of ``velocity_stream.contracts``, all
put through the policy. The CLI only parses arguments and prints what this returns."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from velocity_stream.compat.git_snapshot import read_snapshot
from velocity_stream.compat.policy import MappingLookup, PolicyReport, check_policy
from velocity_stream.compat.releases import (
    FamilyReleases,
    ReleasedSchema,
    group_by_major,
    releases_from_catalog,
    releases_from_snapshot,
)
from velocity_stream.contracts.catalog import SchemaVersion, load_catalog
from velocity_stream.errors import ConfigError


def contract_mappings() -> MappingLookup:
    """The reader-mapping registry of the contracts package, with every family module loaded."""
    import velocity_stream.contracts  # noqa: F401  (registers every family's mappings)
    from velocity_stream.contracts.upgrades import mapping_for

    return mapping_for


def contract_drift(family: FamilyReleases) -> Sequence[tuple[ReleasedSchema, str]]:
    """Drift between each major's model and the latest schema of that major."""
    from velocity_stream.contracts.drift import check_drift
    from velocity_stream.contracts.registry import model_for

    problems: list[tuple[ReleasedSchema, str]] = []
    for major, versions in group_by_major(family.versions).items():
        latest = versions[-1]
        if not isinstance(latest.schema, dict):
            continue
        try:
            model = model_for(family.name, major)
        except ConfigError as error:
            problems.append((latest, str(error)))
            continue
        version = SchemaVersion(family.name, latest.version, latest.file, latest.schema)
        problems.extend((latest, problem) for problem in check_drift(model, version))
    return problems


def check_catalog(
    schemas_dir: Path,
    against: str | None = None,
    *,
    mappings: MappingLookup | None = None,
    check_models: bool = True,
) -> PolicyReport:
    """Run the policy over ``schemas_dir``; ConfigError or GitSnapshotError if unreadable."""
    catalog = load_catalog(schemas_dir)
    families = releases_from_catalog(catalog)
    released_at_ref = None
    if against is not None:
        snapshot = read_snapshot(schemas_dir, against)
        released_at_ref = releases_from_snapshot(snapshot, catalog, schemas_dir)
    return check_policy(
        families,
        mappings if mappings is not None else contract_mappings(),
        released_at_ref=released_at_ref,
        ref=against,
        drift=contract_drift if check_models else None,
    )
