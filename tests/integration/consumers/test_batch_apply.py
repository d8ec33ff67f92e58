"""One batch, many facts: repeated keys, last writer wins inside the batch, clients mixed,
dirty marks only for what changed, and a ref known only by its merge. On SQLite and PostgreSQL
(no broker: the store only)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from consumers.client360 import store as store_module
from consumers.client360.facts import (
    AttributeFact,
    EdgeFact,
    InteractionFact,
    NodeFact,
    Projection,
    stamp,
    to_micros,
)
from consumers.client360.store import Client360Store
from tests.unit.consumers import events as ev
from tests.unit.consumers.conftest import projection_of

T0 = datetime(2026, 4, 18, 9, 30, tzinfo=UTC)
TOPIC = "it.interaction-bundle.accepted.v1"
MakeStore = Callable[..., Client360Store]


def _interaction(event: str, client: str, bundle: str, minute: int, summary: str) -> Projection:
    moment = T0 + timedelta(minutes=minute)
    fact = InteractionFact(client, bundle, "CALL", to_micros(moment), summary, stamp(moment, event))
    return Projection(event, "InteractionBundle", interactions=(fact,))


def _person(event: str, ref: str, minute: int, **attributes: str) -> Projection:
    moment = T0 + timedelta(minutes=minute)
    at = stamp(moment, event)
    return Projection(
        event,
        "ClientGraphDelta",
        nodes=(NodeFact(ref, "PERSON", True, at, event),),
        attributes=tuple(
            AttributeFact(ref, name, value, stamp(moment, event, i + 1), event)
            for i, (name, value) in enumerate(sorted(attributes.items()))
        ),
    )


def _link(event: str, person: str, client: str, minute: int) -> Projection:
    moment = T0 + timedelta(minutes=minute)
    edge = EdgeFact(person, client, "CONTACT_OF", True, (), stamp(moment, event), event)
    return Projection(event, "ClientGraphDelta", clients=(client,), edges=(edge,))


def _summaries(store: Client360Store) -> dict[tuple[str, str], str]:
    t = store.tables.interactions
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.client_ref, t.c.bundle_ref, t.c.summary))
        return {(client, bundle): summary for client, bundle, summary in rows}


def _dirty_refs(store: Client360Store) -> set[str]:
    graph, activity = store.dirty_refs()
    return graph | activity


def _without_offsets(store: Client360Store) -> dict[str, object]:
    return {name: rows for name, rows in store.dump().items() if name != "offsets"}


def test_repeated_keys_in_one_batch_keep_the_newest_in_any_order(
    client360_store: MakeStore,
) -> None:
    batch = [
        _interaction("art:1", "client:a", "bundle:1", 1, "first"),
        _interaction("art:3", "client:a", "bundle:1", 3, "third"),
        _interaction("art:2", "client:a", "bundle:1", 2, "second"),
        _person("art:p1", "person:p", 1, email="old@example.com", phone="1"),
        _person("art:p2", "person:p", 2, email="new@example.com"),
    ]
    stores = []
    for order in (batch, batch[::-1], [batch[1], batch[4], batch[0], batch[3], batch[2]]):
        store = client360_store()
        result = store.apply(order, {(TOPIC, 0): 5})
        assert (result.applied, result.duplicates) == (5, 0)
        store.refresh_all()
        stores.append(store)
    assert _summaries(stores[0]) == {("client:a", "bundle:1"): "third"}
    nodes = stores[0].tables.nodes
    with stores[0].engine.connect() as conn:
        shown = conn.execute(select(nodes.c.shown).where(nodes.c.node_ref == "person:p")).scalar()
    # The newer node fact states the whole set: the phone of the older one is gone.
    assert json.loads(str(shown)) == {"email": "new@example.com"}
    first = _without_offsets(stores[0])
    for other in stores[1:]:
        assert _without_offsets(other) == first


def test_a_redelivered_event_inside_its_own_batch_is_applied_once(
    client360_store: MakeStore,
) -> None:
    once = client360_store()
    once.apply([_interaction("art:1", "client:a", "bundle:1", 1, "only")], {(TOPIC, 0): 1})
    twice = client360_store()
    event = _interaction("art:1", "client:a", "bundle:1", 1, "only")
    result = twice.apply([event, event], {(TOPIC, 0): 2})
    assert (result.applied, result.duplicates) == (1, 1)
    again = twice.apply([event], {(TOPIC, 0): 3})
    assert (again.applied, again.duplicates, again.dirty) == (0, 1, 0)
    assert _without_offsets(once) == _without_offsets(twice)
    assert twice.offsets() == {(TOPIC, 0): 3}


def test_a_batch_mixing_clients_rebuilds_each_touched_client_once(
    client360_store: MakeStore,
) -> None:
    store = client360_store()
    batch = [
        _person("art:p", "person:p", 0, given_name="Ada", family_name="Lovelace"),
        _link("art:l", "person:p", "client:b", 0),
    ]
    for client in ("client:a", "client:b", "client:c"):
        for n in range(4):
            batch.append(_interaction(f"art:{client}:{n}", client, f"bundle:{client}:{n}", n, ""))
    store.apply(batch, {(TOPIC, 0): len(batch)})
    assert _dirty_refs(store) == {"client:a", "client:b", "client:c", "person:p"}
    # client:b's link changed its graph; client:a and client:c only have new interactions.
    assert store.dirty_refs() == ({"client:b", "person:p"}, {"client:a", "client:c"})
    result = store.refresh_all()
    assert result.rebuilt == 3  # one build per client, however many of its events the batch held
    assert sorted(result.changed_refs) == ["client:a", "client:b", "client:c"]
    for client in ("client:a", "client:b", "client:c"):
        snapshot = store.snapshot(client)
        assert snapshot is not None
        shown = sorted(i.bundle_ref for i in snapshot.recent_interactions)
        assert shown == [f"bundle:{client}:{n}" for n in range(4)]
    b = store.snapshot("client:b")
    assert b is not None and b.identity.display_name == "Ada Lovelace"
    assert store.refresh_all().rebuilt == 0  # nothing dirty is left


def test_a_refresh_takes_batches_by_their_refs_and_rebuilds_a_client_once(
    client360_store: MakeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five batches, each with new interactions of clients a and b, then one of c: a refresh
    budgeted at two refs takes the five (a client in several batches is rebuilt once), the
    next one the sixth; the marks are read two at a time."""
    monkeypatch.setattr(store_module, "MARKS_PAGE", 2)
    store = client360_store()
    for n in range(5):
        store.apply(
            [
                _interaction(f"art:a:{n}", "client:a", f"bundle:a:{n}", n, ""),
                _interaction(f"art:b:{n}", "client:b", f"bundle:b:{n}", n, ""),
            ],
            {},
        )
    store.apply([_interaction("art:c", "client:c", "bundle:c", 0, "")], {})
    first = store.refresh(max_refs=2)
    assert (first.handled, first.rebuilt) == (5, 2)
    assert store.dirty_refs() == (set(), {"client:c"})
    second = store.refresh(max_refs=2)
    assert (second.handled, second.changed_refs) == (1, ("client:c",))
    a = store.snapshot("client:a")
    assert a is not None and len(a.recent_interactions) == 5
    # The first batch is always taken, whatever it names; ``limit`` still caps the batches.
    store.apply(
        [_interaction(f"art:d:{n}", f"client:d{n}", "bundle:d", 0, "") for n in range(3)], {}
    )
    store.apply([_interaction("art:e", "client:e", "bundle:e", 0, "")], {})
    assert store.refresh(max_refs=1).handled == 1
    assert store.refresh(limit=1, max_refs=10).handled == 1
    assert store.dirty_count() == 0


def test_a_node_fact_older_than_the_stored_node_leaves_no_dirty_mark(
    client360_store: MakeStore,
) -> None:
    store = client360_store()
    store.apply(
        [
            _person("art:p2", "person:p", 2, given_name="New"),
            _link("art:l", "person:p", "client:a", 0),
        ],
        {(TOPIC, 0): 2},
    )
    store.refresh_all()
    before = store.dump()["nodes"]
    # An older statement of the same node arrives late: it changes no row, so no snapshot.
    result = store.apply([_person("art:p1", "person:p", 1, given_name="Old")], {(TOPIC, 0): 3})
    assert (result.applied, result.dirty) == (1, 0)
    assert _dirty_refs(store) == set()
    assert store.dump()["nodes"] == before
    # A newer one changes the row and marks it; the refresh reaches the linked client.
    store.apply([_person("art:p3", "person:p", 3, given_name="Newer")], {(TOPIC, 0): 4})
    assert _dirty_refs(store) == {"person:p"}
    refreshed = store.refresh_all()
    assert refreshed.changed_refs == ("client:a",)
    snapshot = store.snapshot("client:a")
    assert snapshot is not None and snapshot.identity.display_name == "Newer"


def test_a_ref_created_and_merged_in_one_change_reads_as_its_survivor_in_any_batching(
    client360_store: MakeStore,
) -> None:
    # The committer's applied record of "fold" names client:a only in its merge (a merged
    # node gets no UPSERT_NODE): the read model has a merge row for it and no node row.
    committer = ev.MemoryCommitter()
    made = committer.commit(
        [
            ev.delta(
                "seed", ev.upsert_node("client:c", "CLIENT"), ev.upsert_node("task:t1", "TASK")
            ),
            ev.interaction("client:a", 0),
            ev.delta(
                "fold",
                ev.upsert_node("client:a", "CLIENT", name="b"),
                ev.upsert_edge("task:t1", "client:a", "LINKED"),
                ev.merge_nodes("client:c", "client:a"),
                minute=1,
            ),
        ]
    )
    assert committer.refused == []
    projections = [projection_of(item) for item in made]
    whole = client360_store()
    whole.apply(projections, {(TOPIC, 0): len(projections)})
    whole.refresh_all()
    single = client360_store()
    for offset, projection in enumerate(projections[::-1]):
        single.apply([projection], {(TOPIC, 0): offset + 1})
        single.refresh_all()
    assert _without_offsets(single) == _without_offsets(whole)
    tables = whole.dump()
    assert [row[:2] for row in tables["merges"]] == [("client:a", "client:c")]
    assert [row[0] for row in tables["nodes"]] == ["client:c", "task:t1"]
    for store in (whole, single):
        assert store.client_refs() == ["client:c"]
        snapshot = store.snapshot("client:a")
        assert snapshot is not None and snapshot.client_ref == "client:c"
        assert snapshot.identity.display_name == "b"  # the committer folded client:a's name
        assert [t.task_ref for t in snapshot.tasks] == ["task:t1"]
        assert [i.bundle_ref for i in snapshot.recent_interactions] == ["bundle:client:a:0"]


def _sections(store: Client360Store) -> dict[str, tuple[object, ...]]:
    return {row[0]: row for row in store.dump()["sections"]}


def test_a_client_with_only_new_activity_is_finished_from_its_stored_sections(
    client360_store: MakeStore,
) -> None:
    store = client360_store()
    store.apply(
        [
            _person("art:p", "person:p", 0, given_name="Ada"),
            _link("art:l", "person:p", "client:a", 0),
        ],
        {(TOPIC, 0): 2},
    )
    store.refresh_all()
    assert set(_sections(store)) == {"client:a"}
    # Tamper with the stored identity: a refresh that reads the graph again would undo it.
    t = store.tables.sections
    stored = {"display_name": "Stored", "emails": [], "phones": [], "entity_refs": []}
    with store.engine.begin() as conn:
        conn.execute(t.update().values(identity=json.dumps(stored)))
    store.apply([_interaction("art:i", "client:a", "bundle:1", 1, "hi")], {(TOPIC, 0): 3})
    assert store.dirty_refs() == (set(), {"client:a"})
    assert store.refresh_all().rebuilt == 1
    snapshot = store.snapshot("client:a")
    assert snapshot is not None and snapshot.identity.display_name == "Stored"
    assert [i.bundle_ref for i in snapshot.recent_interactions] == ["bundle:1"]


def test_a_graph_change_after_the_sections_were_stored_rebuilds_from_the_new_graph(
    client360_store: MakeStore,
) -> None:
    events = [
        _person("art:p1", "person:p", 0, given_name="Ada"),
        _link("art:l", "person:p", "client:a", 0),
        _interaction("art:i1", "client:a", "bundle:1", 1, "first"),
        _person("art:p2", "person:p", 2, given_name="Grace"),  # a neighbour's change
        _interaction("art:i2", "client:a", "bundle:2", 3, "second"),  # activity only
    ]
    stepwise = client360_store()
    for offset, projection in enumerate(events):
        stepwise.apply([projection], {(TOPIC, 0): offset + 1})
        stepwise.refresh_all()
    snapshot = stepwise.snapshot("client:a")
    assert snapshot is not None and snapshot.identity.display_name == "Grace"
    assert [i.bundle_ref for i in snapshot.recent_interactions] == ["bundle:2", "bundle:1"]
    whole = client360_store()
    whole.apply(events, {(TOPIC, 0): len(events)})
    whole.refresh_all()
    # The same snapshot bytes and the same stored sections as one refresh of everything.
    assert _without_offsets(stepwise) == _without_offsets(whole)


def test_a_merge_moves_the_merged_clients_activity_and_drops_its_sections(
    client360_store: MakeStore,
) -> None:
    committer = ev.MemoryCommitter()
    made = committer.commit(
        [
            ev.delta("seed", ev.upsert_node("client:a", "CLIENT", name="A")),
            ev.delta("seed-b", ev.upsert_node("client:b", "CLIENT", name="B")),
            ev.interaction("client:a", 0),
            ev.interaction("client:b", 1),
            ev.delta("fold", ev.merge_nodes("client:b", "client:a"), minute=2),
            ev.interaction("client:a", 3),  # reaches client:a's survivor through activity only
        ]
    )
    assert committer.refused == []
    projections = [projection_of(item) for item in made]
    stepwise = client360_store()
    for offset, projection in enumerate(projections):
        stepwise.apply([projection], {(TOPIC, 0): offset + 1})
        stepwise.refresh_all()
        if offset == 3:  # both clients built, before the merge
            assert set(_sections(stepwise)) == {"client:a", "client:b"}
    assert set(_sections(stepwise)) == {"client:b"}
    assert stepwise.client_refs() == ["client:b"]
    snapshot = stepwise.snapshot("client:a")
    assert snapshot is not None and snapshot.client_ref == "client:b"
    assert len(snapshot.recent_interactions) == 3
    whole = client360_store()
    whole.apply(projections, {(TOPIC, 0): len(projections)})
    whole.refresh_all()
    assert _without_offsets(stepwise) == _without_offsets(whole)


def test_a_dirty_mark_written_as_a_plain_array_counts_as_graph_refs(
    client360_store: MakeStore,
) -> None:
    store = client360_store()
    store.apply([_person("art:p", "person:p", 0, given_name="Ada")], {(TOPIC, 0): 1})
    store.apply([_link("art:l", "person:p", "client:a", 0)], {(TOPIC, 0): 2})
    with store.engine.begin() as conn:  # the marks as an older version wrote them
        conn.execute(store.tables.dirty.delete())
        conn.execute(store.tables.dirty.insert().values(refs='["person:p"]'))
    assert store.dirty_refs() == ({"person:p"}, set())
    assert store.refresh_all().rebuilt == 1
    snapshot = store.snapshot("client:a")
    assert snapshot is not None and snapshot.identity.display_name == "Ada"
