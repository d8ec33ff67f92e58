"""A family that exists only in a test catalog flows through the gateway with no code change.

The family's schema, catalog entry and model are all the test adds; routing, ownership,
immutability, the approval gate and the auto rule come from the catalog entry.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import Field

from tests import signing
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.contracts.commit_record import CommitRecord
from velocity_stream.contracts.metadata import Artifact, Provenance, ProvenanceOrigin
from velocity_stream.contracts.registry import model_for
from velocity_stream.errors import ConfigError, ReasonCode
from velocity_stream.gateway import MemoryRunner, Pipeline, RouteKind
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR

ENVELOPE = [
    {"name": "artifact_id", "type": "string"},
    {"name": "artifact_type", "type": "string"},
    {"name": "schema_version", "type": "string"},
    {"name": "source_system", "type": "string"},
    {"name": "created_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "created_by", "type": "string"},
    {"name": "confidence", "type": "double"},
    {"name": "provenance", "type": "velocity.common.Provenance"},
]

CATALOG_ENTRIES = """

[families.WidgetSpec]
avro_name = "velocity.test.WidgetSpec"
directory = "widget_spec"
topic = "widget-spec"
key_field = "widget_id"
route = "accept"
immutable = true
producers = ["widget-maker"]
consumers = ["gateway"]

[families.WidgetChange]
avro_name = "velocity.test.WidgetChange"
directory = "widget_change"
topic = "widget-change"
key_field = "change_id"
copartition = "approvals"
route = "proposal"
producers = ["widget-maker"]
consumers = ["gateway"]
auto_approve = { rule = "tiny-widget-change", when = [
  { field = "size", at_least = 0 },
  { field = "risky", equals = false },
] }
"""


class WidgetSpec(Artifact):
    FAMILY = "WidgetSpec"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "WidgetSpec"
    schema_version: str = "1.0.0"
    widget_id: str = Field(min_length=1)
    size: int


class WidgetChange(Artifact):
    FAMILY = "WidgetChange"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "WidgetChange"
    schema_version: str = "1.0.0"
    change_id: str = Field(min_length=1)
    size: int
    risky: bool


TEST_MODELS: dict[str, type[Artifact]] = {"WidgetSpec": WidgetSpec, "WidgetChange": WidgetChange}


def _models(family: str, major: int) -> type[Artifact]:
    return TEST_MODELS.get(family) or model_for(family, major)


def _write_family(root: Path, directory: str, name: str, fields: list[dict[str, object]]) -> None:
    folder = root / directory
    folder.mkdir()
    schema = {"type": "record", "name": name, "namespace": "velocity.test", "fields": fields}
    (folder / "1.0.0.avsc").write_text(json.dumps(schema), encoding="utf-8")


@pytest.fixture
def test_catalog_root(tmp_path: Path) -> Path:
    root = tmp_path / "avro_schemas"
    shutil.copytree(DEFAULT_SCHEMAS_DIR, root)
    _write_family(
        root,
        "widget_spec",
        "WidgetSpec",
        [*ENVELOPE, {"name": "widget_id", "type": "string"}, {"name": "size", "type": "long"}],
    )
    _write_family(
        root,
        "widget_change",
        "WidgetChange",
        [
            *ENVELOPE,
            {"name": "change_id", "type": "string"},
            {"name": "size", "type": "long"},
            {"name": "risky", "type": "boolean"},
        ],
    )
    with (root / "catalog.toml").open("a", encoding="utf-8") as catalog:
        catalog.write(CATALOG_ENTRIES)
    return root


def _envelope(artifact_id: str) -> dict[str, object]:
    return {
        "artifact_id": artifact_id,
        "source_system": "widget-maker",
        "created_at": datetime(2026, 4, 18, tzinfo=UTC),
        "created_by": "system:widget-maker",
        "confidence": 1.0,
        "provenance": Provenance(origin=ProvenanceOrigin.SYSTEM),
    }


def test_made_up_family_is_routed_by_its_catalog_entry_alone(test_catalog_root):
    # The test's models reach the gateway only through the serde's model lookup: no
    # gateway code knows the family.
    catalog = load_catalog(test_catalog_root)
    serde = AvroSerde(catalog, InMemorySchemaResolver(), "x", models=_models)
    pipeline = Pipeline(
        catalog,
        serde,
        "x",
        gateway_version="t",
        clock=lambda: 0,
        verify_keys=signing.KEYRING,
        rule_signer=signing.RULE_KEY,
    )
    runner = MemoryRunner(pipeline)
    spec_topic = catalog.family("WidgetSpec").ingress_topic("x")
    assert spec_topic in pipeline.ingress_topics()

    spec = WidgetSpec(**_envelope("art:w1"), widget_id="w1", size=3)
    accepted = runner.send(spec_topic, b"w1", serde.encode(spec))[0]
    assert accepted.route is RouteKind.ACCEPTED
    assert accepted.outputs[0].topic == "x.widget-spec.accepted.v1"

    # immutability comes from the catalog entry
    again = runner.send(spec_topic, b"w1", serde.encode(spec))[0]
    assert again.route is RouteKind.DUPLICATE
    changed = WidgetSpec(**_envelope("art:w1b"), widget_id="w1", size=4)
    mutated = runner.send(spec_topic, b"w1", serde.encode(changed))[0]
    assert mutated.reason is ReasonCode.STATE_BATCH_MUTATED

    # ownership comes from the catalog entry
    stranger = WidgetSpec(
        **{**_envelope("art:w2"), "source_system": "oracle"}, widget_id="w2", size=1
    )
    assert runner.send(spec_topic, b"w2", serde.encode(stranger))[0].reason is (
        ReasonCode.AUTH_NOT_OWNER
    )

    # the approval gate and its auto rule come from the catalog entry
    change_topic = catalog.family("WidgetChange").ingress_topic("x")
    risky = WidgetChange(**_envelope("art:c1"), change_id="c1", size=1, risky=True)
    assert runner.send(change_topic, b"c1", serde.encode(risky))[0].route is (
        RouteKind.PENDING_APPROVAL
    )
    tiny = WidgetChange(**_envelope("art:c2"), change_id="c2", size=1, risky=False)
    auto = runner.send(change_topic, b"c2", serde.encode(tiny))
    assert [o.route for o in auto] == [RouteKind.AUTO_APPROVED, RouteKind.DECISION_APPLIED]
    [commit] = runner.topic(catalog.commits_topic("x"))
    record = serde.decode(commit.value, catalog.commits)
    assert isinstance(record, CommitRecord)
    assert (record.proposal_family, record.proposal_id) == ("WidgetChange", "c2")
    assert record.reviewer == "rule:tiny-widget-change"


def test_catalog_that_breaks_co_partitioning_is_refused_at_start(test_catalog_root):
    catalog_file = test_catalog_root / "catalog.toml"
    text = catalog_file.read_text(encoding="utf-8")
    catalog_file.write_text(
        text.replace(
            'key_field = "change_id"\ncopartition = "approvals"', 'key_field = "change_id"'
        ),
        encoding="utf-8",
    )
    catalog = load_catalog(test_catalog_root)
    serde = AvroSerde(catalog, InMemorySchemaResolver(), "x", models=_models)
    with pytest.raises(ConfigError, match="copartition"):
        Pipeline(catalog, serde, "x", gateway_version="t", clock=lambda: 0)
