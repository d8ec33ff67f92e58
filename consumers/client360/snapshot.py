"""The pure snapshot builder: what the store knows of one client in, a Client360Snapshot out.

Sections are read off the client's neighbours in the graph by node type (people and
organizations make the identity, ACCOUNT nodes the account links, and so on); every list is
sorted by a key of its own, and every time comes from the facts, so equal facts give equal
snapshots, byte for byte, and the artifact id is a digest of the content.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from consumers.client360.facts import (
    InteractionFact,
    MergeFact,
    SignalFact,
    from_micros,
    stamp_micros,
)
from consumers.json_text import json_encoder
from velocity_stream.contracts.client360 import (
    Client360Snapshot,
    RiskSeverity,
)
from velocity_stream.contracts.metadata import ProvenanceOrigin

PROJECTOR = "client360-projector"
RECENT_INTERACTIONS = 20
CLOSED_STAGES = frozenset({"CLOSED", "CLOSED_WON", "CLOSED_LOST", "WON", "LOST"})
# QD scores named ``*_risk`` become risk flags at these values.
RISK_HIGH, RISK_MEDIUM = 0.7, 0.4
IDENTITY_TYPES = ("PERSON", "ORGANIZATION")


@dataclass(frozen=True, slots=True)
class NodeView:
    """A node as the read model sees it: its merge class folded into its surviving ref."""

    ref: str
    node_type: str | None
    alive: bool
    attributes: Mapping[str, str]
    sources: tuple[str, ...]
    latest_us: int


@dataclass(frozen=True, slots=True)
class Neighbor:
    """A live node linked to the client, with the links' relations and attributes."""

    node: NodeView
    relations: tuple[str, ...]
    edge_attributes: Mapping[str, str]
    sources: tuple[str, ...]
    latest_us: int


@dataclass(frozen=True, slots=True)
class ClientView:
    """Everything one client's snapshot is built from."""

    client_ref: str
    node: NodeView | None = None
    interactions: tuple[InteractionFact, ...] = ()
    signals: tuple[SignalFact, ...] = ()
    neighbors: tuple[Neighbor, ...] = ()
    merges: tuple[MergeFact, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class BuiltSnapshot:
    """A built snapshot as stored: its JSON body (a Client360Snapshot), digest and as-of time."""

    client_ref: str
    artifact_id: str
    digest: str
    as_of_us: int
    body: str

    def snapshot(self) -> Client360Snapshot:
        return Client360Snapshot.model_validate_json(self.body)


# The snapshot's content keys whose sections come from the graph alone.
GRAPH_KEYS = ("account_links", "active_opportunities", "identity", "property_interests", "tasks")


@dataclass(frozen=True, slots=True)
class GraphSections:
    """The part of a client's snapshot that comes from the graph (its node, its neighbours and
    merges), already encoded: a refresh that finds only new interactions or signals for a
    client finishes its snapshot from these, stored, instead of reading and encoding its graph
    again.

    ``encoded`` holds the canonical JSON of each of GRAPH_KEYS; ``merged`` that of the
    duplicate-contact risk flag, if any; ``sources`` and ``latest_us`` are the graph's share of
    the provenance and of the as-of time.
    """

    encoded: Mapping[str, str]
    merged: str | None
    sources: tuple[str, ...]
    latest_us: int


def build_snapshot(view: ClientView) -> BuiltSnapshot:
    """The client's snapshot, its content digest and its JSON body as stored.

    Built as plain JSON rather than through the pydantic models: this runs once per changed
    client on the hot path. The model still checks every body where it matters: when a
    snapshot is read back (:meth:`Client360Store.snapshot`) and when the validating producer
    publishes it; the tests validate every body they build.
    """
    return finish_snapshot(view.client_ref, graph_sections(view), view.interactions, view.signals)


def graph_sections(view: ClientView) -> GraphSections:
    """The part of a snapshot that comes from the graph (the client's node, its neighbours and
    merges) as plain JSON values: a refresh that finds only new interactions or signals for a
    client finishes its snapshot from these, stored, instead of reading its graph again.

    ``sources`` and ``latest_us`` are the graph's share of the provenance and the as-of time;
    ``merged`` the duplicate-contact risk flag, if any.
    """
    by_type: dict[str, list[Neighbor]] = {}
    for neighbor in sorted(view.neighbors, key=lambda n: n.node.ref):
        if neighbor.node.alive and neighbor.node.node_type:
            by_type.setdefault(neighbor.node.node_type, []).append(neighbor)
    tasks = sorted(
        (
            (_moment(n.node.attributes.get("due_at")), n.node.ref, n.node.attributes)
            for n in by_type.get("TASK", [])
        ),
        key=lambda t: (t[0] is None, t[0] or "", t[1]),
    )
    contacts = {view.client_ref} | {n.node.ref for t in IDENTITY_TYPES for n in by_type.get(t, [])}
    merged = [m.source_ref for m in view.merges if m.into_ref in contacts]
    sections = {
        "identity": _identity(view, by_type),
        "account_links": [
            {
                "system": n.node.attributes.get("system") or "unknown",
                "external_ref": n.node.attributes.get("external_ref") or n.node.ref,
            }
            for n in by_type.get("ACCOUNT", [])
        ],
        "active_opportunities": [
            {
                "opportunity_ref": n.node.ref,
                "title": n.node.attributes.get("title") or n.node.attributes.get("name") or "",
                "stage": n.node.attributes.get("stage") or "UNKNOWN",
                "amount": _number(n.node.attributes.get("amount")),
            }
            for n in by_type.get("OPPORTUNITY", [])
            if (n.node.attributes.get("stage") or "").upper() not in CLOSED_STAGES
        ],
        "property_interests": [
            {
                "property_ref": n.node.ref,
                "interest_level": n.edge_attributes.get("interest_level")
                or n.node.attributes.get("interest_level")
                or "UNKNOWN",
                "note": n.edge_attributes.get("note"),
            }
            for n in by_type.get("PROPERTY", [])
        ],
        "tasks": [
            {
                "task_ref": ref,
                "title": attributes.get("title") or ref,
                "status": attributes.get("status") or "OPEN",
                "due_at": due,
            }
            for due, ref, attributes in tasks
        ],
    }
    return GraphSections(
        encoded={key: canonical(sections[key]) for key in GRAPH_KEYS},
        merged=(
            canonical(_flag("duplicate_contact_merged", RiskSeverity.LOW, merged))
            if merged
            else None
        ),
        sources=_graph_sources(view, by_type),
        latest_us=_graph_latest(view, by_type),
    )


def finish_snapshot(
    client_ref: str,
    sections: GraphSections,
    interactions: Iterable[InteractionFact],
    signals: Iterable[SignalFact],
) -> BuiltSnapshot:
    """The snapshot of a client from its graph sections (graph_sections) and its activity."""
    recent = sorted(interactions, key=lambda i: (-i.occurred_us, i.bundle_ref))
    recent = recent[:RECENT_INTERACTIONS]
    scores = _latest_scores(signals)
    refs: set[str] = {i.bundle_ref for i in recent} | {s.signal_ref for s in scores}
    refs.update(sections.sources)
    # Stamps sort by time first: convert only the newest of them.
    newest = max([i.stamp for i in recent] + [s.stamp for s in scores], default=None)
    as_of_us = max(stamp_micros(newest) if newest else 0, sections.latest_us)
    as_of = _iso(as_of_us)
    # The content is encoded section by section (the graph's were encoded when its sections
    # were made), then joined in key order: the same bytes as canonical() of the whole.
    parts = dict(sections.encoded)
    parts["client_ref"] = canonical(client_ref)
    parts["recent_interactions"] = canonical(
        [
            {
                "bundle_ref": i.bundle_ref,
                "channel": i.channel,
                "occurred_at": _iso(i.occurred_us),
                "summary": i.summary,
            }
            for i in recent
        ]
    )
    parts["qd_overview"] = canonical(
        [
            {
                "score_type": s.score_type,
                "value": s.value,
                "window_end": _iso(s.window_end_us),
                "signal_ref": s.signal_ref,
            }
            for s in scores
        ]
    )
    # Risk flags sort by code: the graph's one (duplicate_contact_merged) before every "qd.".
    flags = [canonical(flag) for flag in _risk_flags(scores)]
    parts["risk_flags"] = (
        "[" + ",".join(([sections.merged] if sections.merged else []) + flags) + "]"
    )
    parts["as_of"] = canonical(as_of)
    parts["provenance"] = canonical(
        {
            "origin": ProvenanceOrigin.DERIVED.value,
            # A client known only by name still derives from something: its own ref then.
            "source_refs": sorted(refs) or [client_ref],
            "method": PROJECTOR,
            "model": None,
        }
    )
    encoded = "{" + ",".join(f'"{key}":{parts[key]}' for key in sorted(parts)) + "}"
    # One encoding serves both: the digest is of the content, and the body is the content
    # with the envelope fields (which derive from it) spliced in front.
    digest = hashlib.sha256(encoded.encode("utf-8")).hexdigest()
    artifact_id = f"c360:{client_ref}:{digest[:24]}"
    envelope = {
        "artifact_id": artifact_id,
        "artifact_type": Client360Snapshot.FAMILY,
        "schema_version": Client360Snapshot.SCHEMA_VERSION,
        "source_system": PROJECTOR,
        "created_at": as_of,
        "created_by": f"system:{PROJECTOR}",
        "confidence": 1.0,
    }
    body = canonical(envelope)[:-1] + "," + encoded[1:]
    return BuiltSnapshot(client_ref, artifact_id, digest, as_of_us, body)


_CANONICAL = json_encoder(sort_keys=True, ensure_ascii=False)


def canonical(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces): equal values give equal bytes."""
    return _CANONICAL(value)


@lru_cache(maxsize=1 << 16)
def _iso(micros: int) -> str:
    """ISO 8601 of a fact time; cached, as a client's rebuilds format the same times again."""
    return from_micros(micros).isoformat()


def _identity(view: ClientView, by_type: Mapping[str, list[Neighbor]]) -> dict[str, Any]:
    own = view.node.attributes if view.node is not None and view.node.alive else {}
    people = by_type.get("PERSON", [])
    organizations = by_type.get("ORGANIZATION", [])
    person = _person_name(people[0].node.attributes) if people else ""
    organization = organizations[0].node.attributes.get("name", "") if organizations else ""
    if own.get("display_name") or own.get("name"):
        display = own.get("display_name") or own.get("name") or ""
    elif organization and person:
        display = f"{organization} ({person})"
    else:
        display = organization or person or view.client_ref
    holders = [own, *(n.node.attributes for t in IDENTITY_TYPES for n in by_type.get(t, []))]
    return {
        "display_name": display,
        "emails": list(_unique(h.get("email") for h in holders)),
        "phones": list(_unique(h.get("phone") for h in holders)),
        "entity_refs": sorted(n.node.ref for t in IDENTITY_TYPES for n in by_type.get(t, [])),
    }


def _person_name(attributes: Mapping[str, str]) -> str:
    joined = " ".join(
        part for part in (attributes.get("given_name"), attributes.get("family_name")) if part
    )
    return joined or attributes.get("name", "")


def _latest_scores(signals: Iterable[SignalFact]) -> list[SignalFact]:
    """The newest score per type (by window end, then stamp), sorted by type."""
    latest: dict[str, SignalFact] = {}
    for signal in signals:
        known = latest.get(signal.score_type)
        if known is None or (signal.window_end_us, signal.stamp) > (
            known.window_end_us,
            known.stamp,
        ):
            latest[signal.score_type] = signal
    return [latest[name] for name in sorted(latest)]


def _flag(code: str, severity: RiskSeverity, evidence: Iterable[str | None]) -> dict[str, Any]:
    return {"code": code, "severity": severity.value, "evidence_refs": list(_unique(evidence))}


def _risk_flags(scores: list[SignalFact]) -> list[dict[str, Any]]:
    """The risk flags the scores raise, by code (all "qd."; the graph's flag is apart)."""
    flags: list[dict[str, Any]] = []
    for score in scores:
        if score.score_type.endswith("_risk") and score.value >= RISK_MEDIUM:
            severity = RiskSeverity.HIGH if score.value >= RISK_HIGH else RiskSeverity.MEDIUM
            evidence = [score.signal_ref, *score.evidence_refs]
            flags.append(_flag(f"qd.{score.score_type}", severity, evidence))
    operator_only = [s.signal_ref for s in scores if s.operator_only]
    if operator_only:
        flags.append(_flag("qd.operator_input_only", RiskSeverity.LOW, operator_only))
    return sorted(flags, key=lambda f: str(f["code"]))


def _shown(by_type: Mapping[str, list[Neighbor]]) -> list[Neighbor]:
    return [n for neighbors in by_type.values() for n in neighbors]


def _graph_sources(view: ClientView, by_type: Mapping[str, list[Neighbor]]) -> tuple[str, ...]:
    refs: set[str] = set()
    if view.node is not None:
        refs.update(view.node.sources)
    for neighbor in _shown(by_type):
        refs.update(neighbor.sources)
        refs.update(neighbor.node.sources)
    refs.update(m.source_ref for m in view.merges)
    return tuple(sorted(refs))


def _graph_latest(view: ClientView, by_type: Mapping[str, list[Neighbor]]) -> int:
    times = [stamp_micros(max(m.stamp for m in view.merges))] if view.merges else []
    if view.node is not None:
        times.append(view.node.latest_us)
    for neighbor in _shown(by_type):
        times += [neighbor.latest_us, neighbor.node.latest_us]
    return max(times, default=0)


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(sorted({v for v in values if v}))


def _number(text: str | None) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _moment(text: str | None) -> str | None:
    """An aware ISO 8601 time, normalized to UTC; None when absent, naive or unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).isoformat()
