"""Any order, any batching, any redelivery of the same events ends in the same tables."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.client360.facts import Projection
from tests.unit.consumers import events as ev
from tests.unit.consumers.conftest import fresh_store, projection_of

CLIENTS = ("client:a", "client:b", "client:c")
NODES = {
    "person:p1": "PERSON",
    "person:p2": "PERSON",
    "person:p3": "PERSON",
    "organization:o1": "ORGANIZATION",
    "opportunity:x1": "OPPORTUNITY",
    "account:h1": "ACCOUNT",
    "property:y1": "PROPERTY",
    "task:t1": "TASK",
}
minutes = st.integers(min_value=0, max_value=5)  # few values: ties on purpose
node_refs = st.sampled_from(sorted(NODES))
clients = st.sampled_from(CLIENTS)
words = st.sampled_from(["a", "b", "CLOSED_WON", "OPEN", "2026-05-01T10:00:00+00:00", "12.5"])


@st.composite
def graph_operation(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["node", "node", "edge", "edge", "del_node", "del_edge", "merge"]))
    ref = draw(node_refs)
    if kind == "node":
        attrs = draw(st.dictionaries(st.sampled_from(["name", "stage", "email", "title"]), words))
        return ev.upsert_node(ref, NODES[ref], **attrs)
    if kind == "edge":
        return ev.upsert_edge(ref, draw(clients), "LINKED", interest_level=draw(words))
    if kind == "del_node":
        return ev.delete_node(ref)
    if kind == "del_edge":
        return ev.delete_edge(ref, draw(clients), "LINKED")
    pool = draw(st.sampled_from([sorted(NODES), list(CLIENTS)]))
    into, merged = draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2, unique=True))
    return ev.merge_nodes(into, merged)


@st.composite
def event(draw: st.DrawFn, n: int) -> Any:
    kind = draw(st.sampled_from(["interaction", "signal", "delta", "delta", "entity", "writeback"]))
    minute = draw(minutes)
    if kind == "interaction":
        return ev.interaction(draw(clients), n, minute)
    if kind == "signal":
        return ev.signal(
            draw(clients),
            n,
            minute,
            draw(st.sampled_from(["purchase_intent", "churn_risk"])),
            draw(st.sampled_from([0.1, 0.5, 0.9])),
            draw(st.booleans()),
        )
    if kind == "delta":
        operations = draw(st.lists(graph_operation(), min_size=1, max_size=3))
        return ev.delta(f"d{n}", *operations, minute=minute)
    if kind == "entity":
        ref = draw(st.sampled_from(["person:p1", "person:p2", "person:p3"]))
        merge = tuple(
            draw(st.lists(st.sampled_from(["person:p1", "person:p2", "person:p3"]), max_size=1))
        )
        merge = tuple(m for m in merge if m != ref)
        proposal = ev.entity_proposal(f"e{n}", ref, "PERSON", merge, given_name=draw(words))
        return (proposal, f"decision:e{n}", minute)
    proposal = ev.writeback(f"w{n}", "opportunity:x1", stage=draw(words))
    return (proposal, f"decision:w{n}", minute)


@st.composite
def histories(draw: st.DrawFn) -> list[Projection]:
    count = draw(st.integers(min_value=1, max_value=25))
    return [projection_of(draw(event(n))) for n in range(count)]


def _run(
    projections: list[Projection], batch: int, refresh_after: set[int] = frozenset()
) -> dict[str, list[tuple[Any, ...]]]:
    store = fresh_store()
    for number, start in enumerate(range(0, len(projections), batch)):
        store.apply(projections[start : start + batch], {})
        if number in refresh_after:
            store.refresh(limit=3)  # a partial refresh, as a crash or a backlog would leave
        if number - 1 in refresh_after:
            store.refresh_all()
    store.refresh_all()
    dumped = store.dump()
    for client_ref in store.client_refs(limit=1000):
        snapshot = store.snapshot(client_ref)  # every stored body is a valid snapshot
        assert snapshot is not None and snapshot.client_ref == client_ref
    store.engine.dispose()
    return dumped


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), data=st.data())
def test_any_order_batching_and_redelivery_gives_the_same_tables(history, data):
    reordered = data.draw(st.permutations(history))
    # Redeliver a random subset again, later, as a crash and restart would.
    again = data.draw(st.lists(st.sampled_from(history), max_size=5)) if history else []
    first = _run(history, len(history))
    refresh_after = data.draw(st.sets(st.integers(min_value=0, max_value=30)))
    second = _run(
        reordered + again, data.draw(st.integers(min_value=1, max_value=7)), refresh_after
    )
    assert first == second
    assert first["snapshots"] or not any(p.client_refs for p in history)
