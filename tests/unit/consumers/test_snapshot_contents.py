"""What the snapshot of a seeded client holds, section by section, and how it is derived."""

from __future__ import annotations

from datetime import UTC, datetime

from consumers.client360.snapshot import RECENT_INTERACTIONS
from tests.unit.consumers import events as ev
from velocity_stream.contracts.client360 import RiskSeverity
from velocity_stream.contracts.metadata import ProvenanceOrigin

CLIENT = "client:acme"


def _seed() -> list:
    graph = ev.delta(
        "seed",
        ev.upsert_node(
            "person:priya",
            "PERSON",
            given_name="Priya",
            family_name="Raman",
            email="priya@acme.example",
            phone="+919830012345",
        ),
        ev.upsert_node(
            "organization:acme", "ORGANIZATION", name="Acme Holdings", email="info@acme.example"
        ),
        ev.upsert_node(
            "account:hubspot-1", "ACCOUNT", system="hubspot", external_ref="contact/88213"
        ),
        ev.upsert_node(
            "opportunity:3bhk",
            "OPPORTUNITY",
            title="3BHK near Salt Lake",
            stage="QUALIFYING",
            amount="15500000",
        ),
        ev.upsert_node("opportunity:old", "OPPORTUNITY", title="Old deal", stage="CLOSED_LOST"),
        ev.upsert_node("property:salt-lake-12b", "PROPERTY", name="12B"),
        ev.upsert_node(
            "task:visits",
            "TASK",
            title="Schedule two site visits",
            due_at="2026-04-23T09:30:00+00:00",
        ),
        ev.upsert_node("task:call", "TASK", title="Call back", status="DONE"),
        ev.upsert_node("person:p-dup", "PERSON", phone="+910000000000"),
        *(
            ev.upsert_edge(ref, CLIENT, rel)
            for ref, rel in [
                ("person:priya", "CONTACT_OF"),
                ("organization:acme", "IS"),
                ("account:hubspot-1", "ACCOUNT_OF"),
                ("opportunity:3bhk", "OPPORTUNITY_OF"),
                ("opportunity:old", "OPPORTUNITY_OF"),
                ("task:visits", "TASK_OF"),
                ("task:call", "TASK_OF"),
                ("person:p-dup", "CONTACT_OF"),
            ]
        ),
        ev.upsert_edge(
            "property:salt-lake-12b",
            CLIENT,
            "INTERESTED_IN",
            interest_level="HIGH",
            note="wants two visits",
        ),
        minute=1,
    )
    merge = ev.delta("merge", ev.merge_nodes("person:priya", "person:p-dup"), minute=2)
    stage = ev.writeback("w1", "opportunity:3bhk", stage=("QUALIFYING", "SITE_VISITS"))
    interactions = [ev.interaction(CLIENT, n, minute=10 + n) for n in range(25)]
    signals = [
        ev.signal(CLIENT, 1, minute=5, score_type="purchase_intent", value=0.4),
        ev.signal(CLIENT, 2, minute=30, score_type="purchase_intent", value=0.74),
        ev.signal(CLIENT, 3, minute=31, score_type="churn_risk", value=0.8),
        ev.signal(CLIENT, 4, minute=32, score_type="budget_fit", value=0.9, evidence=False),
    ]
    return [graph, merge, (stage, "decision:w1", 40), *interactions, *signals]


def test_seeded_client_snapshot_has_every_section(apply_all):
    store = apply_all(_seed())
    snapshot = store.snapshot(CLIENT)
    assert snapshot is not None
    identity = snapshot.identity
    assert identity.display_name == "Acme Holdings (Priya Raman)"
    assert identity.emails == ("info@acme.example", "priya@acme.example")
    # The duplicate folded into the survivor, whose own phone wins (as in the committer).
    assert identity.phones == ("+919830012345",)
    assert identity.entity_refs == ("organization:acme", "person:priya")
    assert [(a.system, a.external_ref) for a in snapshot.account_links] == [
        ("hubspot", "contact/88213")
    ]
    [opportunity] = snapshot.active_opportunities
    assert (opportunity.opportunity_ref, opportunity.stage, opportunity.amount) == (
        "opportunity:3bhk",
        "SITE_VISITS",
        15_500_000.0,
    )
    assert len(snapshot.recent_interactions) == RECENT_INTERACTIONS
    assert snapshot.recent_interactions[0].bundle_ref == f"bundle:{CLIENT}:24"
    assert [i.occurred_at for i in snapshot.recent_interactions] == sorted(
        (i.occurred_at for i in snapshot.recent_interactions), reverse=True
    )
    [interest] = snapshot.property_interests
    assert (interest.property_ref, interest.interest_level, interest.note) == (
        "property:salt-lake-12b",
        "HIGH",
        "wants two visits",
    )
    assert [(t.task_ref, t.status) for t in snapshot.tasks] == [
        ("task:visits", "OPEN"),
        ("task:call", "DONE"),
    ]
    assert snapshot.tasks[0].due_at == datetime(2026, 4, 23, 9, 30, tzinfo=UTC)
    assert [(q.score_type, q.value) for q in snapshot.qd_overview] == [
        ("budget_fit", 0.9),
        ("churn_risk", 0.8),
        ("purchase_intent", 0.74),
    ]
    flags = {f.code: f for f in snapshot.risk_flags}
    assert flags["qd.churn_risk"].severity is RiskSeverity.HIGH
    assert f"signal:{CLIENT}:3" in flags["qd.churn_risk"].evidence_refs
    assert flags["qd.operator_input_only"].evidence_refs == (f"signal:{CLIENT}:4",)
    assert flags["duplicate_contact_merged"].evidence_refs == ("delta:merge",)


def test_snapshot_is_derived_with_source_refs_and_no_wall_clock(apply_all):
    store = apply_all(_seed())
    snapshot = store.snapshot(CLIENT)
    assert snapshot is not None
    assert snapshot.provenance.origin is ProvenanceOrigin.DERIVED
    refs = set(snapshot.provenance.source_refs)
    assert {"delta:seed", "delta:merge", "decision:w1", f"signal:{CLIENT}:2"} <= refs
    assert f"bundle:{CLIENT}:24" in refs and f"bundle:{CLIENT}:0" not in refs  # not shown
    # as_of is the newest fact shown: the approved stage change, decided at minute 40.
    assert snapshot.as_of == ev.at(40) == snapshot.created_at
    assert snapshot.artifact_id.startswith(f"c360:{CLIENT}:")


def test_same_facts_give_the_same_snapshot_bytes(apply_all):
    first = apply_all(_seed()).dump()["snapshots"]
    from tests.unit.consumers.conftest import fresh_store, projection_of

    other = fresh_store()
    other.apply([projection_of(item) for item in reversed(_seed())], {})
    assert other.dump()["snapshots"] == first


def test_a_client_merged_into_another_reads_as_the_survivor(apply_all):
    store = apply_all(
        [
            ev.interaction("client:old", 1, minute=1),
            ev.interaction("client:new", 2, minute=2),
            ev.delta("fold", ev.merge_nodes("client:new", "client:old"), minute=3),
        ]
    )
    assert store.client_refs() == ["client:new"]
    snapshot = store.snapshot("client:old")
    assert snapshot is not None and snapshot.client_ref == "client:new"
    assert {i.bundle_ref for i in snapshot.recent_interactions} == {
        "bundle:client:old:1",
        "bundle:client:new:2",
    }


def test_deleting_a_linked_node_or_edge_drops_it_from_the_snapshot(apply_all):
    store = apply_all(_seed())
    apply_all(
        [
            ev.delta(
                "del",
                ev.delete_node("account:hubspot-1"),
                ev.delete_edge("property:salt-lake-12b", CLIENT, "INTERESTED_IN"),
                minute=50,
            ),
        ]
    )
    snapshot = store.snapshot(CLIENT)
    assert snapshot is not None
    assert snapshot.account_links == () and snapshot.property_interests == ()


def test_changed_snapshots_wait_in_the_outbox_until_published(apply_all):
    store = apply_all(_seed())
    [pending] = store.pending()
    assert pending.client_ref == CLIENT
    store.mark_published([pending])
    assert store.pending() == []
    apply_all([ev.interaction(CLIENT, 99, minute=99)])
    assert [p.client_ref for p in store.pending()] == [CLIENT]
    # An outdated acknowledgement does not clear a newer digest.
    store.mark_published([pending])
    assert [p.client_ref for p in store.pending(refs=[CLIENT, "client:other"])] == [CLIENT]
