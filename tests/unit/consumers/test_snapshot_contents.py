"""What the snapshot of a seeded client holds, section by section, and how it is derived."""

from __future__ import annotations

from datetime import UTC, datetime

from consumers.client360.snapshot import RECENT_INTERACTIONS
from tests.unit.consumers import events as ev
from tests.unit.consumers.conftest import fresh_store, projection_of
from velocity_stream.contracts.client360 import RiskSeverity
from velocity_stream.contracts.metadata import ProvenanceOrigin

CLIENT = "client:acme"


def test_seeded_client_snapshot_has_every_section(apply_all):
    store = apply_all(ev.raw_seeded_client(CLIENT))
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
    store = apply_all(ev.raw_seeded_client(CLIENT))
    snapshot = store.snapshot(CLIENT)
    assert snapshot is not None
    assert snapshot.provenance.origin is ProvenanceOrigin.DERIVED
    refs = set(snapshot.provenance.source_refs)
    assert {"delta:seed", "delta:merge", "decision:w1", f"signal:{CLIENT}:2"} <= refs
    assert f"bundle:{CLIENT}:24" in refs and f"bundle:{CLIENT}:0" not in refs  # not shown
    # as_of is the newest fact shown: the approved stage change, applied at minute 40 (the
    # test committer's clock reads each change's own time).
    assert snapshot.as_of == ev.at(40) == snapshot.created_at
    assert snapshot.artifact_id.startswith(f"c360:{CLIENT}:")


def test_same_facts_give_the_same_snapshot_bytes(apply_all):
    first = apply_all(ev.raw_seeded_client(CLIENT)).dump()["snapshots"]

    other = fresh_store()
    other.apply([projection_of(item) for item in reversed(ev.seeded_client(CLIENT))], {})
    other.refresh_all()
    assert other.dump()["snapshots"] == first


def test_a_client_merged_into_another_reads_as_the_survivor(apply_all):
    store = apply_all(
        [
            ev.delta(
                "clients",
                ev.upsert_node("client:old", "CLIENT"),
                ev.upsert_node("client:new", "CLIENT"),
            ),
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
    store = apply_all(ev.raw_seeded_client(CLIENT))
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
    store = apply_all(ev.raw_seeded_client(CLIENT))
    [pending] = store.pending()
    assert pending.client_ref == CLIENT
    store.mark_published([pending])
    assert store.pending() == []
    apply_all([ev.interaction(CLIENT, 99, minute=99)])
    assert [p.client_ref for p in store.pending()] == [CLIENT]
    # An outdated acknowledgement does not clear a newer digest.
    store.mark_published([pending])
    assert [p.client_ref for p in store.pending(refs=[CLIENT, "client:other"])] == [CLIENT]
