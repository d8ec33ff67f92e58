"""Reading Client360 snapshots for the client pages, behind a small interface.

The pages depend on :class:`Client360Reader` only. :class:`SnapshotFold` keeps the latest
snapshot per client in memory: unit tests fill it directly, and :class:`SnapshotFeed` fills it
from the snapshot family's accepted topics, which works against any deployment. The
read-model store the Client360 consumer writes is read through the same interface.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from velocity_stream.contracts.catalog import Catalog, Family
from velocity_stream.contracts.client360 import Client360Snapshot
from velocity_stream.errors import VelocityError
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde.avro import AvroSerde

SNAPSHOT_FAMILY = "Client360Snapshot"


@dataclass(frozen=True, slots=True)
class ClientSummary:
    """One line of the client list."""

    client_ref: str
    display_name: str
    as_of: datetime
    open_opportunities: int
    risk_flags: int


def summary_of(snapshot: Client360Snapshot) -> ClientSummary:
    return ClientSummary(
        client_ref=snapshot.client_ref,
        display_name=snapshot.identity.display_name,
        as_of=snapshot.as_of,
        open_opportunities=len(snapshot.active_opportunities),
        risk_flags=len(snapshot.risk_flags),
    )


class Client360Reader(Protocol):
    """What the client pages need from wherever snapshots are kept."""

    def snapshot(self, client_ref: str) -> Client360Snapshot | None:
        """The latest snapshot of a client, None when there is none."""
        ...

    def list_clients(self, limit: int = 100) -> Sequence[ClientSummary]:
        """Clients with a snapshot, the most recently updated first."""
        ...


class SnapshotFold:
    """The latest snapshot per client (by ``as_of``; ties go to the later record)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, Client360Snapshot] = {}

    def add(self, snapshot: Client360Snapshot) -> None:
        with self._lock:
            known = self._latest.get(snapshot.client_ref)
            if known is None or snapshot.as_of >= known.as_of:
                self._latest[snapshot.client_ref] = snapshot

    def snapshot(self, client_ref: str) -> Client360Snapshot | None:
        with self._lock:
            return self._latest.get(client_ref)

    def list_clients(self, limit: int = 100) -> Sequence[ClientSummary]:
        with self._lock:
            latest = list(self._latest.values())
        latest.sort(key=lambda s: (s.as_of, s.client_ref), reverse=True)
        return [summary_of(snapshot) for snapshot in latest[:limit]]


class SnapshotFeed:
    """Fills a :class:`SnapshotFold` from every major of the snapshot family's accepted topic."""

    def __init__(
        self, catalog: Catalog, serde: AvroSerde, topic_prefix: str, fold: SnapshotFold
    ) -> None:
        family = catalog.family(SNAPSHOT_FAMILY)
        self.fold = fold
        self._serde = serde
        self._topics: dict[str, tuple[Family, int]] = {
            family.accepted_topic(topic_prefix, major): (family, major) for major in family.majors()
        }

    @property
    def topics(self) -> list[str]:
        return list(self._topics)

    def handle(self, record: InboundMessage) -> None:
        family, major = self._topics[record.topic]
        snapshot = self._serde.decode(record.value, family, major)
        if isinstance(snapshot, Client360Snapshot):
            self.fold.add(snapshot)


def snapshot_refs(snapshot: Client360Snapshot) -> set[str]:
    """Every ref a snapshot mentions: the client, its entities, opportunities, properties,
    tasks, interactions, signals and evidence."""
    refs = {snapshot.client_ref, *snapshot.identity.entity_refs, *snapshot.provenance.source_refs}
    refs.update(o.opportunity_ref for o in snapshot.active_opportunities)
    refs.update(p.property_ref for p in snapshot.property_interests)
    refs.update(t.task_ref for t in snapshot.tasks)
    refs.update(i.bundle_ref for i in snapshot.recent_interactions)
    refs.update(q.signal_ref for q in snapshot.qd_overview)
    for flag in snapshot.risk_flags:
        refs.update(flag.evidence_refs)
    return refs


def clients_related(
    reader: Client360Reader, refs: Sequence[str], *, scan: int = 200
) -> list[ClientSummary]:
    """Clients whose snapshot mentions any of ``refs`` (among the ``scan`` most recent).

    Used on one page (a decision's verdict) to link to the client it touched; a bounded scan
    keeps it cheap on a large store.
    """
    wanted = set(refs)
    if not wanted:
        return []
    related: list[ClientSummary] = []
    try:
        for summary in reader.list_clients(scan):
            snapshot = reader.snapshot(summary.client_ref)
            if snapshot is not None and wanted & snapshot_refs(snapshot):
                related.append(summary)
    except ReadModelUnavailable:
        return []  # only a convenience link: the page works without it
    return related


class SnapshotStore(Protocol):
    """What the Client360 consumer's store offers readers (consumers/client360/store.py)."""

    def snapshot(self, client_ref: str) -> Client360Snapshot | None: ...

    def client_refs(self, limit: int = 100, after: str = "") -> list[str]: ...


class ReadModelUnavailable(VelocityError):
    """The read-model store cannot be read (not reachable, or its tables are not there yet)."""


class StoreClientReader:
    """Client pages over the read-model store the Client360 consumer writes.

    The store pages client refs in ref order; the list shows the most recently updated first,
    so it reads up to ``scan`` refs and sorts them by ``as_of``. Database errors of the kinds
    in ``unavailable`` become :class:`ReadModelUnavailable` (the pages say so, with a 503).
    """

    def __init__(
        self,
        store: SnapshotStore,
        *,
        scan: int = 1000,
        unavailable: tuple[type[Exception], ...] = (),
    ) -> None:
        self._store = store
        self._scan = scan
        self._unavailable = unavailable

    def snapshot(self, client_ref: str) -> Client360Snapshot | None:
        try:
            return self._store.snapshot(client_ref)
        except self._unavailable as error:
            raise ReadModelUnavailable(f"the read-model store cannot be read: {error}") from error

    def list_clients(self, limit: int = 100) -> Sequence[ClientSummary]:
        try:
            return self._list(limit)
        except self._unavailable as error:
            raise ReadModelUnavailable(f"the read-model store cannot be read: {error}") from error

    def _list(self, limit: int) -> Sequence[ClientSummary]:
        found: list[Client360Snapshot] = []
        after = ""
        while len(found) < self._scan:
            refs = self._store.client_refs(min(500, self._scan - len(found)), after)
            if not refs:
                break
            for ref in refs:
                snapshot = self._store.snapshot(ref)
                if snapshot is not None:
                    found.append(snapshot)
            after = refs[-1]
        found.sort(key=lambda s: (s.as_of, s.client_ref), reverse=True)
        return [summary_of(snapshot) for snapshot in found[:limit]]
