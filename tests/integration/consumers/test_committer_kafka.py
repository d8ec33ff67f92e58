"""The graph committer on the real broker and both databases: applied changes (and their
applied records on the ClientGraphDelta ingress topic), refusals on the dead-letter topic, and
redelivery."""

from __future__ import annotations

import pytest

from consumers.applied import applied_id, is_applied
from consumers.committer.runner import CommitterRunner
from consumers.committer.store import GraphStore
from consumers.partitions import PartitionSource
from tests.integration.consumers.conftest import Gateway
from tests.unit.consumers import events as ev
from velocity_stream.contracts.graph_delta import ClientGraphDelta
from velocity_stream.gateway.commits import CommitRecord
from velocity_stream.protocol import headers as h

pytestmark = pytest.mark.integration
CLIENT = "client:acme"


def _dead_letters(settings, catalog) -> list:
    return _read_all(settings, catalog.dead_letter_topic(settings.topic_prefix))


def _applied_records(settings, catalog, serde) -> list[ClientGraphDelta]:
    family = catalog.family("ClientGraphDelta")
    found = []
    for message in _read_all(settings, family.ingress_topic(settings.topic_prefix)):
        record = serde.decode(message.value, family)
        assert isinstance(record, ClientGraphDelta) and is_applied(record)
        assert message.key == record.delta_id.encode()
        found.append(record)
    return found


def _read_all(settings, topic: str) -> list:
    found = []
    with PartitionSource(settings, [topic], {}, client_id="it-reader") as source:
        idle = 0
        while idle < 4:
            batch = source.poll_batch(100, 0.5)
            idle = 0 if batch else idle + 1
            found += batch
    return found


def test_committer_applies_approved_changes_and_dead_letters_refusals(
    provisioned, catalog, serde, gateway: Gateway, producer, graph_store: GraphStore
):
    seed = ev.delta(
        "seed",
        ev.upsert_node(CLIENT, "CLIENT", name="Acme"),
        ev.upsert_node("person:priya", "PERSON", given_name="Priya"),
        ev.upsert_node("person:p-dup", "PERSON", email="p@x.example"),
        ev.upsert_edge("person:priya", CLIENT, "CONTACT_OF"),
        ev.upsert_edge("person:p-dup", CLIENT, "CONTACT_OF"),
    )
    gateway.publish([seed])
    runner = CommitterRunner(provisioned, catalog, serde, graph_store, producer)
    first = runner.run(max_idle_s=1.5)
    assert (first.applied, first.refused) == (1, 0)

    merge = ev.entity_proposal("e1", "person:priya", merge=("person:p-dup",), family_name="Raman")
    merge_again = ev.entity_proposal("e2", "person:priya", merge=("person:p-dup",))
    ghost = ev.writeback("w1", "opportunity:ghost", stage=("A", "B"))
    gateway.publish([(merge, "decision:e1", 1)])
    runner.run(max_idle_s=1.5)  # the first merge lands before the second is read
    gateway.publish([(merge_again, "decision:e2", 2), (ghost, "decision:w1", 3)])
    second = runner.run(max_idle_s=1.5)
    assert (second.applied, second.refused) == (0, 2)

    survivor, merged = graph_store.node("person:priya"), graph_store.node("person:p-dup")
    assert survivor is not None and merged is not None
    assert survivor.attributes == {
        "email": "p@x.example",
        "family_name": "Raman",
        "given_name": "Priya",
    }
    assert (merged.status.value, merged.merged_into) == ("MERGED", "person:priya")
    applied = graph_store.change("decision:e1")
    assert applied is not None
    assert (applied["proposal_ref"], applied["decision_ref"], applied["outcome"]) == (
        "proposal:e1",
        "decision:e1",
        "APPLIED",
    )

    letters = {
        CommitRecord.from_bytes(m.value).decision_id: m for m in _dead_letters(provisioned, catalog)
    }
    assert set(letters) == {"decision:e2", "decision:w1"}
    # What it applied, and only that, is on the delta ingress topic for the gateway.
    applied = _applied_records(provisioned, catalog, serde)
    assert sorted(r.delta_id for r in applied) == [
        applied_id("decision:e1"),
        applied_id("delta:seed"),
    ]
    assert graph_store.unpublished() == []
    twice = dict(letters["decision:e2"].headers)
    assert twice[h.DLQ_REASON] == b"persistence.already_merged"
    assert twice[h.DLQ_STAGE] == b"persistence"
    assert twice[h.DLQ_SOURCE_TOPIC] == catalog.commits_topic(provisioned.topic_prefix).encode()
    assert letters["decision:e2"].key == b"proposal:e2"
    assert dict(letters["decision:w1"].headers)[h.DLQ_REASON] == b"persistence.entity_not_found"

    # Redelivered commit records (a gateway retry) apply nothing and dead-letter nothing new.
    before = graph_store.dump()
    gateway.publish([(merge, "decision:e1", 1), (ghost, "decision:w1", 3)])
    third = runner.run(max_idle_s=1.5)
    assert (third.applied, third.refused, third.duplicates) == (0, 0, 2)
    after = graph_store.dump()
    assert {k: v for k, v in after.items() if k != "offsets"} == {
        k: v for k, v in before.items() if k != "offsets"
    }
    assert len(_dead_letters(provisioned, catalog)) == 2
    assert len(_applied_records(provisioned, catalog, serde)) == 2
