"""The whole ``schemas check``: the catalog in the working tree, optionally what a git ref had
released, the reader mappings and the model drift check of ``velocity_stream.contracts``, all
put through the policy. The CLI only parses arguments and prints what this returns."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import fastavro

from velocity_stream.compat.git_snapshot import read_snapshot
from velocity_stream.compat.policy import MappingLookup, MappingProbe, PolicyReport, check_policy
from velocity_stream.compat.releases import (
    FamilyReleases,
    ReleasedSchema,
    group_by_major,
    releases_from_catalog,
    releases_from_snapshot,
)
from velocity_stream.contracts.catalog import Catalog, SchemaVersion, load_catalog
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


def contract_mapping_probe(catalog: Catalog) -> MappingProbe:
    """Probe mappings with the contracts' example of the old major: encode it with that major's
    schema, decode it as a reader of that major would, upgrade, validate as the new major."""

    def probe(family: str, from_major: int, to_major: int) -> str | None:
        from velocity_stream.contracts.examples import example
        from velocity_stream.contracts.upgrades import upgraded_artifact

        try:
            schema = fastavro.parse_schema(
                catalog.family(family).latest_of_major(from_major).schema
            )
            buffer = io.BytesIO()
            fastavro.schemaless_writer(buffer, schema, example(family, from_major).to_avro())
            buffer.seek(0)
            record = fastavro.schemaless_reader(buffer, schema, None)
            if not isinstance(record, dict):
                return f"the example of major {from_major} did not decode to a record"
            upgraded_artifact(family, record, from_major, to_major)
        except Exception as error:  # the mapping is user code: whatever it raises is the finding
            return f"{type(error).__name__}: {error}"
        return None

    return probe


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
        probe_mapping=contract_mapping_probe(catalog) if check_models else None,
    )
