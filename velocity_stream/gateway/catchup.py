"""Whether a worker has read its partitions' backlog as of assignment: the expiry gate.

A held input's deadline is wall-clock time, kept in the ``held`` table. After a crash the
tables are restored from their changelogs, which may lag the outputs: an input that released
a held one can have its outputs stored while the release itself never reached the changelog.
Its offset was not committed either (faust commits after flushing the changelogs), so the next
owner reads it again and releases the held input again, with the same outputs. Until that
re-read, the restored hold is stale; if the restart took longer than the hold, its deadline
has passed and a sweep would dead-letter an input that was already accepted.

The rule: a worker sweeps held inputs only once it has caught up, on every ingress partition
it was assigned, with the backlog as of the assignment: its position (offset after the last
input routed, or the committed offset it started from) has reached the first high watermark
seen for that partition after the assignment. Everything a previous owner read before it
stopped lies below that watermark, so every input that could release a restored hold has been
routed again by then. The gate is per worker, not per partition: a graph delta waits for a
decision on any partition of the decisions topic.

Pure bookkeeping: the adapter reports assignments, high watermarks (from fetch responses; a
ListOffsets watermark is wrong on Tansu) and committed offsets; the batch processor reports
positions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

TopicPartition = tuple[str, int]


class CatchUp:
    """Per assigned (topic, partition): the watermark to reach, and how far the worker got."""

    __slots__ = ("_positions", "_targets")

    def __init__(self) -> None:
        self._targets: dict[TopicPartition, int | None] = {}
        self._positions: dict[TopicPartition, int] = {}

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        """A new assignment: each of ``partitions`` waits for a watermark seen from now on.

        Partitions kept from the previous assignment wait too (briefly: their position is
        current), which is simpler than telling them apart and never wrong.
        """
        for tp in partitions:
            self._targets[tp] = None

    def revoke(self, partitions: Iterable[TopicPartition]) -> None:
        for tp in partitions:
            self._targets.pop(tp, None)
            self._positions.pop(tp, None)

    def tracks(self, tp: TopicPartition) -> bool:
        return tp in self._targets

    def read(self, positions: Mapping[TopicPartition, int]) -> None:
        """The worker routed every input below ``position`` (last offset + 1) of each."""
        known = self._positions
        for tp, position in positions.items():
            if position > known.get(tp, -1):
                known[tp] = position

    def observe(
        self, tp: TopicPartition, high_watermark: int | None, committed: int | None
    ) -> None:
        """A fetch response's high watermark, and the committed offset, of an assigned partition.

        The first watermark seen after the assignment is the target; later ones are not (a busy
        partition's watermark moves on, and the backlog as of assignment is what matters). The
        committed offset is a position too: inputs below it were routed, and their table writes
        stored, before it was committed.
        """
        if tp not in self._targets:
            return  # not (or no longer) assigned
        if self._targets[tp] is None and high_watermark is not None:
            self._targets[tp] = high_watermark
        if committed is not None:
            self.read({tp: committed})

    def behind(self) -> list[TopicPartition]:
        """Assigned partitions whose target is unknown or not yet reached, sorted."""
        positions = self._positions
        return sorted(
            tp
            for tp, target in self._targets.items()
            if target is None or positions.get(tp, 0) < target
        )

    def caught_up(self) -> bool:
        """True once every assigned partition reached its target: holds may expire."""
        positions = self._positions
        return all(
            target is not None and positions.get(tp, 0) >= target
            for tp, target in self._targets.items()
        )
