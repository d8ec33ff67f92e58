"""Immutable batches and the parent rule: rows and manifests belong to a known batch."""

from __future__ import annotations

from velocity_stream.contracts import example
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import RouteKind
from velocity_stream.protocol import headers as h


def _row(gw, number, batch="batch:2026-04-18-hubspot-01"):
    return gw.variant(
        example("ImportRowRecord"),
        batch_id=batch,
        row_number=number,
        row_id=f"{batch}/row/{number}",
        artifact_id=f"art:row:{batch}:{number}",
    )


def _batch(gw, batch_id="batch:2026-04-18-hubspot-01", **changes):
    return gw.variant(
        example("RawImportBatch"), batch_id=batch_id, artifact_id=f"art:{batch_id}", **changes
    )


def test_identical_batch_again_is_a_duplicate_and_not_re_emitted(gw):
    first = gw.send(_batch(gw))
    again = gw.send(_batch(gw))
    assert first.route is RouteKind.ACCEPTED
    assert again.route is RouteKind.DUPLICATE
    assert again.outputs == ()
    assert len(gw.topic(gw.accepted("RawImportBatch"))) == 1


def test_same_content_with_a_new_artifact_id_and_time_is_still_a_duplicate(gw):
    batch = _batch(gw)
    gw.send(batch)
    resent = gw.variant(
        batch, artifact_id="art:resent", created_at=batch.created_at.replace(year=2027)
    )
    assert gw.send(resent).route is RouteKind.DUPLICATE


def test_batch_with_same_id_and_other_content_is_dead_lettered_as_mutated(gw):
    gw.send(_batch(gw))
    outcome = gw.send(_batch(gw, row_count=249))
    assert outcome.route is RouteKind.DEAD_LETTER
    assert outcome.reason is ReasonCode.STATE_BATCH_MUTATED
    assert gw.header(outcome.outputs[0], h.DLQ_REASON) == b"state.import_batch.mutated"


def test_rows_of_a_known_batch_within_its_row_count_are_accepted(gw):
    gw.send(_batch(gw))
    outcomes = gw.send_all([_row(gw, 1), _row(gw, 248)])
    assert [o.route for o in outcomes] == [RouteKind.ACCEPTED, RouteKind.ACCEPTED]


def test_row_beyond_row_count_is_dead_lettered_as_out_of_range(gw):
    gw.send(_batch(gw))
    outcome = gw.send(_row(gw, 249))
    assert outcome.reason is ReasonCode.STATE_ROW_OUT_OF_RANGE
    assert gw.header(outcome.outputs[0], h.DLQ_FIELD) == b"row_number"


def test_early_rows_are_held_then_released_by_their_batch(gw):
    rows = [_row(gw, 3), _row(gw, 4)]
    held = gw.send_all(rows)
    assert [o.route for o in held] == [RouteKind.HELD, RouteKind.HELD]
    assert all(o.outputs == () for o in held)

    batch = gw.send(_batch(gw))
    assert batch.route is RouteKind.ACCEPTED
    assert [r.route for r in batch.released] == [RouteKind.ACCEPTED, RouteKind.ACCEPTED]
    topics = [out.topic for out in batch.outputs]
    assert topics == [gw.accepted("RawImportBatch")] + [gw.accepted("ImportRowRecord")] * 2
    released_ids = [gw.header(out, h.ARTIFACT_ID) for out in batch.outputs[1:]]
    assert released_ids == [r.artifact_id.encode() for r in rows]


def test_early_row_out_of_range_is_dead_lettered_on_release(gw):
    gw.send(_row(gw, 999))
    batch = gw.send(_batch(gw))
    [released] = batch.released
    assert released.reason is ReasonCode.STATE_ROW_OUT_OF_RANGE
    assert batch.outputs[-1].topic == gw.dead_letters


def test_early_manifest_is_held_until_its_batch(gw):
    manifest = example("ImportMappingManifest")
    assert gw.send(manifest).route is RouteKind.HELD
    batch = gw.send(_batch(gw))
    assert [r.artifact_id for r in batch.released] == [manifest.artifact_id]


def test_rows_whose_batch_never_arrives_are_dead_lettered_after_the_hold(gw, clock):
    row = gw.message(_row(gw, 3))
    gw.runner.run([row])
    assert gw.runner.expire(clock.now_ms + 1000) == []  # not yet

    [expired] = gw.expire_after_hold()
    assert expired.route is RouteKind.DEAD_LETTER
    assert expired.reason is ReasonCode.STATE_ROW_UNKNOWN_BATCH
    [out] = expired.outputs
    assert out.value == row.value and out.key == row.key
    assert gw.header(out, h.DLQ_SOURCE_OFFSET) == str(row.offset).encode()
    # time is the deadline kept in state, not the wall clock: a repeated sweep matches
    assert int(gw.header(out, h.DLQ_TIME)) == clock.now_ms - 1
    assert gw.runner.expire(clock.now_ms + 10**9) == []  # gone from the table
    assert not any(state.held for state in gw.runner._states.values())


def test_a_late_batch_after_expiry_is_accepted_and_releases_nothing(gw):
    gw.send(_row(gw, 3))
    gw.expire_after_hold()
    batch = gw.send(_batch(gw))
    assert batch.route is RouteKind.ACCEPTED and batch.released == ()


def test_batches_on_different_partitions_each_find_their_rows(gw):
    batches = [f"batch:{n}" for n in range(12)]
    partitions = {gw.message(_batch(gw, b)).partition for b in batches}
    assert len(partitions) > 1  # the keys really spread over partitions
    for b in batches:
        gw.send(_row(gw, 1, b))
    outcomes = [gw.send(_batch(gw, b)) for b in batches]
    assert all(len(o.released) == 1 for o in outcomes)
    assert all(o.released[0].route is RouteKind.ACCEPTED for o in outcomes)


def test_redelivered_batch_repeats_its_outputs_including_released_rows(gw):
    gw.send(_row(gw, 3))
    message = gw.message(_batch(gw))
    first = gw.runner.run([message])[0]
    again = gw.runner.replay(message)  # same coordinates: a redelivery after a crash
    assert again.route is RouteKind.ACCEPTED
    assert again.outputs == first.outputs


def test_redelivered_held_row_is_released_once(gw):
    row = gw.message(_row(gw, 3))
    gw.runner.run([row])
    assert gw.runner.replay(row).route is RouteKind.HELD
    batch = gw.send(_batch(gw))
    assert len(batch.released) == 1


def test_released_rows_are_kept_until_their_deadline_then_forgotten(gw):
    gw.send(_row(gw, 3))
    gw.send(_batch(gw))
    assert any(state.held for state in gw.runner._states.values())  # kept for redelivery
    assert gw.expire_after_hold() == []  # no output: they were released
    assert not any(state.held for state in gw.runner._states.values())


def test_expiry_sweep_can_be_limited_to_some_partitions(gw, pipeline, clock):
    row = gw.message(_row(gw, 3))
    gw.runner.run([row])
    state = gw.runner.state(row.partition)
    later = clock.now_ms + 10**9
    others = [p for p in range(6) if p != row.partition]
    assert pipeline.expire(later, state, partitions=others) == []
    [expired] = pipeline.expire(later, state, partitions=[row.partition])
    assert expired.reason is ReasonCode.STATE_ROW_UNKNOWN_BATCH


def test_a_corrupt_held_record_does_not_stop_the_sweep(gw, pipeline, clock):
    gw.send(_row(gw, 3))
    row_b = gw.message(_row(gw, 3, batch="batch:other"))
    gw.runner.run([row_b])
    state = gw.runner.state(row_b.partition)
    broken = next(key for key in state.held if key.startswith("e|") and "batch:other" in key)
    state.held[broken] = b"\x01garbage"
    outcomes = [o for s in gw.runner._states.values() for o in pipeline.expire(10**15, s)]
    assert [o.reason for o in outcomes] == [ReasonCode.STATE_ROW_UNKNOWN_BATCH]
