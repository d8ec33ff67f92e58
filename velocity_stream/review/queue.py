"""The pending-approval queue: a fold over the approvals topic and the decisions the gateway
applied (the decision family's accepted topics).

A proposal is pending from the moment the gateway puts it on the approvals topic with state
``pending`` until a decision on it appears on an accepted topic; the gateway writes a decision
there only after its own checks pass, so what this view calls decided really is decided.
Proposals and decisions come from different topics and partitions and may be read in either
order; they are joined when read, not when stored.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.contracts.catalog import Catalog, Family, Route
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.decisions import (
    APPROVED,
    DECISION_AT,
    DECISION_ID,
    DECISION_NOTES,
    DECISION_OUTCOME,
    DECISION_PROPOSAL_FAMILY,
    DECISION_PROPOSAL_REF,
    DECISION_REVIEWER,
    outcome_of,
)
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.review.proposals import ProposalView, proposal_view
from velocity_stream.serde.avro import AvroSerde

ProposalKey = tuple[str, str]  # (family, proposal id), as the gateway keys its tables


class ProposalState(StrEnum):
    """What the gateway said when it put the proposal on the approvals topic."""

    PENDING = "pending"
    AUTO_APPROVED = "auto_approved"


@dataclass(frozen=True, slots=True)
class AppliedDecision:
    """A decision the gateway applied (read from an accepted topic)."""

    decision_id: str
    artifact_id: str
    reviewer: str
    approved: bool
    notes: str
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A proposal and, once there is one, the applied decision on it."""

    view: ProposalView
    state: ProposalState
    rule: str | None
    decision: AppliedDecision | None
    # proposal_digest of the message value shown (the proposal's original ingress bytes, as
    # the approvals topic carries them): what a decision on this entry says it reviewed.
    value_digest: str | None = None

    @property
    def key(self) -> ProposalKey:
        return (self.view.family, self.view.proposal_id)

    @property
    def is_pending(self) -> bool:
        return self.state is ProposalState.PENDING and self.decision is None


class ApprovalQueue:
    """Proposals and applied decisions by proposal key. Thread-safe: a tail thread writes,
    request handlers read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proposals: dict[
            ProposalKey, tuple[ProposalView, ProposalState, str | None, str | None]
        ] = {}
        self._decisions: dict[ProposalKey, AppliedDecision] = {}
        self._decision_order: list[ProposalKey] = []
        # The sorted pending list, rebuilt only after a change: every page asks for it (the
        # navigation's count), and sorting 10,000 entries per request would dominate a render.
        self._version = 0
        self._pending: tuple[int, list[QueueEntry]] | None = None

    def add_proposal(
        self,
        view: ProposalView,
        state: ProposalState,
        rule: str | None = None,
        value_digest: str | None = None,
    ) -> None:
        # First one wins: the gateway refuses a second, different proposal under the same id,
        # and a redelivered one carries the same content.
        with self._lock:
            key = (view.family, view.proposal_id)
            if key not in self._proposals:
                self._proposals[key] = (view, state, rule, value_digest)
                self._version += 1

    def add_decision(self, key: ProposalKey, decision: AppliedDecision) -> None:
        with self._lock:
            if key not in self._decisions:
                self._decisions[key] = decision
                self._decision_order.append(key)
                self._version += 1

    def entry(self, family: str, proposal_id: str) -> QueueEntry | None:
        with self._lock:
            return self._entry((family, proposal_id))

    def decision(self, key: ProposalKey) -> AppliedDecision | None:
        with self._lock:
            return self._decisions.get(key)

    def pending(self) -> list[QueueEntry]:
        """Proposals awaiting a reviewer, oldest first (first come, first reviewed)."""
        with self._lock:
            cached = self._pending
            if cached is not None and cached[0] == self._version:
                return list(cached[1])
            version = self._version
            entries = [self._entry(key) for key in self._proposals]
        waiting = [e for e in entries if e is not None and e.is_pending]
        waiting.sort(key=lambda e: (e.view.created_at, e.view.proposal_id))
        with self._lock:
            if self._version == version:
                self._pending = (version, waiting)
        return list(waiting)

    def pending_count(self) -> int:
        return len(self.pending())

    def recently_decided(self, limit: int = 20) -> list[QueueEntry]:
        """Decided proposals (by people or rules), the latest decision first."""
        with self._lock:
            keys = [k for k in reversed(self._decision_order) if k in self._proposals][:limit]
            found = [self._entry(key) for key in keys]
        return [entry for entry in found if entry is not None]

    def counts(self) -> dict[str, int]:
        with self._lock:
            entries = [self._entry(key) for key in self._proposals]
        pending = sum(1 for e in entries if e is not None and e.is_pending)
        return {"proposals": len(entries), "pending": pending, "decided": len(entries) - pending}

    def _entry(self, key: ProposalKey) -> QueueEntry | None:
        found = self._proposals.get(key)
        if found is None:
            return None
        view, state, rule, value_digest = found
        return QueueEntry(view, state, rule, self._decisions.get(key), value_digest)


def _header(record: InboundMessage, name: str) -> str | None:
    value = record.header_text().get(name)
    return value if value else None


class ApprovalFeed:
    """Turns approvals-topic and accepted-decision records into queue updates."""

    def __init__(
        self, catalog: Catalog, serde: AvroSerde, topic_prefix: str, queue: ApprovalQueue
    ) -> None:
        self.queue = queue
        self._serde = serde
        self._catalog = catalog
        self._ingress = catalog.ingress_topics(topic_prefix)
        self.approvals_topic = catalog.approvals_topic(topic_prefix)
        self._decision_topics: dict[str, tuple[Family, int]] = {
            family.accepted_topic(topic_prefix, major): (family, major)
            for family in decision_families(catalog)
            for major in family.majors()
        }

    @property
    def topics(self) -> list[str]:
        return [self.approvals_topic, *self._decision_topics]

    def handle(self, record: InboundMessage) -> None:
        topic = record.topic
        if topic == self.approvals_topic:
            self._proposal(record)
        elif topic in self._decision_topics:
            family, major = self._decision_topics[topic]
            self._decision(record, family, major)

    def _proposal(self, record: InboundMessage) -> None:
        # The gateway forwards the proposal's original bytes and names the ingress topic it
        # came from (a header producers cannot forge: the gateway drops theirs).
        source = _header(record, h.SOURCE_TOPIC)
        target = self._ingress.get(source) if source else None
        if target is None:
            name = _header(record, h.FAMILY)
            if name is None:
                raise ValueError("an approvals record without family or source topic")
            family = self._catalog.family(name)
            target = (family, family.latest.major)
        family, major = target
        artifact = self._serde.decode(record.value, family, major)
        proposal_id = str(getattr(artifact, family.key_field))
        state = ProposalState(_header(record, h.APPROVAL_STATE) or ProposalState.PENDING)
        view = proposal_view(family.name, proposal_id, artifact)
        self.queue.add_proposal(
            view, state, _header(record, h.APPROVAL_RULE), proposal_digest(record.value or b"")
        )

    def _decision(self, record: InboundMessage, family: Family, major: int) -> None:
        decoded = self._serde.decode_record(record.value, family, major).record
        decided_at = decoded.get(DECISION_AT)
        key = (str(decoded[DECISION_PROPOSAL_FAMILY]), str(decoded[DECISION_PROPOSAL_REF]))
        self.queue.add_decision(
            key,
            AppliedDecision(
                decision_id=str(decoded[DECISION_ID]),
                artifact_id=str(decoded["artifact_id"]),
                reviewer=str(decoded[DECISION_REVIEWER]),
                approved=outcome_of(decoded[DECISION_OUTCOME]) is APPROVED,
                notes=str(decoded.get(DECISION_NOTES) or ""),
                decided_at=decided_at if isinstance(decided_at, datetime) else None,
            ),
        )


def decision_families(catalog: Catalog) -> Iterable[Family]:
    """The families the gateway treats as decisions (route ``decision``)."""
    return [family for family in catalog if family.route is Route.DECISION]
