"""Internal families (route ``internal``): declared in the catalog like any family, written by
one process directly for another, and never seen by the gateway."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from velocity_stream.asyncapi import build_document
from velocity_stream.console.tail import RecordDecoder
from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import Route, load_catalog
from velocity_stream.errors import ConfigError
from velocity_stream.gateway import Pipeline
from velocity_stream.kafka.acls import plan
from velocity_stream.registry.registration import subject_plan
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver

ROOT = Path(__file__).resolve().parents[3] / "avro_schemas"
CATALOG = load_catalog(ROOT)
COMMITS = "velocity.gateway.commits.v1"
APPLIED = "velocity.graph-committer.applied.v1"
AUDIT = "velocity.gateway.dlq-audit.v1"


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    root = tmp_path / "avro_schemas"
    shutil.copytree(ROOT, root)
    catalog = root / "catalog.toml"
    text = catalog.read_text()
    assert old in text
    catalog.write_text(text.replace(old, new))
    return root


def test_an_internal_family_has_one_topic_kept_apart_from_the_gateways_families() -> None:
    family = CATALOG.family("CommitRecord")
    assert family.route is Route.INTERNAL and family.internal
    assert "CommitRecord" not in CATALOG.families  # what the gateway walks
    assert CATALOG.internal["CommitRecord"] is family
    assert family in CATALOG.all_families()
    assert CATALOG.by_avro_name("velocity.internal.CommitRecord") is family
    assert family.ingress_topic("velocity") == COMMITS  # the topic name deployments know
    assert family.topics("velocity", 1) == (COMMITS,)
    with pytest.raises(ConfigError, match="no accepted topic"):
        family.accepted_topic("velocity")
    assert CATALOG.commits is family and CATALOG.commits_topic("velocity") == COMMITS
    assert COMMITS not in CATALOG.ingress_topics("velocity")
    assert CATALOG.internal_topics("velocity") == {
        COMMITS: (family, 1),
        APPLIED: (CATALOG.family("AppliedGraphChange"), 1),
        AUDIT: (CATALOG.family("DlqReplayAudit"), 1),
    }
    assert CATALOG.dlq_audit_topic("velocity") == AUDIT  # the topic name deployments know


def test_topic_specs_list_an_internal_topic_once_with_its_catalog_settings() -> None:
    specs = [s for s in CATALOG.topic_specs("velocity") if s.name in (COMMITS, AUDIT)]
    assert [(s.name, s.partitions, s.retention_ms) for s in specs] == [
        (COMMITS, 6, -1),
        (AUDIT, 1, -1),
    ]
    names = [s.name for s in CATALOG.topic_specs("velocity")]
    assert len(names) == len(set(names))
    assert not any("gateway.commits.accepted" in name for name in names)


def test_the_gateway_never_consumes_an_internal_topic() -> None:
    serde = AvroSerde(CATALOG, InMemorySchemaResolver(), "velocity")
    pipeline = Pipeline(CATALOG, serde, "velocity", gateway_version="t", clock=lambda: 0)
    topics = set(pipeline.ingress_topics())
    assert topics and not topics & set(CATALOG.internal_topics("velocity"))


def test_acls_let_only_the_writer_write_and_only_the_readers_read() -> None:
    acls = plan(CATALOG, "velocity", "velocity-gateway")
    assert acls.writers(COMMITS) == {"gateway"}
    readers = {a.role for a in acls.acls if a.name == COMMITS and a.operation.value == "Read"}
    assert readers == {"graph-committer"}  # not the gateway, not the review app
    # Applied graph changes: only the committer writes them, only the read model and the
    # governance store read them.
    assert acls.writers(APPLIED) == {"graph-committer"}
    assert {a.role for a in acls.acls if a.name == APPLIED and a.operation.value == "Read"} == {
        "client360",
        "governance",
    }
    # Replay audit records: the DLQ operator's tools alone.
    assert acls.writers(AUDIT) == {"dlq-operator"}
    # ...and the committer no longer writes the ClientGraphDelta ingress topic.
    assert "graph-committer" not in acls.writers("velocity.client-graph-delta.v1")


def test_asyncapi_describes_the_internal_topic_with_its_avro_contract() -> None:
    document = build_document(CATALOG, "velocity")
    [channel] = [c for c in document["channels"].values() if c["address"] == COMMITS]
    assert set(channel["messages"]) == {"CommitRecordV1"}
    message = document["components"]["messages"]["CommitRecordV1"]
    assert message["payload"]["schema"]["name"] == "CommitRecord"
    assert message["x-velocity"]["route"] == "internal"
    operations = document["operations"]
    assert operations["gateway_sends_CommitRecordV1"]["action"] == "send"
    assert operations["graph-committer_receives_CommitRecordV1"]["action"] == "receive"
    assert "gateway_receives_CommitRecordV1" not in operations


def test_tail_decodes_an_internal_topic_with_its_contract() -> None:
    serde = AvroSerde(CATALOG, InMemorySchemaResolver(), "velocity")
    decoder = RecordDecoder(CATALOG, serde, "velocity")
    commits = CATALOG.family("CommitRecord")
    assert decoder.target(COMMITS, (), None) == (commits, 1)
    decoded = decoder.decode(serde.encode(example("CommitRecord")), (commits, 1))
    assert decoded.family == "CommitRecord" and decoded.error_code is None


def test_the_registry_gets_one_subject_per_internal_topic() -> None:
    subjects = [p.subject for p in subject_plan(CATALOG, "velocity") if p.family.internal]
    assert subjects == [f"{COMMITS}-value", f"{APPLIED}-value", f"{AUDIT}-value"]


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            'consumers = ["graph-committer"]\n',
            'consumers = ["graph-committer", "gateway"]\n',
            "the gateway never consumes an internal family",
        ),
        (
            'producers = ["gateway"]\nconsumers = ["graph-committer"]\n',
            'producers = ["gateway"]\nconsumers = ["graph-committer"]\nimmutable = true\n',
            "an internal family has no gateway rule 'immutable'",
        ),
        ('topic = "gateway.commits"', 'topic = "qd-signal-bundle"', "share the topic"),
        (
            'commits_family = "CommitRecord"',
            'commits_family = "QdSignalBundle"',
            "is not an internal family",
        ),
        ('commits_family = "CommitRecord"', "", "name commits_family"),
        (
            'commits_family = "CommitRecord"',
            'commits_topic = "gateway.commits"',
            "commits_topic is gone",
        ),
        (
            'dlq_audit_family = "DlqReplayAudit"',
            'dlq_audit_topic = "gateway.dlq-audit"',
            "dlq_audit_topic is gone",
        ),
        (
            "approved_only_by_commit = {",
            "requires_approved_decision = {",
            "requires_approved_decision is gone",
        ),
    ],
)
def test_a_catalog_that_misuses_an_internal_family_is_refused(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_catalog(_edited(tmp_path, old, new))
