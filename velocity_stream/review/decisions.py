"""Deciding a proposal: build the decision artifact, publish it through the validating
producer, and follow what the gateway did with it.

The app refuses what it can already see is pointless (an unknown proposal, one already
decided or with a decision on its way); everything else is the gateway's call. Its verdict
comes back on the topics the app follows: the decision shows up on the decision family's
accepted topic (applied) or on the dead-letter topic with a reason (refused).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.metadata import Artifact, ProvenanceOrigin, validate_artifact
from velocity_stream.contracts.registry import model_for
from velocity_stream.errors import ConfigError, ContractError, ReasonCode, Violation
from velocity_stream.kafka.producer import ArtifactProducer, DeliveryError
from velocity_stream.protocol.decisions import (
    APPROVED,
    DECISION_AT,
    DECISION_ID,
    DECISION_NOTES,
    DECISION_OUTCOME,
    DECISION_PROPOSAL_DIGEST,
    DECISION_PROPOSAL_FAMILY,
    DECISION_PROPOSAL_REF,
    DECISION_REVIEWER,
    REJECTED,
)
from velocity_stream.review.deadletters import DeadLetterLog
from velocity_stream.review.queue import ApprovalQueue, ProposalKey, decision_families

# The producer name decisions are published under; the catalog must list it as a producer
# of the decision family, or the gateway would dead-letter every decision (auth.not_owner).
REVIEW_APP_SOURCE = "review-app"
PUBLISH_TIMEOUT_S = 15.0


class DecisionPublisher(Protocol):
    """Where decisions go: the validating producer in the app, a list in unit tests."""

    def publish(self, decision: Artifact) -> None:
        """Return once the broker has the decision; raise if it does not take it."""
        ...


class ProducerPublisher:
    """Publishes through :class:`ArtifactProducer` (validate, encode, key, headers) and waits
    for the broker's acknowledgement, so a 202 means the decision is on Kafka."""

    def __init__(self, producer: ArtifactProducer, timeout: float = PUBLISH_TIMEOUT_S) -> None:
        self._producer = producer
        self._timeout = timeout

    def publish(self, decision: Artifact) -> None:
        future = self._producer.publish(decision)
        try:
            future.result(self._timeout)
        except FutureTimeout:
            raise DeliveryError(
                decision.FAMILY,
                f"no acknowledgement within {self._timeout:.0f} s; it may still arrive: check "
                "the queue before deciding again",
            ) from None


class DecisionStatus(StrEnum):
    SUBMITTED = "submitted"  # on Kafka, the gateway has not answered yet
    APPLIED = "applied"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class SubmittedDecision:
    decision_id: str
    artifact_id: str
    proposal_family: str
    proposal_id: str
    reviewer: str
    approved: bool
    notes: str
    submitted_at: datetime

    @property
    def key(self) -> ProposalKey:
        return (self.proposal_family, self.proposal_id)


@dataclass(frozen=True, slots=True)
class DecisionReport:
    """A submitted decision and the gateway's verdict so far."""

    decision: SubmittedDecision
    status: DecisionStatus
    reason: str | None = None
    message: str | None = None


class DecisionProblem(Exception):
    """The app will not publish this decision: an HTTP status, a code, and why."""

    def __init__(
        self, status: int, code: str, message: str, violations: tuple[Violation, ...] = ()
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.violations = violations
        super().__init__(f"{code}: {message}")


class DecisionDesk:
    """Submits decisions and reports their status; thread-safe."""

    def __init__(
        self,
        catalog: Catalog,
        queue: ApprovalQueue,
        dead_letters: DeadLetterLog,
        publisher: DecisionPublisher,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        families = list(decision_families(catalog))
        if len(families) != 1:
            raise ConfigError(
                f"the review app needs exactly one decision family, the catalog has {len(families)}"
            )
        family = families[0]
        if not family.is_owned_by(REVIEW_APP_SOURCE):
            raise ConfigError(
                f"{REVIEW_APP_SOURCE!r} is not a producer of {family.name} in the catalog: "
                "the gateway would refuse every decision the app sends"
            )
        self.model = model_for(family.name)
        self.queue = queue
        self.dead_letters = dead_letters
        self._publisher = publisher
        self._clock = clock
        self._lock = threading.Lock()
        self._submitted: dict[str, SubmittedDecision] = {}
        self._latest_by_proposal: dict[ProposalKey, str] = {}

    def decide(
        self, reviewer: str, family: str, proposal_id: str, *, approve: bool, notes: str
    ) -> SubmittedDecision:
        """Publish a decision on a pending proposal; DecisionProblem when the app refuses."""
        entry = self.queue.entry(family, proposal_id)
        if entry is None:
            raise DecisionProblem(
                404,
                ReasonCode.APPROVAL_UNKNOWN_PROPOSAL.value,
                f"no {family} {proposal_id!r} is waiting for review",
            )
        if not entry.is_pending:
            by = entry.decision.reviewer if entry.decision else f"rule {entry.rule}"
            raise DecisionProblem(
                409,
                ReasonCode.APPROVAL_ALREADY_DECIDED.value,
                f"{family} {proposal_id!r} was already decided by {by}",
            )
        waiting = self.awaiting(entry.key)
        if waiting is not None:
            raise DecisionProblem(
                409,
                ReasonCode.APPROVAL_ALREADY_DECIDED.value,
                f"{waiting.reviewer}'s decision {waiting.decision_id} on {proposal_id!r} is "
                "waiting for the gateway",
            )
        now = self._clock()
        decision_id = f"decision:{uuid.uuid4()}"
        if entry.value_digest is None:
            raise DecisionProblem(
                409,
                ReasonCode.APPROVAL_UNKNOWN_PROPOSAL.value,
                f"the bytes of {family} {proposal_id!r} are not known here, so a decision "
                "could not name what was reviewed",
            )
        artifact = self._build(
            reviewer,
            family,
            proposal_id,
            approve,
            notes.strip(),
            decision_id,
            now,
            entry.value_digest,
        )
        self._publisher.publish(artifact)
        submitted = SubmittedDecision(
            decision_id=decision_id,
            artifact_id=artifact.artifact_id,
            proposal_family=family,
            proposal_id=proposal_id,
            reviewer=reviewer,
            approved=approve,
            notes=notes.strip(),
            submitted_at=now,
        )
        with self._lock:
            self._submitted[decision_id] = submitted
            self._latest_by_proposal[submitted.key] = decision_id
        return submitted

    def _build(
        self,
        reviewer: str,
        family: str,
        proposal_id: str,
        approve: bool,
        notes: str,
        decision_id: str,
        now: datetime,
        digest: str,
    ) -> Artifact:
        data = {
            "artifact_id": f"art:{decision_id}",
            "artifact_type": self.model.FAMILY,
            "schema_version": self.model.SCHEMA_VERSION,
            "source_system": REVIEW_APP_SOURCE,
            "created_at": now,
            "created_by": reviewer,
            "confidence": 1.0,
            "provenance": {
                "origin": ProvenanceOrigin.HUMAN,
                "source_refs": (proposal_id,),
                "method": "review-app",
            },
            DECISION_ID: decision_id,
            DECISION_PROPOSAL_REF: proposal_id,
            DECISION_PROPOSAL_FAMILY: family,
            DECISION_REVIEWER: reviewer,
            DECISION_OUTCOME: APPROVED if approve else REJECTED,
            DECISION_NOTES: notes,
            DECISION_AT: now,
        }
        if DECISION_PROPOSAL_DIGEST in self.model.model_fields:
            # The exact proposal bytes the reviewer was shown: the gateway refuses the
            # decision if the proposal it holds is other content (approval.proposal_changed).
            data[DECISION_PROPOSAL_DIGEST] = digest
        try:
            return validate_artifact(self.model, data)
        except ContractError as error:
            first = error.violations[0]
            raise DecisionProblem(
                422, first.code.value, first.message, tuple(error.violations)
            ) from None

    # --- following the gateway's verdict --------------------------------------------------

    def report(self, decision_id: str) -> DecisionReport | None:
        """The status of a decision this app instance submitted; None if it did not."""
        with self._lock:
            submitted = self._submitted.get(decision_id)
        return None if submitted is None else self._report(submitted)

    def awaiting(self, key: ProposalKey) -> SubmittedDecision | None:
        """The decision on ``key`` this app sent that the gateway has not answered yet."""
        with self._lock:
            latest = self._latest_by_proposal.get(key)
            submitted = self._submitted.get(latest) if latest else None
        if submitted is None or self._report(submitted).status is not DecisionStatus.SUBMITTED:
            return None
        return submitted

    def last_refusal(self, key: ProposalKey) -> DecisionReport | None:
        """The latest decision on ``key`` this app sent, when the gateway refused it."""
        with self._lock:
            latest = self._latest_by_proposal.get(key)
            submitted = self._submitted.get(latest) if latest else None
        if submitted is None:
            return None
        report = self._report(submitted)
        return report if report.status is DecisionStatus.REFUSED else None

    def recent(self, limit: int = 20) -> list[DecisionReport]:
        with self._lock:
            latest = sorted(self._submitted.values(), key=lambda d: d.submitted_at, reverse=True)
        return [self._report(item) for item in latest[:limit]]

    def _report(self, submitted: SubmittedDecision) -> DecisionReport:
        applied = self.queue.decision(submitted.key)
        if applied is not None and applied.decision_id == submitted.decision_id:
            return DecisionReport(submitted, DecisionStatus.APPLIED)
        refusal = self.dead_letters.refusal_of(submitted.decision_id)
        if refusal is not None:
            return DecisionReport(
                submitted, DecisionStatus.REFUSED, refusal.reason, refusal.message
            )
        if applied is not None:
            # One decision per proposal: another one was applied first, so the gateway
            # cannot apply this one; its dead letter will say the same.
            return DecisionReport(
                submitted,
                DecisionStatus.REFUSED,
                ReasonCode.APPROVAL_ALREADY_DECIDED.value,
                f"decided first by {applied.reviewer} ({applied.decision_id})",
            )
        return DecisionReport(submitted, DecisionStatus.SUBMITTED)
