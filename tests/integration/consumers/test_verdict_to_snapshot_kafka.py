"""The read model waits for the committer's verdict, on the real broker and both databases:
approved changes go to the committer, which publishes a record of what it applied on its own
topic (AppliedGraphChange, an internal family: no gateway pass); the Client360 consumer
builds its graph from those records only. A refused change (a stale update,
a merge of a merged ref, a change to a missing entity) never shows in the snapshot."""

from __future__ import annotations

import pytest

from consumers.applied import applied_id
from consumers.client360.runner import Client360Runner, RunnerOptions
from consumers.committer.runner import CommitterRunner
from tests.integration.consumers.conftest import Gateway
from tests.integration.consumers.to_end import run_to_end
from tests.unit.consumers import events as ev

pytestmark = pytest.mark.integration
CLIENT = "client:acme"
IDLE_S = 1.5


def test_a_refused_change_is_absent_from_the_snapshot_and_an_applied_one_present(
    provisioned, catalog, serde, gateway: Gateway, producer, graph_store, client360_store
):
    committer = CommitterRunner(provisioned, catalog, serde, graph_store, producer)
    read_model = client360_store()

    def settle(applied: int, refused: int) -> None:
        """Commit what was published, project the applied records."""
        stats = run_to_end(committer, graph_store, provisioned, IDLE_S)
        assert (stats.applied, stats.refused, stats.published) == (applied, refused, applied)
        Client360Runner(
            provisioned, catalog, serde, read_model, None, RunnerOptions(batch_size=100)
        ).run(max_idle_s=IDLE_S)

    seed = ev.delta(
        "seed",
        ev.upsert_node(CLIENT, "CLIENT"),
        ev.upsert_node("person:priya", "PERSON", given_name="Priya", family_name="Raman"),
        ev.upsert_node("person:p-dup", "PERSON", email="priya@old.example"),
        ev.upsert_node("person:arjun", "PERSON", given_name="Arjun"),
        ev.upsert_node("opportunity:o1", "OPPORTUNITY", title="3BHK", stage="QUALIFYING"),
        ev.upsert_edge("person:priya", CLIENT, "CONTACT_OF"),
        ev.upsert_edge("person:p-dup", CLIENT, "CONTACT_OF"),
        ev.upsert_edge("opportunity:o1", CLIENT, "OPPORTUNITY_OF"),
    )
    gateway.publish([seed, ev.interaction(CLIENT, 1, minute=1)])
    settle(applied=1, refused=0)
    first = read_model.snapshot(CLIENT)
    assert first is not None
    assert [o.stage for o in first.active_opportunities] == ["QUALIFYING"]
    # A requested delta on the accepted topic is not the graph: only its applied record is.
    assert set(first.provenance.source_refs) >= {"delta:seed", f"bundle:{CLIENT}:1"}

    merge = ev.entity_proposal("e1", "person:priya", merge=("person:p-dup",))
    gateway.publish([(merge, "decision:e1", 2)])
    settle(applied=1, refused=0)  # the merge lands before the refused changes are read

    stale = ev.writeback("w1", "opportunity:o1", stage=("NEGOTIATION", "CLOSED_WON"))
    ghost = ev.writeback("w2", "opportunity:ghost", stage=("A", "B"), title=(None, "Ghost"))
    merged_again = ev.entity_proposal(
        "e2", "person:arjun", merge=("person:p-dup",), email="arjun@x.example"
    )
    fresh = ev.writeback("w3", "opportunity:o1", stage=("QUALIFYING", "SITE_VISITS"))
    gateway.publish(
        [
            (stale, "decision:w1", 3),
            (ghost, "decision:w2", 3),
            (merged_again, "decision:e2", 3),
            (fresh, "decision:w3", 4),
        ]
    )
    settle(applied=1, refused=3)

    refused = {
        change: graph_store.change(change)
        for change in ("decision:w1", "decision:w2", "decision:e2")
    }
    assert {c: row["reason"] for c, row in refused.items() if row} == {
        "decision:w1": "persistence.stale_value",
        "decision:w2": "persistence.entity_not_found",
        "decision:e2": "persistence.already_merged",
    }
    snapshot = read_model.snapshot(CLIENT)
    assert snapshot is not None
    # Applied: the stage change, the merge of the duplicate (its email folded into Priya).
    [opportunity] = snapshot.active_opportunities
    assert opportunity.stage == "SITE_VISITS"
    assert snapshot.identity.entity_refs == ("person:priya",)
    assert snapshot.identity.emails == ("priya@old.example",)
    assert {"decision:e1", "decision:w3"} <= set(snapshot.provenance.source_refs)
    # Refused: none of them shows, nor names itself as a source.
    assert opportunity.stage != "CLOSED_WON"
    assert "arjun@x.example" not in snapshot.identity.emails
    assert not {"decision:w1", "decision:w2", "decision:e2"} & set(snapshot.provenance.source_refs)
    assert read_model.snapshot("opportunity:ghost") is None
    applied = {row[0] for row in read_model.dump()["applied"]}
    assert {applied_id("decision:w3"), applied_id("decision:e1")} <= applied
    assert not {applied_id(c) for c in refused} & applied
