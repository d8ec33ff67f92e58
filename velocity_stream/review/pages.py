"""The server-rendered pages: log in, the queue, a decision's verdict, clients, dead letters.

Jinja2 templates under ``templates/`` (autoescaped), one stylesheet under ``static/``, no
scripts beyond a refresh while the gateway has not answered. Pages authenticate with the
login cookie; every form carries the form token (CSRF) and is checked before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from velocity_stream import __version__
from velocity_stream.errors import ConfigError, VelocityError
from velocity_stream.protocol.decisions import APPROVED, outcome_of
from velocity_stream.review import schemas
from velocity_stream.review.app import ReviewServices, services_of
from velocity_stream.review.auth import (
    COOKIE_MAX_AGE_S,
    COOKIE_NAME,
    AuthError,
    Reviewer,
)
from velocity_stream.review.clients import clients_related, snapshot_refs
from velocity_stream.review.dead_letter_desk import ReplayOutcome
from velocity_stream.review.decisions import DecisionProblem, DecisionStatus
from velocity_stream.review.lineage import lineage_path, page_of
from velocity_stream.review.listing import (
    QueryProblem,
    QueueQuery,
    needs_confirmation,
    paginate,
    queue_query,
)
from velocity_stream.review.queue import QueueEntry
from velocity_stream.review.touched import current_records, now_record

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
MAX_FORM_BYTES = 64 * 1024
DEAD_LETTERS_KEPT = 500  # the newest ones the app's dead-letter log holds
DEAD_LETTER_PAGE = 50

router = APIRouter(include_in_schema=False)
Services = Annotated[ReviewServices, Depends(services_of)]


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


def _ago(value: datetime | None) -> str:
    if value is None:
        return ""
    seconds = int((datetime.now(UTC) - value).total_seconds())
    if seconds < 0:
        return "in the future"
    for unit, size in (("day", 86_400), ("hour", 3_600), ("min", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 and unit != 'min' else ''} ago"
    return "just now"


def _pct(value: float) -> str:
    return f"{round(value * 100)}%"


def _amount(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(when=_when, ago=_ago, pct=_pct, amount=_amount, urlpart=quote)
templates.globals.update(lineage=lineage_path)


def render(
    request: Request,
    name: str,
    *,
    status: int = 200,
    reviewer: Reviewer | None = None,
    **context: Any,
) -> HTMLResponse:
    services = services_of(request)
    common = {
        "reviewer": reviewer,
        "form_token": services.directory.form_token(reviewer) if reviewer else "",
        "pending_count": services.queue.pending_count() if reviewer else 0,
        "caught_up": services.caught_up(),
        "version": __version__,
        "active": context.pop("active", ""),
    }
    html = templates.get_template(name).render(**common, **context)
    return HTMLResponse(html, status_code=status)


def page_reviewer(request: Request) -> Reviewer:
    """The caller, from the login cookie: AuthError (401/403) otherwise."""
    return services_of(request).directory.identify(request.cookies.get(COOKIE_NAME))


CurrentReviewer = Annotated[Reviewer, Depends(page_reviewer)]


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body as a dict (last value wins); bodies over 64 KB are cut off."""
    body = (await request.body())[:MAX_FORM_BYTES]
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in parsed.items()}


def _local_path(target: str | None) -> str:
    """Only same-site paths after login: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/queue"
    return target


def auth_error_page(request: Request, error: AuthError) -> Response:
    """A page request without a usable login: the login form, with 401 or 403."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(
        request,
        "login.html",
        status=error.status,
        error=error.message if request.cookies.get(COOKIE_NAME) or error.status == 403 else "",
        next=_local_path(target if request.method == "GET" else None),
        configured=services_of(request).directory.configured,
    )


def error_page(request: Request, status: int, title: str, text: str) -> HTMLResponse:
    """A failure shown as a page, with the navigation when the caller is logged in."""
    try:
        reviewer: Reviewer | None = page_reviewer(request)
    except AuthError:
        reviewer = None
    return render(request, "message.html", status=status, reviewer=reviewer, title=title, text=text)


# --- log in and out ------------------------------------------------------------------------


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


@router.get("/login")
def login_form(request: Request, services: Services, next: str = "/queue") -> Response:
    return render(
        request,
        "login.html",
        error="",
        next=_local_path(next),
        configured=services.directory.configured,
    )


@router.post("/login")
async def login(request: Request, services: Services) -> Response:
    form = await read_form(request)
    target = _local_path(form.get("next"))
    try:
        reviewer = services.directory.identify(form.get("token"))
    except AuthError as error:
        return render(
            request,
            "login.html",
            status=error.status,
            error=error.message,
            next=target,
            configured=services.directory.configured,
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        reviewer.token,
        max_age=COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=services.secure_cookie,
    )
    return response


@router.post("/logout")
async def logout(request: Request, reviewer: CurrentReviewer, services: Services) -> Response:
    form = await read_form(request)
    services.directory.check_form_token(reviewer, form.get("form_token"))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME)
    return response


# --- the queue and deciding ----------------------------------------------------------------


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
        return render(
            request,
            "message.html",
            status=404,
            reviewer=reviewer,
            active="queue",
            title="Unknown proposal",
            text=f"No {family} {proposal_id} is known to this app.",
        )
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
        return render(
            request,
            "message.html",
            status=404,
            reviewer=reviewer,
            active="queue",
            title="Unknown decision",
            text=f"This app instance did not submit {decision_id}.",
        )
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


# --- clients and dead letters --------------------------------------------------------------


@router.get("/clients")
def clients_page(
    request: Request, reviewer: CurrentReviewer, services: Services, q: str = ""
) -> Response:
    query = q.strip()
    if query and services.clients.snapshot(query) is not None:
        return RedirectResponse(f"/clients/{quote(query)}", status_code=303)
    listing = services.clients.list_clients(500)
    if query:
        lowered = query.lower()
        listing = [
            c
            for c in listing
            if lowered in c.client_ref.lower() or lowered in c.display_name.lower()
        ]
    return render(
        request, "clients.html", reviewer=reviewer, active="clients", clients=listing, q=query
    )


@router.get("/clients/{client_ref:path}")
def client_page(
    client_ref: str, request: Request, reviewer: CurrentReviewer, services: Services
) -> Response:
    snapshot = services.clients.snapshot(client_ref)
    if snapshot is None:
        return render(
            request,
            "message.html",
            status=404,
            reviewer=reviewer,
            active="clients",
            title="No snapshot yet",
            text=f"There is no Client360 snapshot of {client_ref} (yet).",
        )
    refs = snapshot_refs(snapshot)
    waiting = [
        entry
        for entry in services.queue.pending()
        if refs & {entry.view.target_ref, *entry.view.merge_refs}
    ]
    return render(
        request, "client.html", reviewer=reviewer, active="clients", s=snapshot, waiting=waiting
    )


@router.get("/lineage/{ref:path}")
def lineage_page(
    ref: str,
    request: Request,
    reviewer: CurrentReviewer,
    services: Services,
    field: str | None = None,
) -> Response:
    """Where a field, node or artifact came from, hop by hop (consumers/lineage)."""
    what = f"{field} of {ref}" if field else ref
    if services.lineage is None:
        return render(
            request,
            "message.html",
            status=503,
            reviewer=reviewer,
            active="clients",
            title="Lineage is not available",
            text="This app reads no store (it was started without VELOCITY_STORE_URL).",
        )
    trail = services.lineage.trail(ref, field or None)
    if trail is None:
        return render(
            request,
            "message.html",
            status=404,
            reviewer=reviewer,
            active="clients",
            title="Nothing to trace",
            text=f"No store knows {what}: check the ref, or whether its consumer has run.",
        )
    hops = [
        {**hop, "page": page_of(hop["kind"], hop["ref"], hop["facts"])} for hop in trail["hops"]
    ]
    return render(
        request,
        "lineage.html",
        reviewer=reviewer,
        active="clients",
        what=what,
        trail=trail,
        hops=hops,
    )


@router.get("/dead-letters")
def dead_letters_page(
    request: Request, reviewer: CurrentReviewer, services: Services, reason: str = ""
) -> Response:
    log = services.dead_letters
    try:
        number = int(request.query_params.get("page", "1"))
    except ValueError:
        number = 1
    page = paginate(log.recent(DEAD_LETTERS_KEPT, reason or None), number, DEAD_LETTER_PAGE)
    return render(
        request,
        "dead_letters.html",
        reviewer=reviewer,
        active="dead-letters",
        entries=page.items,
        page=page,
        counts=log.counts(),
        total=log.total,
        reason=reason,
        detail=services.dead_letter_desk is not None,
    )


def _dead_letter_page(
    request: Request,
    reviewer: Reviewer,
    services: Services,
    partition: int,
    offset: int,
    *,
    outcome: ReplayOutcome | None = None,
    status: int = 200,
) -> HTMLResponse:
    desk = services.dead_letter_desk
    if desk is None:
        return render(
            request,
            "message.html",
            status=503,
            reviewer=reviewer,
            active="dead-letters",
            title="Not available here",
            text="This app instance has no Kafka connection to read dead letters from.",
        )
    detail = desk.detail(partition, offset)
    if detail is None:
        return render(
            request,
            "message.html",
            status=404,
            reviewer=reviewer,
            active="dead-letters",
            title="No such dead letter",
            text=f"There is no record at {partition}:{offset} of the dead-letter topic.",
        )
    return render(
        request,
        "dead_letter.html",
        status=status,
        reviewer=reviewer,
        active="dead-letters",
        d=detail,
        dl=detail.dead_letter,
        outcome=outcome,
    )


@router.get("/dead-letters/{partition}/{offset}")
def dead_letter_page(
    partition: int, offset: int, request: Request, reviewer: CurrentReviewer, services: Services
) -> Response:
    return _dead_letter_page(request, reviewer, services, partition, offset)


@router.post("/dead-letters/{partition}/{offset}/replay")
async def replay_dead_letter(
    partition: int, offset: int, request: Request, reviewer: CurrentReviewer, services: Services
) -> Response:
    form = await read_form(request)
    services.directory.check_form_token(reviewer, form.get("form_token"))
    # Reading the dead letter and its audit log and replaying it are blocking Kafka round trips
    # (seconds): they run in the thread pool, never on the event loop the other requests share.
    return await run_in_threadpool(
        _replay_and_show, request, reviewer, services, partition, offset, form
    )


def _replay_and_show(
    request: Request,
    reviewer: Reviewer,
    services: ReviewServices,
    partition: int,
    offset: int,
    form: dict[str, str],
) -> Response:
    desk = services.dead_letter_desk
    if desk is None:
        return _dead_letter_page(request, reviewer, services, partition, offset)
    if form.get("confirm") != "yes":
        outcome = ReplayOutcome(False, "not replayed: tick the confirmation beside Replay first")
        return _dead_letter_page(
            request, reviewer, services, partition, offset, outcome=outcome, status=422
        )
    try:
        outcome = desk.replay(partition, offset, reviewer.ref, force=form.get("force") == "yes")
    except VelocityError as error:
        outcome = ReplayOutcome(False, f"not replayed: {error}")
    status = 200 if outcome.replayed else 409
    return _dead_letter_page(
        request, reviewer, services, partition, offset, outcome=outcome, status=status
    )


# --- schemas -------------------------------------------------------------------------------


@router.get("/schemas")
def schemas_page(request: Request, reviewer: CurrentReviewer, services: Services) -> Response:
    found = schemas.families(services.catalog)
    return render(
        request,
        "schemas.html",
        reviewer=reviewer,
        active="schemas",
        families=found,
        prefix=services.topic_prefix,
    )


@router.get("/schemas/{name}")
def schema_page(
    name: str,
    request: Request,
    reviewer: CurrentReviewer,
    services: Services,
    before: str = "",
    after: str = "",
) -> Response:
    try:
        family = services.catalog.family(name)
    except ConfigError:
        return render(
            request,
            "message.html",
            status=404,
            reviewer=reviewer,
            active="schemas",
            title="Unknown family",
            text=f"The catalog has no family {name}.",
        )
    versions = family.versions
    try:
        new = schemas.find_version(family, after, versions[-1])
        default_old = versions[-2] if len(versions) > 1 else versions[-1]
        old = schemas.find_version(family, before, default_old)
    except ConfigError as error:
        return render(
            request,
            "message.html",
            status=404,
            reviewer=reviewer,
            active="schemas",
            title="Unknown version",
            text=str(error),
        )
    return render(
        request,
        "schema.html",
        reviewer=reviewer,
        active="schemas",
        f=family,
        prefix=services.topic_prefix,
        verdicts=[schemas.verdict(family, v) for v in versions],
        diff=schemas.version_diff(family, old, new),
        mappings=schemas.major_mappings(family),
        before=str(old.version),
        after=str(new.version),
    )


# --- topics --------------------------------------------------------------------------------


def _no_kafka(request: Request, reviewer: Reviewer, active: str) -> HTMLResponse:
    return render(
        request,
        "message.html",
        status=503,
        reviewer=reviewer,
        active=active,
        title="Not available here",
        text="This app instance has no Kafka connection to read topics from.",
    )


@router.get("/topics")
def topics_page(request: Request, reviewer: CurrentReviewer, services: Services) -> Response:
    browser = services.topic_browser
    if browser is None:
        return _no_kafka(request, reviewer, "topics")
    return render(request, "topics.html", reviewer=reviewer, active="topics", topics=browser.topics)


@router.get("/topics/{topic}")
def topic_page(
    topic: str, request: Request, reviewer: CurrentReviewer, services: Services, q: str = ""
) -> Response:
    browser = services.topic_browser
    if browser is None:
        return _no_kafka(request, reviewer, "topics")
    if topic not in browser.topics:
        return render(
            request,
            "message.html",
            status=404,
            reviewer=reviewer,
            active="topics",
            title="Not a catalog topic",
            text=f"{topic} is not one of the catalog's topics.",
        )
    try:
        page = browser.browse(topic, q.strip())
    except VelocityError as error:
        return render(
            request,
            "message.html",
            status=503,
            reviewer=reviewer,
            active="topics",
            title="The topic cannot be read",
            text=str(error),
        )
    return render(request, "topic.html", reviewer=reviewer, active="topics", t=page, q=q.strip())


# --- consumer groups -----------------------------------------------------------------------


@router.get("/consumer-groups")
def groups_page(request: Request, reviewer: CurrentReviewer, services: Services) -> Response:
    reader = services.groups
    if reader is None:
        return _no_kafka(request, reviewer, "groups")
    try:
        found = reader.groups()
    except VelocityError as error:
        return render(
            request,
            "message.html",
            status=503,
            reviewer=reviewer,
            active="groups",
            title="Consumer groups cannot be read",
            text=str(error),
        )
    return render(request, "groups.html", reviewer=reviewer, active="groups", groups=found)


@router.get("/find")
def find_page(
    request: Request, reviewer: CurrentReviewer, services: Services, ref: str = ""
) -> Response:
    """The accepted artifacts a ref names (evidence and source refs link here)."""
    browser = services.topic_browser
    if browser is None:
        return _no_kafka(request, reviewer, "topics")
    wanted = ref.strip()
    try:
        found = browser.find(wanted) if wanted else []
    except VelocityError as error:
        return render(
            request,
            "message.html",
            status=503,
            reviewer=reviewer,
            active="topics",
            title="The topics cannot be read",
            text=str(error),
        )
    return render(request, "find.html", reviewer=reviewer, active="topics", ref=wanted, found=found)
