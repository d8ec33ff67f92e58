"""Fetched records the worker does not route go back to the consumer (runtime/rewind.py).

The takeover stall: a worker that took over a killed one's partitions was handed their first
records while they were still paused (aiokafka hands over every partition's records when asked
for an empty set, and faust's active set is briefly empty during the recovery of a takeover);
faust's fetch step dropped them and nothing sought back, since nobody had committed those
partitions yet. These tests drive the adapter's fetch step (``_BatchConsumer._step``) and
the bookkeeping under it with stand-ins for faust's consumer and aiokafka's; the real aiokafka
side is tested against a broker in tests/integration/gateway/test_rewind_positions.py.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import partial
from types import SimpleNamespace
from typing import Any, NamedTuple

from velocity_stream.gateway.faust_app import _BatchConsumer
from velocity_stream.gateway.runtime.rewind import FetchedRecords, positions, rewind_positions


class TP(NamedTuple):  # faust's TP has this shape
    topic: str
    partition: int


class Record(NamedTuple):  # what the fetch step reads of aiokafka's ConsumerRecord
    offset: int
    topic: str = "decisions"
    partition: int = 0
    key: bytes | None = b"k"
    value: bytes | None = b"v"
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp: int = 0


DECISIONS_0 = TP("decisions", 0)
DECISIONS_3 = TP("decisions", 3)
PROPOSALS_3 = TP("proposals", 3)


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

GATEWAY_TOPICS = frozenset({"decisions", "proposals"})


class StandInThread:
    def __init__(self) -> None:
        self.rewinds: list[tuple[object | None, dict[TP, int]]] = []

    async def rewind(
        self, fetched: FetchedRecords[TP, Any], offsets: dict[TP, int]
    ) -> dict[TP, int]:
        self.rewinds.append((fetched.assignment, dict(offsets)))
        return dict(offsets)


def stand_in_faust_consumer(
    records: dict[TP, list[Record]] | None,
    active: set[TP],
    *,
    flow: Callable[[], bool] = lambda: True,
) -> SimpleNamespace:
    """The attributes of faust's consumer that the fetch step reads, as faust sets them, and
    the step's own methods bound to it. ``flow`` answers each time the step asks."""

    async def wait_next_records(timeout: float) -> tuple[Any, set[TP]]:
        return records, active

    async def add_gap(tp: TP, offset_from: int, offset_to: int) -> None:
        consumer.gaps.append((tp, offset_from, offset_to))

    class Flow(SimpleNamespace):
        @property
        def flow_active(self) -> bool:
            return flow()

    consumer = Flow(
        _wait_next_records=wait_next_records,
        should_stop=False,
        app=SimpleNamespace(
            consumer_generation_id=7,
            monitor=SimpleNamespace(track_tp_end_offset=lambda tp, end: None),
            topics=SimpleNamespace(acks_enabled_for=lambda topic: True),
        ),
        _buffered_partitions=set(),
        _read_offset=defaultdict(lambda: None),
        _add_gap=add_gap,
        highwater=lambda tp: None,
        _thread=StandInThread(),
        gaps=[],
    )
    consumer._take = partial(_BatchConsumer._take, consumer)
    consumer._dispatch = partial(_BatchConsumer._dispatch, consumer)
    return consumer


def step(consumer: SimpleNamespace) -> list[tuple[str, int, int]]:
    """One fetch step; the coordinates of the records it hands to the sink, in order."""
    fetched = asyncio.run(_BatchConsumer._step(consumer, GATEWAY_TOPICS))  # type: ignore[arg-type]
    return [] if fetched is None else [m.coordinates for m in fetched.inbound]


def on(tp: TP, *offsets: int) -> list[Record]:
    return [Record(o, tp.topic, tp.partition) for o in offsets]


def answers(*values: bool) -> Callable[[], bool]:
    """A flow that answers ``values`` in turn, then the last one for ever."""
    it: Iterator[bool] = iter(values)
    last = [values[-1]]

    def flow() -> bool:
        last[0] = next(it, last[0])
        return last[0]

    return flow


def test_a_takeover_fetch_of_still_paused_partitions_is_given_back_not_dropped():
    # What the stalled worker was handed: the killed worker's partitions, not yet resumed
    # (recovery still running), nothing committed on them.
    assignment = object()
    records = FetchedRecords(
        {
            DECISIONS_0: on(DECISIONS_0, 10),
            DECISIONS_3: on(DECISIONS_3, 0, 1),
            PROPOSALS_3: on(PROPOSALS_3, 0),
        },
        assignment,
    )
    consumer = stand_in_faust_consumer(records, active={DECISIONS_0})
    assert step(consumer) == [("decisions", 0, 10)]
    assert consumer._thread.rewinds == [(assignment, {DECISIONS_3: 0, PROPOSALS_3: 0})]


def test_a_fetch_that_returns_after_the_flow_stopped_is_given_back_whole():
    assignment = object()
    records = FetchedRecords({DECISIONS_0: on(DECISIONS_0, 4, 5)}, assignment)
    consumer = stand_in_faust_consumer(records, active={DECISIONS_0}, flow=lambda: False)
    assert step(consumer) == []
    assert consumer._thread.rewinds == [(assignment, {DECISIONS_0: 4})]


def test_partitions_after_the_flow_stops_go_back_from_their_first_record():
    # The flow stops between two partitions of one fetch (a rebalance began meanwhile).
    assignment = object()
    records = FetchedRecords(
        {DECISIONS_0: on(DECISIONS_0, 0, 1, 2), PROPOSALS_3: on(PROPOSALS_3, 7, 8)}, assignment
    )
    consumer = stand_in_faust_consumer(
        records, active={DECISIONS_0, PROPOSALS_3}, flow=answers(True, False)
    )
    assert step(consumer) == [("decisions", 0, 0), ("decisions", 0, 1), ("decisions", 0, 2)]
    assert consumer._thread.rewinds == [(assignment, {PROPOSALS_3: 7})]


def test_after_a_gap_the_rest_of_a_partition_goes_back_if_the_flow_stopped_meanwhile():
    # Noting a gap awaits: the flow may stop then, and the records from the gap on go back.
    assignment = object()
    records = FetchedRecords({DECISIONS_0: on(DECISIONS_0, 5, 9, 10)}, assignment)
    consumer = stand_in_faust_consumer(records, active={DECISIONS_0}, flow=answers(True, False))
    consumer._read_offset[DECISIONS_0] = 4
    assert step(consumer) == [("decisions", 0, 5)]
    assert consumer.gaps == [(DECISIONS_0, 6, 9)]
    assert consumer._thread.rewinds == [(assignment, {DECISIONS_0: 9})]
    assert consumer._read_offset[DECISIONS_0] == 5


def test_records_below_the_read_offset_are_skipped_as_faust_skips_them():
    records = FetchedRecords({DECISIONS_0: on(DECISIONS_0, 3, 4, 5)}, object())
    consumer = stand_in_faust_consumer(records, active={DECISIONS_0})
    consumer._read_offset[DECISIONS_0] = 4
    assert step(consumer) == [("decisions", 0, 4), ("decisions", 0, 5)]
    assert consumer._read_offset[DECISIONS_0] == 5


def test_a_fetch_routed_whole_asks_for_no_rewind():
    records = FetchedRecords(
        {DECISIONS_0: on(DECISIONS_0, 4), DECISIONS_3: on(DECISIONS_3, 0)}, object()
    )
    consumer = stand_in_faust_consumer(records, active={DECISIONS_0, DECISIONS_3})
    assert step(consumer) == [("decisions", 0, 4), ("decisions", 3, 0)]
    assert consumer._thread.rewinds == []


def test_a_fetch_routed_whole_acks_its_offsets_per_partition():
    records = FetchedRecords(
        {DECISIONS_0: on(DECISIONS_0, 4, 5), PROPOSALS_3: on(PROPOSALS_3, 0)}, object()
    )
    consumer = stand_in_faust_consumer(records, active={DECISIONS_0, PROPOSALS_3})
    fetched = asyncio.run(_BatchConsumer._step(consumer, GATEWAY_TOPICS))  # type: ignore[arg-type]
    assert fetched is not None
    assert fetched.offsets == {DECISIONS_0: [4, 5], PROPOSALS_3: [0]}
