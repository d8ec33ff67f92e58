"""The queue and deciding: the pending proposals (filtered, sorted, paged), one proposal with
the current values it would change, the decision form, and a decision's verdict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from velocity_stream.errors import VelocityError
from velocity_stream.protocol.decisions import APPROVED, outcome_of
from velocity_stream.review.auth import Reviewer
from velocity_stream.review.clients import clients_related
from velocity_stream.review.decisions import DecisionProblem, DecisionStatus
from velocity_stream.review.listing import (
    QueryProblem,
    QueueQuery,
    needs_confirmation,
    paginate,
    queue_query,
)
from velocity_stream.review.pages.rendering import (
    CurrentReviewer,
    Services,
    message,
    read_form,
    render,
)
from velocity_stream.review.queue import QueueEntry
from velocity_stream.review.touched import current_records, now_record

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Problem:
    """A failed decision shown as a banner at the top of the page the reviewer lands on: it
    stays visible even when the proposal's card is gone (decided meanwhile, a stale tab)."""

    title: str
    text: str
    family: str = ""
    proposal_id: str = ""


def _queue_page(
    request: Request,
    reviewer: Reviewer,
    services: Services,
    *,
    status: int = 200,
    problem: Problem | None = None,
    notes: str = "",
    query: QueueQuery | None = None,
) -> HTMLResponse:
    desk = services.desk
    if query is None:
        try:
            query = queue_query(request.query_params)
        except QueryProblem as bad:
            query = QueueQuery()
            status = 422
            problem = Problem("This filter cannot be used", str(bad))
    all_pending = services.queue.pending()
    if query.filtered or query.sort != "oldest":
        page = query.apply(all_pending, datetime.now(UTC))
    else:  # the queue's own order, nothing to filter
        page = paginate(all_pending, query.page, query.size)
    refs = [r for e in page.items for r in (e.view.target_ref, *e.view.merge_refs)]
    current = current_records(services.clients, refs)
    return render(
        request,
        "queue.html",
        status=status,
        reviewer=reviewer,
        active="queue",
        pending=[
            {
                "entry": entry,
                "awaiting": desk.awaiting(entry.key),
                "refusal": desk.last_refusal(entry.key),
                "confirm": needs_confirmation(entry),
                "current": now_record(current, entry.view.target_ref, entry.view.merge_refs),
            }
            for entry in page.items
        ],
        page=page,
        query=query,
        all_count=len(all_pending),
        families=sorted({e.view.family for e in all_pending}),
        operations=sorted({e.view.operation for e in all_pending}),
        decided=services.queue.recently_decided(10),
        mine=desk.recent(10),
        problem=problem,
        notes=notes,
    )


@router.get("/queue")
def queue_page(request: Request, reviewer: CurrentReviewer, services: Services) -> Response:
    return _queue_page(request, reviewer, services)


def _proposal_page(
    request: Request,
    reviewer: Reviewer,
    services: Services,
    entry: QueueEntry,
    *,
    status: int = 200,
    problem: Problem | None = None,
    notes: str = "",
) -> HTMLResponse:
    view = entry.view
    current = current_records(services.clients, [view.target_ref, *view.merge_refs])
    mine = [r for r in services.desk.recent(1000) if r.decision.key == entry.key]
    clients = {record.client_ref for record in current.values()}
    return render(
        request,
        "proposal.html",
        status=status,
        reviewer=reviewer,
        active="queue",
        e=entry,
        v=view,
        current=current,
        survivor=now_record(current, view.target_ref, view.merge_refs),
        history=mine,
        awaiting=services.desk.awaiting(entry.key),
        confirm=needs_confirmation(entry),
        evidence=[
            (ref, _ref_link(ref, clients, services.topic_browser is not None))
            for ref in view.evidence_refs
        ],
        problem=problem,
        notes=notes,
    )


def _ref_link(ref: str, clients: set[str], searchable: bool) -> str | None:
    """Where a ref has a page in this app: a client's page, else (with Kafka) the accepted
    artifacts that name it."""
    if ref in clients or ref.startswith("client:"):
        return f"/clients/{quote(ref)}"
    if searchable:
        return f"/find?ref={quote(ref)}"
    return None


@router.get("/proposals/{family}/{proposal_id:path}")
def proposal_page(
    family: str, proposal_id: str, request: Request, reviewer: CurrentReviewer, services: Services
) -> Response:
    entry = services.queue.entry(family, proposal_id)
    if entry is None:
        text = f"No {family} {proposal_id} is known to this app."
        return message(request, reviewer, "queue", 404, "Unknown proposal", text)
    return _proposal_page(request, reviewer, services, entry)


@router.post("/queue/decide")
async def decide(request: Request, reviewer: CurrentReviewer, services: Services) -> Response:
    form = await read_form(request)
    services.directory.check_form_token(reviewer, form.get("form_token"))
    family = form.get("family", "")
    proposal_id = form.get("proposal_id", "")
    notes = form.get("notes", "")
    verdict = outcome_of(form.get("decision", ""))
    entry = services.queue.entry(family, proposal_id)

    def refused(status: int, title: str, text: str) -> HTMLResponse:
        problem = Problem(title, text, family, proposal_id)
        if form.get("from") == "proposal" and entry is not None:
            return _proposal_page(
                request, reviewer, services, entry, status=status, problem=problem, notes=notes
            )
        return _queue_page(
            request,
            reviewer,
            services,
            status=status,
            problem=problem,
            notes=notes,
            query=QueueQuery(),
        )

    if verdict is None:
        return refused(422, "Choose Approve or Reject", f"Nothing was decided on {proposal_id}.")
    reason = needs_confirmation(entry) if entry is not None else None
    if verdict is APPROVED and reason and form.get("confirm") != "yes":
        return refused(
            422,
            "Confirm the approval",
            f"{proposal_id} was not approved: {reason}. Tick the confirmation beside "
            "Approve once you have checked the current values.",
        )
    try:
        submitted = services.desk.decide(
            reviewer.ref, family, proposal_id, approve=verdict is APPROVED, notes=notes
        )
    except DecisionProblem as problem:
        title = {
            409: "Already decided",
            404: "Unknown proposal",
            422: "The decision was not sent",
        }.get(problem.status, "The decision was not sent")
        return refused(problem.status, title, f"{proposal_id}: {problem.message}")
    except VelocityError as error:
        return refused(503, "The decision was not sent", f"It could not be published: {error}")
    return RedirectResponse(f"/decisions/{quote(submitted.decision_id)}", status_code=303)


@router.get("/decisions/{decision_id:path}")
def decision_page(
    decision_id: str, request: Request, reviewer: CurrentReviewer, services: Services
) -> Response:
    report = services.desk.report(decision_id)
    if report is None:
        text = f"This app instance did not submit {decision_id}."
        return message(request, reviewer, "queue", 404, "Unknown decision", text)
    entry = services.queue.entry(report.decision.proposal_family, report.decision.proposal_id)
    refs: list[str] = []
    if entry is not None:
        refs = [entry.view.target_ref, *entry.view.evidence_refs, *entry.view.merge_refs]
    return render(
        request,
        "decision.html",
        reviewer=reviewer,
        active="queue",
        report=report,
        entry=entry,
        submitted=report.status is DecisionStatus.SUBMITTED,
        clients=clients_related(services.clients, [r for r in refs if r]),
    )
