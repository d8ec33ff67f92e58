"""Random histories of requested changes go through the real committer; whatever the order,
batching and redelivery of what it applied (and of interactions and signals), the read model
ends in the same tables, and its graph is the committer's canonical graph."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from consumers.client360.facts import Projection
from consumers.client360.merges import MergeIndex
from consumers.client360.store import REFRESH_MAX_REFS, Client360Store
from tests.unit.consumers import events as ev
from tests.unit.consumers.conftest import fresh_store, projection_of

CLIENTS = ("client:a", "client:b", "client:c")
NODES = {
    "person:p1": "PERSON",
    "person:p2": "PERSON",
    "person:p3": "PERSON",
    "organization:o1": "ORGANIZATION",
    "opportunity:x1": "OPPORTUNITY",
    "opportunity:x2": "OPPORTUNITY",
    "account:h1": "ACCOUNT",
    "property:y1": "PROPERTY",
    "task:t1": "TASK",
}
minutes = st.integers(min_value=0, max_value=5)  # few values: ties on purpose
node_refs = st.sampled_from(sorted(NODES))
clients = st.sampled_from(CLIENTS)
words = st.sampled_from(["a", "b", "CLOSED_WON", "OPEN", "2026-05-01T10:00:00+00:00", "12.5"])
maybe_words = st.one_of(st.none(), words)


@st.composite
def graph_operation(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(["node", "node", "client", "edge", "edge", "del_node", "del_edge", "merge"])
    )
    ref = draw(node_refs)
    if kind == "node":
        attrs = draw(st.dictionaries(st.sampled_from(["name", "stage", "email", "title"]), words))
        return ev.upsert_node(ref, NODES[ref], **attrs)
    if kind == "client":
        return ev.upsert_node(
            draw(clients), "CLIENT", **draw(st.dictionaries(st.just("name"), words))
        )
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
def writeback(draw: st.DrawFn, n: int) -> Any:
    target = draw(st.sampled_from(["opportunity:x1", "opportunity:x2"]))
    kind = draw(st.sampled_from(["UPDATE", "UPDATE", "UPDATE", "CREATE", "DELETE", "MERGE"]))
    if kind == "UPDATE":
        change = (draw(maybe_words), draw(maybe_words))  # to None removes the field
        proposal = ev.writeback(f"w{n}", target, stage=change)
    elif kind == "CREATE":
        proposal = ev.writeback(f"w{n}", target, operation="CREATE", stage=draw(words))
    elif kind == "DELETE":
        proposal = ev.writeback(f"w{n}", target, operation="DELETE")
    else:
        other = "opportunity:x2" if target == "opportunity:x1" else "opportunity:x1"
        proposal = ev.writeback(f"w{n}", target, operation="MERGE", merge=(other,))
    return (proposal, f"decision:w{n}", draw(minutes))


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
    return draw(writeback(n))


@st.composite
def committed(draw: st.DrawFn) -> tuple[list[Projection], ev.MemoryCommitter]:
    """A raw history applied by the committer, in the order drawn; the read model's inputs."""
    count = draw(st.integers(min_value=1, max_value=25))
    # Most histories start from a CRM sync of some of the nodes, so later changes can apply.
    refs = draw(st.lists(st.sampled_from([*sorted(NODES), *CLIENTS]), unique=True))
    operations = [ev.upsert_node(r, NODES.get(r, "CLIENT"), stage=draw(words)) for r in refs]
    seed = [ev.delta("seed", *operations)] if operations else []
    committer = ev.MemoryCommitter()
    made = committer.commit(seed + [draw(event(n)) for n in range(count)])
    return [projection_of(item) for item in made], committer


def _run(
    projections: list[Projection],
    batch: int,
    refresh_after: set[int] = frozenset(),
    max_refs: int = REFRESH_MAX_REFS,
) -> Client360Store:
    store = fresh_store()
    for number, start in enumerate(range(0, len(projections), batch)):
        store.apply(projections[start : start + batch], {})
        # A partial refresh, as a crash or a backlog would leave: by batches, or by refs.
        if number in refresh_after:
            store.refresh(limit=3) if number % 2 else store.refresh(max_refs=max_refs)
        if number - 1 in refresh_after:
            store.refresh_all(max_refs=max_refs)
    store.refresh_all(max_refs=max_refs)
    for client_ref in store.client_refs(limit=1000):
        snapshot = store.snapshot(client_ref)  # every stored body is a valid snapshot
        assert snapshot is not None and snapshot.client_ref == client_ref
    return store


def _alive(live: str | None, dead: str | None) -> bool:
    return live is not None and (dead is None or live > dead)


def _read_model_graph(store: Client360Store) -> dict[str, Any]:
    """The read model's nodes and edges in the committer's terms (merged refs by survivor).

    Merged refs are read from the merges table as well as the nodes: a ref created and merged
    in one change set has a merge row and no node row (its applied record names it only in
    its merge)."""
    t = store.tables
    with store.engine.connect() as conn:
        nodes = conn.execute(select(t.nodes)).all()
        edges = conn.execute(select(t.edges)).all()
        refs = {n.node_ref for n in nodes}
        refs.update(conn.execute(select(t.merges.c.merged_ref)).scalars().all())
        index = MergeIndex(t.merges)
        index.load(conn, refs)
    return {
        "active": {
            n.node_ref: (n.node_type, json.loads(n.shown))
            for n in nodes
            if _alive(n.live_stamp, n.dead_stamp) and index.root(n.node_ref) == n.node_ref
        },
        "merged": {ref: index.root(ref) for ref in refs if index.root(ref) != ref},
        "edges": {
            (e.from_ref, e.to_ref, e.relation): json.loads(e.attributes)
            for e in edges
            if _alive(e.live_stamp, e.dead_stamp)
        },
    }


def _canonical_graph(committer: ev.MemoryCommitter) -> dict[str, Any]:
    dump = committer.store.dump()
    nodes = {row[0]: row for row in dump["nodes"]}  # ref, type, status, merged_into, attrs

    def root(ref: str) -> str:
        while nodes[ref][2] == "MERGED":
            ref = nodes[ref][3]
        return ref

    return {
        "active": {r: (n[1], json.loads(n[4])) for r, n in nodes.items() if n[2] == "ACTIVE"},
        "merged": {r: root(r) for r, n in nodes.items() if n[2] == "MERGED"},
        "edges": {row[:3]: json.loads(row[4]) for row in dump["edges"] if row[3] == "ACTIVE"},
    }


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=committed(), data=st.data())
def test_any_order_batching_and_redelivery_gives_the_same_tables(history, data):
    projections, committer = history
    reordered = data.draw(st.permutations(projections))
    # Redeliver a random subset again, later, as a crash and restart would.
    again = data.draw(st.lists(st.sampled_from(projections), max_size=5)) if projections else []
    first = _run(projections, max(len(projections), 1))
    refresh_after = data.draw(st.sets(st.integers(min_value=0, max_value=30)))
    second = _run(
        reordered + again,
        data.draw(st.integers(min_value=1, max_value=7)),
        refresh_after,
        data.draw(st.integers(min_value=1, max_value=12)),
    )
    assert first.dump() == second.dump()
    assert first.dump()["snapshots"] or not any(p.client_refs for p in projections)
    # The read model's graph is the canonical graph: nothing refused shows, nothing is lost.
    assert _read_model_graph(second) == _canonical_graph(committer)
    first.engine.dispose()
    second.engine.dispose()


def test_a_ref_created_and_merged_in_one_change_shows_as_merged_in_any_batching():
    """What the property test found: one change set creates client:a, links a task to it and
    merges it into client:c. Its applied record names client:a only in its merge (a merged node
    gets no UPSERT_NODE), so the read model has a merge row for client:a and no node row; the
    merge still counts, for its interaction, its moved edge and the graph, in any batching."""
    committer = ev.MemoryCommitter()
    made = committer.commit(
        [
            ev.delta(
                "seed",
                ev.upsert_node("client:c", "CLIENT", stage="a"),
                ev.upsert_node("task:t1", "TASK", title="Call back"),
            ),
            ev.interaction("client:a", 0),
            ev.delta(
                "fold",
                ev.upsert_node("client:a", "CLIENT", name="b"),
                ev.upsert_edge("task:t1", "client:a", "LINKED", interest_level="a"),
                ev.merge_nodes("client:c", "client:a"),
                minute=1,
            ),
        ]
    )
    assert committer.refused == []
    canonical = _canonical_graph(committer)
    assert canonical["merged"] == {"client:a": "client:c"}
    assert canonical["active"]["client:c"] == ("CLIENT", {"name": "b", "stage": "a"})
    projections = [projection_of(item) for item in made]
    orders = [(projections, 1), (projections[::-1], 1), (projections, len(projections))]
    for order, batch in orders:
        store = _run(order, batch)
        assert _read_model_graph(store) == canonical, (batch, [p.event_id for p in order])
        assert store.client_refs() == ["client:c"]
        snapshot = store.snapshot("client:a")
        assert snapshot is not None and snapshot.client_ref == "client:c"
        assert [t.task_ref for t in snapshot.tasks] == ["task:t1"]
        assert [i.bundle_ref for i in snapshot.recent_interactions] == ["bundle:client:a:0"]
        store.engine.dispose()
