"""The JSON API (``/api/v1``): routes and their request and response shapes, nothing else.

Every route but ``/healthz`` needs a reviewer's bearer token. The shapes are pydantic models
so the OpenAPI document (``/openapi.json``) describes them exactly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from velocity_stream.contracts.client360 import Client360Snapshot
from velocity_stream.errors import VelocityError
from velocity_stream.kafka.reachability import kafka_health
from velocity_stream.protocol.decisions import APPROVED, outcome_of
from velocity_stream.review.app import ReviewServices, services_of
from velocity_stream.review.auth import Reviewer
from velocity_stream.review.clients import ClientSummary
from velocity_stream.review.deadletters import DeadLetterEntry
from velocity_stream.review.decisions import DecisionProblem, DecisionReport
from velocity_stream.review.queue import ProposalState, QueueEntry

router = APIRouter()
_bearer = HTTPBearer(auto_error=False, description="a reviewer token")

Services = Annotated[ReviewServices, Depends(services_of)]


def api_reviewer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Reviewer:
    """The caller, from the bearer token: AuthError (401/403) otherwise."""
    directory = services_of(request).directory
    return directory.identify(credentials.credentials if credentials else None)


CurrentReviewer = Annotated[Reviewer, Depends(api_reviewer)]

# --- shapes --------------------------------------------------------------------------------


class ErrorOut(BaseModel):
    code: str = Field(description="a stable dotted reason code")
    message: str
    violations: list[dict[str, str]] = Field(
        default=[], description="what is wrong where (code, path, message), when known"
    )


Scalar = str | int | float | bool | None


class HopOut(BaseModel):
    id: str = Field(description="kind:ref, what other hops name in via")
    kind: Literal[
        "field",
        "node",
        "change",
        "decision",
        "proposal",
        "import_row",
        "import_batch",
        "manifest",
        "interaction",
        "transcript",
        "signal",
        "missing",
    ]
    ref: str
    title: str
    facts: dict[str, Scalar]
    items: list[dict[str, Scalar]] = Field(
        description="rows under the hop: a transcript's segments, an import row's raw values "
        "with each column's fate, a proposal's state history, a manifest's columns"
    )
    via: str | None = Field(description="the id of the hop this one was reached from")
    relation: str = Field(description="how it relates to that hop, e.g. 'written by'")
    depth: int


class TrailOut(BaseModel):
    ref: str
    truncated: bool = Field(description="more hops were linked than a trail holds")
    hops: list[HopOut] = Field(description="a tree in reading order: each hop, then its own")


class MeOut(BaseModel):
    reviewer_ref: str


class FieldChangeOut(BaseModel):
    field: str
    before: str | None
    after: str | None


class AppliedDecisionOut(BaseModel):
    decision_id: str
    reviewer_ref: str
    decision: Literal["APPROVED", "REJECTED"]
    notes: str
    decided_at: datetime | None


class ProposalOut(BaseModel):
    family: str
    proposal_id: str
    artifact_id: str
    state: Literal["pending", "awaiting_gateway", "decided", "auto_approved"]
    created_by: str
    created_at: datetime
    source_system: str
    confidence: float
    target_ref: str
    target_kind: str
    operation: str
    proposed_change: list[FieldChangeOut]
    merge_refs: list[str]
    reasoning_summary: str
    evidence_refs: list[str]
    method: str | None
    model: str | None
    decision: AppliedDecisionOut | None = None


class DecisionIn(BaseModel):
    proposal_family: str = Field(examples=["OracleWritebackProposal"])
    proposal_ref: str = Field(examples=["proposal:writeback:acme-stage"])
    decision: Literal["APPROVED", "REJECTED"]
    notes: str = Field(default="", description="required when rejecting")


class DecisionStatusOut(BaseModel):
    decision_id: str
    artifact_id: str
    proposal_family: str
    proposal_ref: str
    reviewer_ref: str
    decision: Literal["APPROVED", "REJECTED"]
    notes: str
    submitted_at: datetime
    status: Literal["submitted", "applied", "refused"] = Field(
        description="submitted: on Kafka, waiting for the gateway; applied or refused: its verdict"
    )
    reason: str | None = Field(default=None, description="the gateway's reason code if refused")
    message: str | None = None


class DeadLetterOut(BaseModel):
    reason: str
    stage: str
    message: str
    field: str | None
    source: str
    source_topic: str
    refused_at: datetime | None
    artifact_type: str | None
    artifact_id: str | None
    producer: str | None
    key: str | None
    value_bytes: int


class DeadLettersOut(BaseModel):
    total: int
    counts: dict[str, int]
    items: list[DeadLetterOut]


class ClientSummaryOut(BaseModel):
    client_ref: str
    display_name: str
    as_of: datetime
    open_opportunities: int
    risk_flags: int


class HealthOut(BaseModel):
    status: Literal["ok", "catching_up", "kafka_unreachable"]
    feeds: dict[str, bool]
    reason: str | None = None


# --- conversions ---------------------------------------------------------------------------


def proposal_out(entry: QueueEntry, services: ReviewServices) -> ProposalOut:
    view = entry.view
    state: Literal["pending", "awaiting_gateway", "decided", "auto_approved"]
    if entry.state is ProposalState.AUTO_APPROVED:
        state = "auto_approved"
    elif entry.decision is not None:
        state = "decided"
    elif services.desk.awaiting(entry.key) is not None:
        state = "awaiting_gateway"
    else:
        state = "pending"
    decision = entry.decision
    return ProposalOut(
        family=view.family,
        proposal_id=view.proposal_id,
        artifact_id=view.artifact_id,
        state=state,
        created_by=view.created_by,
        created_at=view.created_at,
        source_system=view.source_system,
        confidence=view.confidence,
        target_ref=view.target_ref,
        target_kind=view.target_kind,
        operation=view.operation,
        proposed_change=[
            FieldChangeOut(field=c.field, before=c.before, after=c.after) for c in view.changes
        ],
        merge_refs=list(view.merge_refs),
        reasoning_summary=view.reasoning,
        evidence_refs=list(view.evidence_refs),
        method=view.method,
        model=view.model,
        decision=None
        if decision is None
        else AppliedDecisionOut(
            decision_id=decision.decision_id,
            reviewer_ref=decision.reviewer,
            decision="APPROVED" if decision.approved else "REJECTED",
            notes=decision.notes,
            decided_at=decision.decided_at,
        ),
    )


def status_out(report: DecisionReport) -> DecisionStatusOut:
    decision = report.decision
    return DecisionStatusOut(
        decision_id=decision.decision_id,
        artifact_id=decision.artifact_id,
        proposal_family=decision.proposal_family,
        proposal_ref=decision.proposal_id,
        reviewer_ref=decision.reviewer,
        decision="APPROVED" if decision.approved else "REJECTED",
        notes=decision.notes,
        submitted_at=decision.submitted_at,
        status=report.status.value,
        reason=report.reason,
        message=report.message,
    )


def dead_letter_out(entry: DeadLetterEntry) -> DeadLetterOut:
    return DeadLetterOut(
        reason=entry.reason,
        stage=entry.stage,
        message=entry.message,
        field=entry.field,
        source=entry.source,
        source_topic=entry.source_topic,
        refused_at=entry.refused_at,
        artifact_type=entry.artifact_type,
        artifact_id=entry.artifact_id,
        producer=entry.producer,
        key=entry.key,
        value_bytes=entry.value_bytes,
    )


def client_out(summary: ClientSummary) -> ClientSummaryOut:
    return ClientSummaryOut(
        client_ref=summary.client_ref,
        display_name=summary.display_name,
        as_of=summary.as_of,
        open_opportunities=summary.open_opportunities,
        risk_flags=summary.risk_flags,
    )


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, **extra}, status_code=status)


Responses = dict[int | str, dict[str, Any]]


def _errors(*statuses: int) -> Responses:
    """The error shapes of a route for the OpenAPI document: 401, 403 and 422 always (a 422
    is ``request.invalid`` in the one error shape, not FastAPI's own validation shape)."""
    return {status: {"model": ErrorOut} for status in sorted({401, 403, 422, *statuses})}


_AUTH = _errors()

# --- routes --------------------------------------------------------------------------------


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "Kafka does not answer"}},
    tags=["health"],
    response_model_exclude_none=True,
)
def health(services: Services) -> HealthOut | JSONResponse:
    """Up, and whether every followed topic has been read to its end once; 503 with the
    reason while the process's Kafka does not answer (velocity_stream.kafka.reachability)."""
    feeds = dict(services.feeds())
    problem = kafka_health()
    if problem is not None:
        body = HealthOut(status="kafka_unreachable", feeds=feeds, reason=problem)
        return JSONResponse(body.model_dump(exclude_none=True), status_code=503)
    return HealthOut(status="ok" if all(feeds.values()) else "catching_up", feeds=feeds)


@router.get("/api/v1/me", response_model=MeOut, responses=_AUTH, tags=["decisions"])
def me(reviewer: CurrentReviewer) -> MeOut:
    """Who the token belongs to."""
    return MeOut(reviewer_ref=reviewer.ref)


@router.get(
    "/api/v1/proposals", response_model=list[ProposalOut], responses=_AUTH, tags=["proposals"]
)
def list_proposals(
    reviewer: CurrentReviewer,
    services: Services,
    include_decided: Annotated[bool, Query(description="also recently decided ones")] = False,
) -> list[ProposalOut]:
    """Proposals waiting for a reviewer, oldest first."""
    entries = services.queue.pending()
    if include_decided:
        entries += services.queue.recently_decided(100)
    return [proposal_out(entry, services) for entry in entries]


@router.get(
    "/api/v1/proposals/{family}/{proposal_id:path}",
    response_model=ProposalOut,
    responses=_errors(404),
    tags=["proposals"],
)
def get_proposal(
    family: str, proposal_id: str, reviewer: CurrentReviewer, services: Services
) -> ProposalOut | JSONResponse:
    """One proposal, pending or decided."""
    entry = services.queue.entry(family, proposal_id)
    if entry is None:
        return _error(404, "approval.unknown_proposal", f"no {family} {proposal_id!r} is known")
    return proposal_out(entry, services)


@router.post(
    "/api/v1/decisions",
    response_model=DecisionStatusOut,
    status_code=202,
    responses=_errors(404, 409, 422, 503),
    tags=["decisions"],
)
def decide(
    body: DecisionIn, reviewer: CurrentReviewer, services: Services, response: Response
) -> DecisionStatusOut | JSONResponse:
    """Approve or reject a pending proposal as the token's reviewer.

    202 means the ApprovalDecision is on Kafka; the gateway then applies or refuses it:
    poll ``GET /api/v1/decisions/{decision_id}`` for the verdict.
    """
    try:
        submitted = services.desk.decide(
            reviewer.ref,
            body.proposal_family,
            body.proposal_ref,
            approve=outcome_of(body.decision) is APPROVED,
            notes=body.notes,
        )
    except DecisionProblem as problem:
        violations = [
            {"code": v.code.value, "path": v.path, "message": v.message} for v in problem.violations
        ]
        return _error(problem.status, problem.code, problem.message, violations=violations)
    except VelocityError as error:  # the broker did not take it (DeliveryError, missing topic)
        return _error(503, "delivery.failed", str(error))
    report = services.desk.report(submitted.decision_id)
    assert report is not None
    response.headers["Location"] = f"/api/v1/decisions/{submitted.decision_id}"
    return status_out(report)


@router.get(
    "/api/v1/decisions/{decision_id:path}",
    response_model=DecisionStatusOut,
    responses=_errors(404),
    tags=["decisions"],
)
def decision_status(
    decision_id: str, reviewer: CurrentReviewer, services: Services
) -> DecisionStatusOut | JSONResponse:
    """A decision submitted through this app instance, and the gateway's verdict so far."""
    report = services.desk.report(decision_id)
    if report is None:
        return _error(404, "review.unknown_decision", f"this app did not submit {decision_id!r}")
    return status_out(report)


@router.get(
    "/api/v1/dead-letters", response_model=DeadLettersOut, responses=_AUTH, tags=["dead letters"]
)
def dead_letters(
    reviewer: CurrentReviewer,
    services: Services,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    reason: Annotated[str | None, Query(description="only this reason code")] = None,
) -> DeadLettersOut:
    """Recently refused records, newest first, with their reasons."""
    log = services.dead_letters
    return DeadLettersOut(
        total=log.total,
        counts=dict(log.counts()),
        items=[dead_letter_out(e) for e in log.recent(limit, reason)],
    )


@router.get(
    "/api/v1/clients", response_model=list[ClientSummaryOut], responses=_AUTH, tags=["clients"]
)
def list_clients(
    reviewer: CurrentReviewer,
    services: Services,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ClientSummaryOut]:
    """Clients with a snapshot, the most recently updated first."""
    return [client_out(s) for s in services.clients.list_clients(limit)]


@router.get(
    "/api/v1/clients/{client_ref:path}",
    response_model=Client360Snapshot,
    responses=_errors(404),
    tags=["clients"],
)
def get_client(
    client_ref: str, reviewer: CurrentReviewer, services: Services
) -> Client360Snapshot | JSONResponse:
    """The client's latest Client360Snapshot, exactly as its contract model."""
    snapshot = services.clients.snapshot(client_ref)
    if snapshot is None:
        return _error(404, "review.unknown_client", f"no snapshot of {client_ref!r}")
    return snapshot


@router.get(
    "/api/v1/lineage/{ref:path}",
    response_model=TrailOut,
    responses=_errors(404, 503),
    tags=["lineage"],
)
def lineage(
    ref: str,
    reviewer: CurrentReviewer,
    services: Services,
    field: Annotated[str | None, Query(description="one field of a node or client")] = None,
) -> TrailOut | JSONResponse:
    """Where a Client360 field, a committed node or an artifact came from: the change that
    committed it, the decision and its reviewer, the proposal, its evidence (interactions,
    transcripts, signals) and the raw import rows. REF is any artifact, proposal, decision,
    change, client, node, bundle, transcript, signal, import row or batch id."""
    if services.lineage is None:
        return _error(503, "review.lineage_unavailable", "this app reads no store")
    trail = services.lineage.trail(ref, field)
    if trail is None:
        what = f"field {field!r} of {ref!r}" if field else repr(ref)
        return _error(404, "review.unknown_ref", f"no store knows {what}")
    return TrailOut.model_validate(trail)
