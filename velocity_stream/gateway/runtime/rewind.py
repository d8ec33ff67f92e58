"""Fetched records the worker does not route now go back to the consumer, never silently away.

aiokafka advances a partition's position as soon as it hands records over; a record handed over
and then dropped is never fetched again unless something seeks back. faust's fetch step
(``Consumer.getmany``) drops records in three cases: the flow was stopped (a rebalance began),
the group generation changed, or the partition is not active (paused, e.g. while the tables
are recovered). It seeks back only in the first case, and only to *committed* offsets; a
partition without a committed offset keeps its advanced position. aiokafka also hands over the
records of *every* partition when the set of partitions it is asked for is empty, and faust's
set of active partitions is briefly empty during a takeover's table recovery (the ingress
partitions are paused, the changelog partitions are paused when read, nothing else is
assigned). A worker that took over a killed one's partitions therefore sometimes dropped the
first records of those partitions, which nobody had committed yet, and routed nothing from them
until the next rebalance (the takeover stall, docs/gateway.md).

The adapter (faust_app.py) notes here, per fetch, the first record of each partition it does
not route (:class:`Unrouted`), and afterwards seeks each such partition back
to that record (:func:`rewind_positions`), on the consumer's own thread, if the assignment the
records came from is still the consumer's and the partition is still where the fetch left it.
After a new assignment there is nothing to do: aiokafka starts every partition of an assignment
from its committed offset (or the reset policy), so records of an old assignment are fetched
again anyway. A partition sought since the fetch (faust seeks the changelogs when recovery
starts and the ingress partitions to their committed offsets when it ends) keeps that seek.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, cast

log = logging.getLogger(__name__)

# A partition (faust's TP or aiokafka's TopicPartition, both (topic, partition) tuples) and a
# fetched record (aiokafka's ConsumerRecord): this module only keeps and compares them.
P = TypeVar("P", bound=tuple[str, int])
R = TypeVar("R")


class FetchedRecords(dict[P, list[R]]):
    """One fetch's records by partition, with the assignment they were fetched under.

    ``assignment`` is aiokafka's ``Assignment`` object (or None when there was none): a new
    one is made for every assignment, so identity tells whether it is still current.
    ``positions`` is each partition's position right after the hand-over: a different one at
    rewind time means someone sought it since.
    """

    __slots__ = ("assignment", "positions")

    def __init__(
        self,
        records: Mapping[P, list[R]],
        assignment: object | None,
        positions: Mapping[P, int | None] | None = None,
    ) -> None:
        super().__init__(records)
        self.assignment = assignment
        self.positions: Mapping[P, int | None] = positions if positions is not None else {}


class Unrouted:
    """Per partition, the offset of the first fetched record the worker did not route.

    Once one record of a partition is held back, every later record of that partition in the
    same fetch is too: they come again, in order, after the rewind.
    """

    __slots__ = ("offsets",)

    def __init__(self) -> None:
        self.offsets: dict[Any, int] = {}

    def __contains__(self, partition: object) -> bool:
        return partition in self.offsets

    def __bool__(self) -> bool:
        return bool(self.offsets)

    def hold(self, partition: tuple[str, int], offset: int) -> None:
        self.offsets.setdefault(partition, offset)


def current_assignment(consumer: Any) -> object | None:
    """aiokafka's current ``Assignment`` of ``consumer`` (an ``AIOKafkaConsumer``), or None."""
    # aiokafka internals (listed in gateway/faust_internals.py): the SubscriptionState's
    # Subscription, whose Assignment is replaced, not changed, on every assignment.
    subscription = consumer._subscription.subscription
    return None if subscription is None else subscription.assignment


def positions(assignment: object | None, partitions: Iterable[P]) -> dict[P, int | None]:
    """The position of each of ``partitions`` in ``assignment`` (aiokafka's), None if unknown."""
    found: dict[P, int | None] = {}
    if assignment is None:
        return found
    state_value = cast(Any, assignment).state_value
    for partition in partitions:
        state = state_value(partition)
        # aiokafka internals (gateway/faust_internals.py): a TopicPartitionState's position
        # is None while it waits for its committed offset or a reset.
        found[partition] = None if state is None else state._position
    return found


def rewind_positions(
    consumer: Any, fetched: FetchedRecords[P, Any], offsets: Mapping[P, int]
) -> dict[P, int]:
    """Seek each partition of ``offsets`` back to its offset; the partitions rewound.

    Runs on the consumer's own event loop (aiokafka is not thread-safe), so nothing can assign
    or seek between the checks and the seeks. Nothing is rewound unless the assignment the
    records were ``fetched`` under is still ``consumer``'s (an ``AIOKafkaConsumer``) and active
    (a new assignment starts from the committed offsets by itself, and a seek there would move
    a position that has nothing to do with these records), and a partition is rewound only if
    it is still where the fetch left it (a seek made since, by faust, wins).
    """
    assignment = fetched.assignment
    if assignment is None or current_assignment(consumer) is not assignment:
        return {}
    if not getattr(assignment, "active", False):
        return {}
    now = positions(assignment, offsets)
    rewound: dict[P, int] = {}
    for partition, offset in offsets.items():
        left_at = fetched.positions.get(partition)
        if left_at is None or now.get(partition) != left_at:
            continue
        consumer.seek(partition, offset)
        rewound[partition] = offset
    if rewound:
        log.info(
            "fetched records not routed now (flow stopped, generation changed or partition "
            "paused) go back to the consumer: %s",
            ", ".join(f"{p[0]}/{p[1]}@{o}" for p, o in sorted(rewound.items())),
        )
    return rewound
