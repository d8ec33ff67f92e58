"""A hold restored from a changelog that lags the outputs must not expire before its releaser.

The bad ordering, as seen after a ``kill -9``: a batch released its early row (both accepted,
outputs stored), the release never reached the changelog and the batch's offset was not
committed; the restarted worker took longer than the hold to rejoin, restored the stale hold,
and swept it into a dead letter before it read the batch again. The expiry gate (catchup.py)
keeps the sweep closed until the worker has read its backlog as of assignment.
"""

from __future__ import annotations

from velocity_stream.contracts import example
from velocity_stream.gateway import RouteKind
from velocity_stream.gateway.catchup import CatchUp

BATCH = "batch:restart-01"


def _row(gw):
    return gw.variant(
        example("ImportRowRecord"),
        batch_id=BATCH,
        row_number=1,
        row_id=f"{BATCH}/row/1",
        artifact_id="art:row:restart:1",
    )


def _batch(gw):
    return gw.variant(example("RawImportBatch"), batch_id=BATCH, artifact_id="art:restart-batch")


def _crash_after_release(gw):
    """Row held, state saved, batch releases it, crash before the release is saved.

    Returns the row's partition, the batch's record and the outputs stored before the crash.
    """
    row = gw.message(_row(gw))
    batch = gw.message(_batch(gw))
    assert row.partition == batch.partition  # co-partitioned by batch id
    assert gw.runner.run([row])[0].route is RouteKind.HELD
    # What the changelog holds at the crash: the hold, not what the batch changed.
    state = gw.runner.state(row.partition)
    saved = {name: dict(table) for name, table in state.tables().items()}
    [released] = gw.runner.run([batch])[0].released
    assert released.route is RouteKind.ACCEPTED
    stored = {name: list(outputs) for name, outputs in gw.runner.produced.items()}
    for name, table in saved.items():  # kill -9: the restarted worker restores the changelog
        live = getattr(state, name)
        live.clear()
        live.update(table)
    return row, batch, stored


def _restart(gw, row, batch) -> CatchUp:
    """The restarted worker's gate: every ingress partition assigned, watermarks fetched, the
    row's offset committed (it was held, so routed and acked) and the batch's not."""
    gate = gw.runner.catch_up = CatchUp()
    partitions = range(gw.catalog.gateway.partitions)
    owned = [(topic, p) for topic in gw.pipeline.ingress_topics() for p in partitions]
    gate.assign(owned)
    for topic, p in owned:
        committed = gw.runner.high_watermark(topic, p)
        if (topic, p) == (batch.topic, batch.partition):
            committed = batch.offset
        gate.observe((topic, p), gw.runner.high_watermark(topic, p), committed)
    assert gate.behind() == [(batch.topic, batch.partition)]
    return gate


def test_a_stale_hold_waits_for_its_releaser_to_be_read_again(gw, clock):
    row, batch, stored = _crash_after_release(gw)
    gate = _restart(gw, row, batch)
    clock.advance(11_000 + gw.catalog.gateway.decision_hold_ms)  # the slow rejoin

    assert gw.runner.expire(clock.now_ms) == []  # gated: the batch is not read again yet
    again = gw.runner.replay(batch)  # redelivered: releases the row again, same bytes
    assert again.route is RouteKind.ACCEPTED
    assert [r.route for r in again.released] == [RouteKind.ACCEPTED]
    assert gate.caught_up()
    assert gw.runner.expire(clock.now_ms + 10**9) == []  # nothing left to dead-letter

    assert gw.topic(gw.dead_letters) == []
    assert not any(o.route is RouteKind.DEAD_LETTER for o in gw.runner.outcomes)
    # The repeat is byte for byte what was stored before the crash.
    rows = gw.accepted("ImportRowRecord")
    assert [o for o in again.outputs if o.topic == rows] == stored[rows]


def test_without_the_gate_the_same_ordering_gives_contradictory_outcomes(gw, clock):
    # The bug this guards against: an open gate sweeps the stale hold into a dead letter.
    row, _, _ = _crash_after_release(gw)
    clock.advance(11_000 + gw.catalog.gateway.decision_hold_ms)
    [expired] = gw.runner.expire(clock.now_ms)
    assert expired.route is RouteKind.DEAD_LETTER and expired.source == row
    assert len(gw.topic(gw.accepted("ImportRowRecord"))) == 1  # and accepted before the crash


def test_caught_up_holds_still_expire_after_the_hold(gw, clock):
    row = gw.message(_row(gw))
    gate = gw.runner.catch_up = CatchUp()
    gate.assign([(row.topic, row.partition)])
    gate.observe((row.topic, row.partition), row.offset + 1, 0)
    assert gw.runner.expire(clock.advance(10**6)) == []  # behind: the row is not read yet
    gw.runner.run([row])
    assert gate.caught_up()
    [expired] = gw.expire_after_hold()
    assert expired.route is RouteKind.DEAD_LETTER


def test_the_target_is_the_first_watermark_seen_after_assignment():
    gate = CatchUp()
    tp = ("t", 0)
    gate.observe(tp, 5, None)  # not assigned: ignored
    assert gate.caught_up()
    gate.assign([tp])
    assert not gate.caught_up()  # no watermark seen yet
    gate.observe(tp, None, 3)
    assert gate.behind() == [tp]
    gate.observe(tp, 10, 3)
    gate.observe(tp, 50, 3)  # a busy partition moves on; the backlog as of assignment counts
    gate.read({tp: 9})
    assert not gate.caught_up()
    gate.read({tp: 10})
    assert gate.caught_up()
    gate.assign([tp])  # a new assignment: wait for a new watermark
    assert not gate.caught_up()
    gate.observe(tp, 10, None)
    assert gate.caught_up()
    gate.revoke([tp])
    assert gate.caught_up() and not gate.tracks(tp)


def test_an_empty_partition_is_caught_up_at_its_first_watermark():
    gate = CatchUp()
    gate.assign([("t", 0), ("t", 1)])
    gate.observe(("t", 0), 0, None)
    gate.observe(("t", 1), 7, 7)  # everything committed before the assignment
    assert gate.caught_up()
