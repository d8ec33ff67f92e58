from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from velocity_stream.contracts.catalog import FieldCondition, Route, Version, load_catalog
from velocity_stream.contracts.schema_files import expand_schema
from velocity_stream.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3] / "avro_schemas"


@pytest.fixture
def schemas(tmp_path: Path) -> Path:
    root = tmp_path / "avro_schemas"
    shutil.copytree(ROOT, root)
    return root


def _named_types(node: object, found: list[str]) -> list[str]:
    if isinstance(node, dict):
        if node.get("type") in ("record", "enum", "fixed"):
            found.append(node["name"])
        for value in node.values():
            _named_types(value, found)
    elif isinstance(node, list):
        for value in node:
            _named_types(value, found)
    return found


def test_every_version_is_self_contained_with_provenance_inlined_once() -> None:
    catalog = load_catalog(ROOT)
    for family in catalog:
        for version in family.versions:
            names = _named_types(version.schema, [])
            assert names.count("Provenance") == 1, (family.name, str(version.version))
            assert len(names) == len(set(names))


def test_lookup_by_every_spelling() -> None:
    catalog = load_catalog(ROOT)
    for spelling in ("QdSignalBundle", "qd_signal_bundle", "qd-signal-bundle", "QDSIGNALBUNDLE"):
        assert catalog.family(spelling).name == "QdSignalBundle"
    with pytest.raises(ConfigError, match="unknown artifact family"):
        catalog.family("LeadScore")


def test_topics_follow_the_versioned_scheme() -> None:
    catalog = load_catalog(ROOT)
    family = catalog.family("QdSignalBundle")
    assert family.ingress_topic("velocity") == "velocity.qd-signal-bundle.v1"
    assert family.accepted_topic("velocity") == "velocity.qd-signal-bundle.accepted.v1"
    names = {spec.name for spec in catalog.topic_specs("velocity")}
    assert {"velocity.gateway.dead-letter.v1", "velocity.gateway.commits.v1"} <= names
    majors = catalog.ingress_topics("velocity")
    assert majors["velocity.qd-signal-bundle.v1"][1] == 1


def test_compacted_snapshot_topic_and_routes_come_from_the_catalog() -> None:
    catalog = load_catalog(ROOT)
    assert catalog.family("Client360Snapshot").cleanup_policy == "compact"
    assert catalog.family("OracleWritebackProposal").route is Route.PROPOSAL
    assert catalog.family("ApprovalDecision").route is Route.DECISION
    rule = catalog.family("NormalizedEntityProposal").auto_approve
    assert rule is not None and rule.name == "low-risk-entity"


def test_versions_sort_semantically() -> None:
    assert Version.parse("1.10.0") > Version.parse("1.9.3")
    with pytest.raises(ConfigError):
        Version.parse("1.0")


@pytest.mark.parametrize(
    ("condition", "value", "holds"),
    [
        (FieldCondition("c", at_least=0.9), 0.95, True),
        (FieldCondition("c", at_least=0.9), 0.5, False),
        (FieldCondition("c", equals=False), False, True),
        (FieldCondition("c", equals=False), True, False),
        (FieldCondition("c", empty=True), (), True),
        (FieldCondition("c", empty=True), ("x",), False),
    ],
)
def test_auto_approve_conditions(condition: FieldCondition, value: object, holds: bool) -> None:
    assert condition.holds(value) is holds


def test_copartition_groups_with_different_partition_counts_are_refused(schemas: Path) -> None:
    catalog = (schemas / "catalog.toml").read_text()
    patched = catalog.replace(
        'topic = "approval-decision"', 'topic = "approval-decision"\npartitions = 3'
    )
    (schemas / "catalog.toml").write_text(patched)
    with pytest.raises(ConfigError, match="co-partition group 'approvals'"):
        load_catalog(schemas)


def test_schema_file_declaring_another_name_is_refused(schemas: Path) -> None:
    path = schemas / "qd_signal_bundle" / "1.0.0.avsc"
    data = json.loads(path.read_text())
    data["name"] = "SomethingElse"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"declares 'velocity\.artifacts\.SomethingElse'"):
        load_catalog(schemas)


def test_badly_named_schema_file_is_refused(schemas: Path) -> None:
    folder = schemas / "qd_signal_bundle"
    shutil.copy(folder / "1.0.0.avsc", folder / "v2.avsc")
    with pytest.raises(ConfigError, match=r"MAJOR\.MINOR\.PATCH"):
        load_catalog(schemas)


def test_expansion_resolves_names_relative_to_the_enclosing_namespace() -> None:
    shared = {
        "velocity.common.Money": {
            "type": "fixed",
            "name": "Money",
            "namespace": "velocity.common",
            "size": 8,
        }
    }
    schema = {
        "type": "record",
        "name": "R",
        "namespace": "velocity.common",
        "fields": [{"name": "a", "type": "Money"}, {"name": "b", "type": "Money"}],
    }
    expanded = expand_schema(schema, shared)
    assert expanded["fields"][0]["type"]["type"] == "fixed"
    assert expanded["fields"][1]["type"] == "Money"
