"""The committer against SQLite: referential integrity, lifecycle, idempotency, dead letters."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from consumers.committer.changes import from_commit, from_delta
from consumers.committer.runner import CommitterRunner, dead_letter_headers
from consumers.committer.store import GraphStore, Incoming, Verdict
from consumers.storage import open_engine
from tests.unit.consumers import events as ev
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.errors import ReasonCode
from velocity_stream.kafka.producer import Delivery
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import Settings

CLIENT = "client:acme"


@pytest.fixture
def graph():
    store = GraphStore(open_engine("sqlite://"), "unit_")
    store.create()
    yield store
    store.engine.dispose()


_offset = iter(range(1_000_000))


def _message(topic: str = "t", value: bytes = b"v") -> InboundMessage:
    return InboundMessage(
        topic, 0, next(_offset), b"k", value, (("trace", b"1"),), 1_700_000_000_000
    )


def _commit(proposal: Artifact, decision: str):
    record = ev.commit(proposal, b"", "velocity.x.v1", decision)
    change_set = from_commit(record, proposal)
    assert change_set is not None
    return change_set


def _apply(graph: GraphStore, *change_sets):
    return graph.apply([Incoming(_message(), c) for c in change_sets], {})


def _seed(graph: GraphStore) -> None:
    results = _apply(
        graph,
        from_delta(
            ev.delta(
                "seed",
                ev.upsert_node(CLIENT, "CLIENT", name="Acme"),
                ev.upsert_node("person:priya", "PERSON", given_name="Priya"),
                ev.upsert_node("person:p-dup", "PERSON", email="p@x.example"),
                ev.upsert_node("opportunity:o1", "OPPORTUNITY", stage="QUALIFYING"),
                ev.upsert_edge("person:priya", CLIENT, "CONTACT_OF"),
                ev.upsert_edge("person:p-dup", CLIENT, "CONTACT_OF", role="old"),
                ev.upsert_edge("opportunity:o1", CLIENT, "OPPORTUNITY_OF"),
            )
        ),
    )
    assert [r.verdict for r in results] == [Verdict.APPLIED]


def test_approved_entity_proposal_upserts_the_node_and_records_its_refs(graph):
    proposal = ev.entity_proposal("e1", "person:priya", given_name="Priya", family_name="Raman")
    [result] = _apply(graph, _commit(proposal, "decision:1"))
    assert result.verdict is Verdict.APPLIED
    node = graph.node("person:priya")
    assert node is not None and node.node_type == "PERSON"
    assert node.attributes == {"family_name": "Raman", "given_name": "Priya"}
    change = graph.change("decision:1")
    assert change is not None
    assert (change["proposal_ref"], change["decision_ref"]) == ("proposal:e1", "decision:1")
    assert change["outcome"] == "APPLIED" and change["operations"] == 1


def test_the_same_decision_applies_once(graph):
    proposal = ev.entity_proposal("e1", "person:priya", given_name="Priya")
    first = _apply(graph, _commit(proposal, "decision:1"))
    before = graph.dump()
    again = _apply(graph, _commit(proposal, "decision:1"), _commit(proposal, "decision:1"))
    assert [r.verdict for r in first] == [Verdict.APPLIED]
    assert [r.verdict for r in again] == [Verdict.DUPLICATE, Verdict.DUPLICATE]
    assert graph.dump() == before


def test_a_change_to_a_missing_entity_is_refused_and_writes_nothing(graph):
    proposal = ev.writeback("w1", "opportunity:nowhere", stage=("QUALIFYING", "SITE_VISITS"))
    [result] = _apply(graph, _commit(proposal, "decision:w1"))
    assert result.verdict is Verdict.REFUSED
    assert result.refusal is not None
    assert result.refusal.code is ReasonCode.PERSISTENCE_ENTITY_NOT_FOUND
    assert graph.node("opportunity:nowhere") is None
    change = graph.change("decision:w1")
    assert change is not None and change["reason"] == "persistence.entity_not_found"


def test_a_merge_of_an_already_merged_entity_is_refused(graph):
    _seed(graph)
    _apply(graph, from_delta(ev.delta("m1", ev.merge_nodes("person:priya", "person:p-dup"))))
    [again] = _apply(
        graph, from_delta(ev.delta("m2", ev.merge_nodes("person:priya", "person:p-dup")))
    )
    assert again.refusal is not None
    assert again.refusal.code is ReasonCode.PERSISTENCE_ALREADY_MERGED
    assert again.refusal.field == "changes.0.merged_refs.0"
    [into] = _apply(
        graph, from_delta(ev.delta("m3", ev.merge_nodes("person:p-dup", "person:priya")))
    )
    assert into.refusal is not None and into.refusal.code is ReasonCode.PERSISTENCE_ALREADY_MERGED


def test_merge_folds_the_node_its_attributes_and_its_edges_into_the_survivor(graph):
    _seed(graph)
    [result] = _apply(
        graph, from_delta(ev.delta("m1", ev.merge_nodes("person:priya", "person:p-dup")))
    )
    assert result.verdict is Verdict.APPLIED
    survivor, merged = graph.node("person:priya"), graph.node("person:p-dup")
    assert survivor is not None and merged is not None
    assert survivor.attributes == {"email": "p@x.example", "given_name": "Priya"}
    assert (merged.status.value, merged.merged_into) == ("MERGED", "person:priya")
    dump = graph.dump()
    assert ("person:p-dup", "person:priya", "delta:m1") in dump["merges"]
    edges = {(row[0], row[1]): row[3] for row in dump["edges"]}
    assert edges[("person:p-dup", CLIENT)] == "DELETED"
    assert edges[("person:priya", CLIENT)] == "ACTIVE"


def test_an_update_that_expects_another_value_is_refused_as_stale(graph):
    _seed(graph)
    stale = ev.writeback("w1", "opportunity:o1", stage=("NEGOTIATION", "CLOSED_WON"))
    [result] = _apply(graph, _commit(stale, "decision:w1"))
    assert result.refusal is not None and result.refusal.code is ReasonCode.PERSISTENCE_STALE_VALUE
    fresh = ev.writeback("w2", "opportunity:o1", stage=("QUALIFYING", "SITE_VISITS"))
    [ok] = _apply(graph, _commit(fresh, "decision:w2"))
    assert ok.verdict is Verdict.APPLIED
    node = graph.node("opportunity:o1")
    assert node is not None and node.attributes["stage"] == "SITE_VISITS"


def test_deleted_entities_take_no_changes_and_lose_their_edges(graph):
    _seed(graph)
    delete = ev.writeback("w1", "opportunity:o1", operation="DELETE")
    assert _apply(graph, _commit(delete, "decision:w1"))[0].verdict is Verdict.APPLIED
    assert ("opportunity:o1", CLIENT, "OPPORTUNITY_OF") in {
        r[:3] for r in graph.dump()["edges"] if r[3] == "DELETED"
    }
    update = ev.writeback("w2", "opportunity:o1", stage=("QUALIFYING", "LOST"))
    [result] = _apply(graph, _commit(update, "decision:w2"))
    assert result.refusal is not None
    assert result.refusal.code is ReasonCode.PERSISTENCE_ENTITY_DELETED


def test_an_edge_needs_both_ends_to_exist(graph):
    _seed(graph)
    [result] = _apply(
        graph, from_delta(ev.delta("e", ev.upsert_edge("task:ghost", CLIENT, "TASK_OF")))
    )
    assert result.refusal is not None
    assert result.refusal.code is ReasonCode.PERSISTENCE_ENTITY_NOT_FOUND
    assert result.refusal.field == "changes.0.edge.from_ref"
    [gone] = _apply(
        graph, from_delta(ev.delta("x", ev.delete_edge("task:ghost", CLIENT, "TASK_OF")))
    )
    assert gone.refusal is not None and gone.refusal.code is ReasonCode.PERSISTENCE_EDGE_NOT_FOUND


def test_a_change_set_is_all_or_nothing(graph):
    _seed(graph)
    before = graph.dump()
    both = ev.delta(
        "half",
        ev.upsert_node("task:t1", "TASK", title="Call back"),
        ev.upsert_edge("task:t1", "client:missing", "TASK_OF"),
    )
    [result] = _apply(graph, from_delta(both))
    assert result.verdict is Verdict.REFUSED
    assert graph.node("task:t1") is None
    after = graph.dump()
    assert {k: v for k, v in after.items() if k != "changes"} == {
        k: v for k, v in before.items() if k != "changes"
    }


def test_create_of_an_existing_entity_and_a_type_change_are_refused(graph):
    _seed(graph)
    create = ev.writeback("c1", "opportunity:o1", operation="CREATE", stage="NEW")
    [exists] = _apply(graph, _commit(create, "decision:c1"))
    assert (
        exists.refusal is not None and exists.refusal.code is ReasonCode.PERSISTENCE_ENTITY_EXISTS
    )
    retype = ev.delta("rt", ev.upsert_node("opportunity:o1", "TASK", title="x"))
    [mismatch] = _apply(graph, from_delta(retype))
    assert mismatch.refusal is not None
    assert mismatch.refusal.code is ReasonCode.PERSISTENCE_NODE_TYPE_MISMATCH


class _RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, Any]] = []

    def publish_raw(self, topic, key, value, headers=None) -> Future[Delivery]:
        self.sent.append((topic, key, value, headers))
        future: Future[Delivery] = Future()
        future.set_result(Delivery(topic, 0, len(self.sent) - 1, key))
        return future


def test_refusals_are_dead_lettered_with_the_original_bytes_and_reason_headers(graph):
    settings = Settings(topic_prefix="unit")
    catalog = load_catalog(settings.schemas_dir)
    serde = AvroSerde(catalog, InMemorySchemaResolver(), "unit")
    producer = _RecordingProducer()
    runner = CommitterRunner(settings, catalog, serde, graph, producer)  # type: ignore[arg-type]
    proposal = ev.writeback("w1", "opportunity:nowhere", stage=("A", "B"))
    topic = catalog.family("OracleWritebackProposal").ingress_topic("unit")
    record = ev.commit(proposal, serde.encode(proposal), topic, "decision:w1")
    encoded = serde.encode(record)
    message = InboundMessage(runner.commits_topic, 2, 41, b"proposal:w1", encoded, (), 123)
    broken = InboundMessage(runner.commits_topic, 2, 42, b"k", b"not avro", (), 124)
    results = runner.handle([message, broken])
    assert [r.verdict for r in results] == [Verdict.REFUSED, Verdict.REFUSED]
    assert graph.offsets() == {(runner.commits_topic, 2): 43}
    [(topic_sent, key, value, headers), (_, _, bad_value, bad_headers)] = producer.sent
    assert topic_sent == catalog.dead_letter_topic("unit")
    assert (key, value, bad_value) == (b"proposal:w1", encoded, b"not avro")
    named = dict(headers)
    assert named[h.DLQ_REASON] == b"persistence.entity_not_found"
    assert named[h.DLQ_STAGE] == b"persistence"
    assert named[h.DLQ_SOURCE_OFFSET] == b"41" and named[h.DLQ_TIME] == b"123"
    assert dict(bad_headers)[h.DLQ_REASON] == b"decode.bad_magic_byte"
    # Redelivery after a crash: nothing applies twice, no second dead letter.
    assert [r.verdict for r in runner.handle([message])] == [Verdict.DUPLICATE]
    assert len(producer.sent) == 2


def test_dead_letter_headers_keep_the_input_headers_first():
    message = _message()
    from consumers.committer.graph import Refusal

    headers = dead_letter_headers(
        message, Refusal(ReasonCode.PERSISTENCE_STALE_VALUE, "x" * 5000, "f")
    )
    assert headers[0] == ("trace", b"1")
    named = dict(headers)
    assert len(named[h.DLQ_MESSAGE]) == h.MAX_MESSAGE_BYTES
    assert named[h.DLQ_FIELD] == b"f"
