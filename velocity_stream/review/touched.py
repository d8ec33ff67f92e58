"""The current values of the records a proposal touches, from the Client360 read model.

A proposal names its target (for a merge: the surviving record) and the records merged into
it. Each is looked up in the snapshots that mention it (one bounded scan for all refs of a
page), and shown as field -> value, with the names proposals use (``email``, ``phone``,
``stage`` ...), so the change table can put "now" beside "proposed".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from velocity_stream.contracts.client360 import Client360Snapshot
from velocity_stream.review.clients import Client360Reader, ReadModelUnavailable

SCAN = 200  # snapshots read per lookup, the most recent first


@dataclass(frozen=True, slots=True)
class CurrentRecord:
    """One record as the read model has it now: where it was found and its values."""

    ref: str
    client_ref: str
    kind: str
    values: tuple[tuple[str, str], ...]

    def value(self, field: str) -> str | None:
        return dict(self.values).get(field)


def _records(snapshot: Client360Snapshot) -> dict[str, CurrentRecord]:
    found: dict[str, CurrentRecord] = {}
    identity = snapshot.identity
    person = (
        ("display_name", identity.display_name),
        ("email", ", ".join(identity.emails)),
        ("phone", ", ".join(identity.phones)),
    )
    for ref in (snapshot.client_ref, *identity.entity_refs):
        found[ref] = CurrentRecord(ref, snapshot.client_ref, "client identity", person)
    for o in snapshot.active_opportunities:
        amount = "" if o.amount is None else f"{o.amount:,.0f}"
        values = (("title", o.title), ("stage", o.stage), ("amount", amount))
        found[o.opportunity_ref] = CurrentRecord(
            o.opportunity_ref, snapshot.client_ref, "opportunity", values
        )
    for t in snapshot.tasks:
        due = t.due_at.isoformat() if t.due_at else ""
        values = (("title", t.title), ("status", t.status), ("due_at", due))
        found[t.task_ref] = CurrentRecord(t.task_ref, snapshot.client_ref, "task", values)
    for p in snapshot.property_interests:
        found[p.property_ref] = CurrentRecord(
            p.property_ref,
            snapshot.client_ref,
            "property interest",
            (("interest_level", p.interest_level), ("note", p.note or "")),
        )
    return found


def now_record(
    current: dict[str, CurrentRecord], target_ref: str, merge_refs: Sequence[str]
) -> CurrentRecord | None:
    """The record whose values a change's "now" column shows: the target's, or, when the
    target has no snapshot yet (a new person merging an older contact in), the first merged
    record the read model holds: its values are what the merge starts from."""
    for ref in (target_ref, *merge_refs):
        if ref in current:
            return current[ref]
    return None


def current_records(
    reader: Client360Reader, refs: Sequence[str], *, scan: int = SCAN
) -> dict[str, CurrentRecord]:
    """ref -> its current record, for those of ``refs`` some recent snapshot holds.

    An unreadable read model gives nothing rather than an error: the values are context for
    the reviewer, and the proposal itself is still shown."""
    wanted = {ref for ref in refs if ref}
    found: dict[str, CurrentRecord] = {}
    if not wanted:
        return found
    try:
        for summary in reader.list_clients(scan):
            snapshot = reader.snapshot(summary.client_ref)
            if snapshot is None:
                continue
            for ref, record in _records(snapshot).items():
                if ref in wanted and ref not in found:
                    found[ref] = record
            if len(found) == len(wanted):
                break
    except ReadModelUnavailable:
        return {}
    return found
