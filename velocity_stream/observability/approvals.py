"""Which proposals on this worker wait for a decision, for the pending gauge and decision latency.

The gateway's outcomes say when a proposal is routed (pending or auto-approved) and when a
decision is applied; a proposal and its decisions share a Kafka key (the proposal id) and so a
partition and a worker, which makes an in-memory map keyed by it enough. A restarted worker
starts empty: :func:`pending_in_state` recounts from the gateway's own tables (which the
gateway counts itself: this module imports nothing of it) and
:meth:`PendingApprovals.resync` puts the gauge right again (the runtime calls it after a
rebalance and now and then); decisions on proposals seen before the restart have no latency.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from prometheus_client import Gauge

# Proposals waiting longer than this many entries back are forgotten (oldest first) so a
# flood of never-decided proposals cannot grow the worker without bound; resync recounts.
MAX_TRACKED = 100_000
# Decided proposal keys remembered, so that a proposal outcome observed after its decision
# (batches acknowledged out of order, or a proposal redelivered after a crash) is not counted
# as pending again.
MAX_DECIDED = 10_000


class DecidedBy(StrEnum):
    REVIEWER = "reviewer"
    RULE = "rule"


@dataclass(slots=True)
class _Waiting:
    partition: int
    seen_s: float | None  # None: known from state only, so no latency can be measured
    by: DecidedBy


class PendingApprovals:
    """Proposal key -> when it was seen; keeps ``gauge`` at the number awaiting a reviewer.

    Not thread-safe: the gateway runtime calls it from its one event loop.
    """

    def __init__(
        self, gauge: Gauge, max_tracked: int = MAX_TRACKED, max_decided: int = MAX_DECIDED
    ) -> None:
        self._gauge = gauge
        self._max = max_tracked
        self._max_decided = max_decided
        self._waiting: dict[bytes, _Waiting] = {}
        self._decided: dict[bytes, None] = {}  # insertion-ordered set, oldest first
        self._for_reviewer = 0

    @property
    def count(self) -> int:
        """Proposals awaiting a human decision."""
        return self._for_reviewer

    def pending(self, key: bytes, partition: int, now_s: float) -> None:
        """A proposal went to review. A redelivered one keeps its first sighting."""
        self._add(key, _Waiting(partition, now_s, DecidedBy.REVIEWER))

    def auto_approved(self, key: bytes, partition: int, now_s: float) -> None:
        """A rule approved a proposal; its decision comes back through the gateway."""
        self._add(key, _Waiting(partition, now_s, DecidedBy.RULE))

    def decided(self, key: bytes, now_s: float) -> tuple[float, DecidedBy] | None:
        """A decision was applied: (seconds since the proposal was seen, by whom), when known."""
        self._remember_decided(key)
        entry = self._waiting.pop(key, None)
        if entry is None:
            return None
        if entry.by is DecidedBy.REVIEWER:
            self._set(self._for_reviewer - 1)
        if entry.seen_s is None:
            return None
        return max(0.0, now_s - entry.seen_s), entry.by

    def forget_partitions(self, partitions: Collection[int]) -> None:
        """Partitions were revoked: their proposals are another worker's to count now."""
        gone = [key for key, entry in self._waiting.items() if entry.partition in partitions]
        for key in gone:
            self._remove(key)

    def resync(self, pending: Iterable[tuple[bytes, int]]) -> None:
        """Make the reviewer-pending set exactly ``pending`` ((key, partition) pairs, e.g. from
        :func:`pending_in_state`); sightings of proposals already known are kept."""
        wanted = dict(pending)
        stale = [
            key
            for key, entry in self._waiting.items()
            if entry.by is DecidedBy.REVIEWER and key not in wanted
        ]
        for key in stale:
            self._remove(key)
        for key, partition in wanted.items():
            known = self._waiting.get(key)
            if known is None or known.by is not DecidedBy.REVIEWER:
                # The tables are the truth: undecided there means pending, whatever was seen.
                self._decided.pop(key, None)
                self._remove(key)
                self._add(key, _Waiting(partition, None, DecidedBy.REVIEWER))

    def _remember_decided(self, key: bytes) -> None:
        self._decided.pop(key, None)
        self._decided[key] = None
        while len(self._decided) > self._max_decided:
            del self._decided[next(iter(self._decided))]

    def _add(self, key: bytes, entry: _Waiting) -> None:
        if key in self._waiting or key in self._decided:
            return
        while len(self._waiting) >= self._max:
            self._remove(next(iter(self._waiting)))
        self._waiting[key] = entry
        if entry.by is DecidedBy.REVIEWER:
            self._set(self._for_reviewer + 1)

    def _remove(self, key: bytes) -> None:
        entry = self._waiting.pop(key, None)
        if entry is not None and entry.by is DecidedBy.REVIEWER:
            self._set(self._for_reviewer - 1)

    def _set(self, value: int) -> None:
        self._for_reviewer = value
        self._gauge.set(value)


class ProposalTables(Protocol):
    """What :func:`pending_in_state` needs of a worker's state: its undecided proposals as
    plain (Kafka key, partition) pairs (the gateway's ``GatewayState`` has it)."""

    def pending_proposals(
        self, partitions: Collection[int] | None = None
    ) -> list[tuple[bytes, int]]: ...


def pending_in_state(
    state: ProposalTables, partitions: Collection[int] | None = None
) -> list[tuple[bytes, int]]:
    """(Kafka key, partition) of every proposal in ``state`` routed to review and undecided,
    for :meth:`PendingApprovals.resync`; ``partitions`` keeps only those partition numbers.
    The counting is the state's own (``GatewayState.pending_proposals``): this package reads
    no gateway table."""
    return state.pending_proposals(partitions)
