"""The facts the Client360 read model stores, and the stamps that order them.

Every fact carries a stamp: the event time of the artifact that asserted it (microseconds),
that artifact's id, and the fact's index inside it, as one sortable string. Facts with the same
key are resolved last-writer-wins by stamp, never by arrival, so any interleaving of
partitions (an incremental run, a rebuild, a restart after a crash) ends in the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

STAMP_TIME_DIGITS = 17  # microseconds since the epoch, zero-padded: good until year 5138


def stamp(event_time: datetime, source_id: str, index: int = 0) -> str:
    """A stamp: later event time wins; the source id then the index break ties."""
    return f"{to_micros(event_time):0{STAMP_TIME_DIGITS}d}|{source_id}|{index:05d}"


def stamp_micros(value: str) -> int:
    """The event time of a stamp, in microseconds since the epoch."""
    return int(value[:STAMP_TIME_DIGITS])


def to_micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    return datetime.fromtimestamp(micros // 1_000_000, tz=UTC).replace(
        microsecond=micros % 1_000_000
    )


@dataclass(frozen=True, slots=True)
class InteractionFact:
    client_ref: str
    bundle_ref: str
    channel: str
    occurred_us: int
    summary: str | None
    stamp: str


@dataclass(frozen=True, slots=True)
class SignalFact:
    client_ref: str
    signal_ref: str
    score_type: str
    value: float
    window_end_us: int
    evidence_refs: tuple[str, ...]
    operator_only: bool
    stamp: str


@dataclass(frozen=True, slots=True)
class NodeFact:
    """A node was asserted (``live``) or deleted; ``node_type`` None keeps the known type."""

    node_ref: str
    node_type: str | None
    live: bool
    stamp: str
    source_ref: str


@dataclass(frozen=True, slots=True)
class AttributeFact:
    """One attribute of a node set (``value``) or removed (``value`` None)."""

    node_ref: str
    name: str
    value: str | None
    stamp: str
    source_ref: str


@dataclass(frozen=True, slots=True)
class EdgeFact:
    """An edge asserted with its attributes (``live``) or deleted."""

    from_ref: str
    to_ref: str
    relation: str
    live: bool
    attributes: tuple[tuple[str, str], ...]
    stamp: str
    source_ref: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.from_ref, self.to_ref, self.relation)


@dataclass(frozen=True, slots=True)
class MergeFact:
    """``merged_ref`` was folded into ``into_ref``."""

    merged_ref: str
    into_ref: str
    stamp: str
    source_ref: str


@dataclass(frozen=True, slots=True)
class Projection:
    """Everything one event asserts. ``event_id`` deduplicates redeliveries."""

    event_id: str
    family: str
    clients: tuple[str, ...] = ()
    interactions: tuple[InteractionFact, ...] = ()
    signals: tuple[SignalFact, ...] = ()
    nodes: tuple[NodeFact, ...] = ()
    attributes: tuple[AttributeFact, ...] = ()
    edges: tuple[EdgeFact, ...] = ()
    merges: tuple[MergeFact, ...] = ()

    @property
    def graph_refs(self) -> set[str]:
        """Every graph ref this event changes (nodes, attributes, edge ends, merge ends)."""
        refs = {n.node_ref for n in self.nodes} | {a.node_ref for a in self.attributes}
        for edge in self.edges:
            refs.update((edge.from_ref, edge.to_ref))
        for merge in self.merges:
            refs.update((merge.merged_ref, merge.into_ref))
        return refs

    @property
    def client_refs(self) -> set[str]:
        refs = set(self.clients)
        refs.update(i.client_ref for i in self.interactions)
        refs.update(s.client_ref for s in self.signals)
        return refs
