"""Fetched records the worker does not route go back to the consumer (runtime/rewind.py).

The takeover stall: a worker that took over a killed one's partitions was handed their first
records while they were still paused (aiokafka hands over every partition's records when asked
for an empty set, and faust's active set is briefly empty during the recovery of a takeover);
faust's fetch step dropped them and nothing sought back, since nobody had committed those
partitions yet. These tests drive the adapter's fetch step (``_BatchConsumer.getmany``) and
the bookkeeping under it with stand-ins for faust's consumer and aiokafka's; the real aiokafka
side is tested against a broker in tests/integration/gateway/test_rewind_positions.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any, NamedTuple

from velocity_stream.gateway.faust_app import _BatchConsumer
from velocity_stream.gateway.runtime.rewind import (
    FetchedRecords,
    Unrouted,
    positions,
    rewind_positions,
    routable,
)


class TP(NamedTuple):  # faust's TP has this shape
    topic: str
    partition: int


class Record(NamedTuple):  # what the fetch step reads of aiokafka's ConsumerRecord
    offset: int


DECISIONS_0 = TP("decisions", 0)
DECISIONS_3 = TP("decisions", 3)
PROPOSALS_3 = TP("proposals", 3)


def fetch(*partitions: tuple[TP, range]) -> list[tuple[TP, Record]]:
    return [(tp, Record(offset)) for tp, offsets in partitions for offset in offsets]


def route(records: Iterable[tuple[TP, Record]], **checks: Any) -> tuple[list[Any], Unrouted]:
    unrouted = Unrouted()
    checks.setdefault("flowing", lambda: True)
    checks.setdefault("active", lambda tp: True)
    routed = list(routable(records, unrouted, offset_of=lambda r: r.offset, **checks))
    return [(tp, r.offset) for tp, r in routed], unrouted


# --- which records are routed, which go back ----------------------------------------------------


def test_records_of_a_paused_partition_go_back_from_their_first_offset():
    routed, unrouted = route(
        fetch((DECISIONS_0, range(10, 12)), (DECISIONS_3, range(0, 3))),
        active=lambda tp: tp != DECISIONS_3,
    )
    assert routed == [(DECISIONS_0, 10), (DECISIONS_0, 11)]
    assert unrouted.offsets == {DECISIONS_3: 0}


def test_once_a_partition_is_held_back_its_later_records_are_too():
    # Its partition resumed while the first record was being refused: routing the second now
    # would route it before the first, which comes again after the rewind.
    resumed = iter([False, True, True])
    routed, unrouted = route(fetch((DECISIONS_3, range(5, 8))), active=lambda tp: next(resumed))
    assert routed == []
    assert unrouted.offsets == {DECISIONS_3: 5}


def test_nothing_is_routed_after_the_flow_stops_and_each_partition_goes_back():
    flow = iter([True, True, False, False, False])
    routed, unrouted = route(
        fetch((DECISIONS_0, range(0, 3)), (PROPOSALS_3, range(7, 9))),
        flowing=lambda: next(flow),
    )
    assert routed == [(DECISIONS_0, 0), (DECISIONS_0, 1)]
    assert unrouted.offsets == {DECISIONS_0: 2, PROPOSALS_3: 7}


def test_a_fetch_routed_whole_leaves_nothing_to_rewind():
    routed, unrouted = route(fetch((DECISIONS_0, range(3))))
    assert len(routed) == 3
    assert not unrouted


# --- the rewind itself --------------------------------------------------------------------------


class PartitionState:
    def __init__(self, position: int | None) -> None:
        self._position = position


class Assignment:
    """aiokafka's Assignment as the rewind sees it: active, and each partition's position."""

    def __init__(self, positions: dict[TP, int | None], active: bool = True) -> None:
        self.states = {tp: PartitionState(p) for tp, p in positions.items()}
        self.active = active

    def state_value(self, tp: TP) -> PartitionState | None:
        return self.states.get(tp)


class StandInConsumer:
    """aiokafka's consumer as the rewind sees it: the current assignment, and seek()."""

    def __init__(self, assignment: Assignment | None) -> None:
        self._subscription = SimpleNamespace(
            subscription=None if assignment is None else SimpleNamespace(assignment=assignment)
        )
        self.sought: list[tuple[TP, int]] = []

    def seek(self, partition: TP, offset: int) -> None:
        self.sought.append((partition, offset))


def handed_over(assignment: Assignment | None) -> FetchedRecords[TP, Record]:
    """A fetch of 3 records on each of DECISIONS_3 and PROPOSALS_3, as aiokafka left them."""
    records = {tp: [Record(o) for o in range(3)] for tp in (DECISIONS_3, PROPOSALS_3)}
    return FetchedRecords(records, assignment, positions(assignment, records))


def test_the_partitions_handed_over_are_rewound_to_the_first_unrouted_record():
    assignment = Assignment({DECISIONS_3: 3, PROPOSALS_3: 3})
    consumer = StandInConsumer(assignment)
    fetched = handed_over(assignment)
    assert rewind_positions(consumer, fetched, {DECISIONS_3: 0, PROPOSALS_3: 1}) == {
        DECISIONS_3: 0,
        PROPOSALS_3: 1,
    }
    assert consumer.sought == [(DECISIONS_3, 0), (PROPOSALS_3, 1)]


def test_a_partition_sought_since_the_fetch_keeps_that_seek():
    # faust seeks the ingress partitions to their committed offsets when recovery ends.
    assignment = Assignment({DECISIONS_3: 3, PROPOSALS_3: 3})
    fetched = handed_over(assignment)
    assignment.states[PROPOSALS_3]._position = 1
    consumer = StandInConsumer(assignment)
    assert rewind_positions(consumer, fetched, {DECISIONS_3: 0, PROPOSALS_3: 0}) == {DECISIONS_3: 0}
    assert consumer.sought == [(DECISIONS_3, 0)]


def test_nothing_is_rewound_after_a_new_assignment():
    # A new assignment starts every partition from its committed offset by itself.
    fetched = handed_over(Assignment({DECISIONS_3: 3, PROPOSALS_3: 3}))
    consumer = StandInConsumer(Assignment({DECISIONS_3: 3, PROPOSALS_3: 3}))
    assert rewind_positions(consumer, fetched, {DECISIONS_3: 0}) == {}
    assert consumer.sought == []


def test_nothing_is_rewound_once_the_assignment_is_no_longer_active():
    assignment = Assignment({DECISIONS_3: 3, PROPOSALS_3: 3}, active=False)
    consumer = StandInConsumer(assignment)
    assert rewind_positions(consumer, handed_over(assignment), {DECISIONS_3: 0}) == {}
    assert consumer.sought == []


def test_nothing_is_rewound_without_a_subscription_or_a_known_assignment():
    assignment = Assignment({DECISIONS_3: 3, PROPOSALS_3: 3})
    assert rewind_positions(StandInConsumer(None), handed_over(assignment), {DECISIONS_3: 0}) == {}
    assert rewind_positions(StandInConsumer(assignment), handed_over(None), {DECISIONS_3: 0}) == {}


# --- the adapter's fetch step -------------------------------------------------------------------


class StandInThread:
    def __init__(self) -> None:
        self.rewinds: list[tuple[object | None, dict[TP, int]]] = []

    async def rewind(
        self, fetched: FetchedRecords[TP, Any], offsets: dict[TP, int]
    ) -> dict[TP, int]:
        self.rewinds.append((fetched.assignment, dict(offsets)))
        return dict(offsets)


def stand_in_faust_consumer(
    records: dict[TP, list[Record]] | None, active: set[TP], *, flow_active: bool = True
) -> SimpleNamespace:
    """The attributes of faust's consumer that the fetch step reads, as faust sets them."""

    async def wait_next_records(timeout: float) -> tuple[Any, set[TP]]:
        return records, active

    class RoundRobin:
        @staticmethod
        def iterate(fetched: dict[TP, list[Record]]) -> Iterable[tuple[TP, Record]]:
            return [(tp, record) for tp, batch in fetched.items() for record in batch]

    return SimpleNamespace(
        _wait_next_records=wait_next_records,
        should_stop=False,
        app=SimpleNamespace(
            consumer_generation_id=7,
            monitor=SimpleNamespace(track_tp_end_offset=lambda tp, end: None),
        ),
        flow_active=flow_active,
        _buffered_partitions=set(),
        scheduler=RoundRobin(),
        _to_message=lambda tp, record: (tp, record.offset),
        highwater=lambda tp: None,
        _thread=StandInThread(),
    )


def drain_one_fetch(consumer: SimpleNamespace) -> list[Any]:
    async def run() -> list[Any]:
        return [message async for _, message in _BatchConsumer.getmany(consumer, 1.0)]

    return asyncio.run(run())


def test_a_takeover_fetch_of_still_paused_partitions_is_given_back_not_dropped():
    # What the stalled worker was handed: the killed worker's partitions, not yet resumed
    # (recovery still running), nothing committed on them.
    assignment = object()
    records = FetchedRecords(
        {
            DECISIONS_0: [Record(10)],
            DECISIONS_3: [Record(0), Record(1)],
            PROPOSALS_3: [Record(0)],
        },
        assignment,
    )
    consumer = stand_in_faust_consumer(records, active={DECISIONS_0})
    assert drain_one_fetch(consumer) == [(DECISIONS_0, 10)]
    assert consumer._thread.rewinds == [(assignment, {DECISIONS_3: 0, PROPOSALS_3: 0})]


def test_a_fetch_that_returns_after_the_flow_stopped_is_given_back_whole():
    assignment = object()
    records = FetchedRecords({DECISIONS_0: [Record(4), Record(5)]}, assignment)
    consumer = stand_in_faust_consumer(records, active={DECISIONS_0}, flow_active=False)
    assert drain_one_fetch(consumer) == []
    assert consumer._thread.rewinds == [(assignment, {DECISIONS_0: 4})]


def test_a_fetch_routed_whole_asks_for_no_rewind():
    records = FetchedRecords({DECISIONS_0: [Record(4)], DECISIONS_3: [Record(0)]}, object())
    consumer = stand_in_faust_consumer(records, active={DECISIONS_0, DECISIONS_3})
    assert drain_one_fetch(consumer) == [(DECISIONS_0, 4), (DECISIONS_3, 0)]
    assert consumer._thread.rewinds == []
