"""Dead letters: the newest ones (filtered by reason, paged), one in full, and its replay."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from velocity_stream.errors import VelocityError
from velocity_stream.review.app import ReviewServices
from velocity_stream.review.auth import Reviewer
from velocity_stream.review.dead_letter_desk import ReplayOutcome
from velocity_stream.review.listing import paginate
from velocity_stream.review.pages.rendering import (
    CurrentReviewer,
    Services,
    message,
    read_form,
    render,
)

DEAD_LETTERS_KEPT = 500  # the newest ones the app's dead-letter log holds
DEAD_LETTER_PAGE = 50

router = APIRouter(include_in_schema=False)


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
        text = "This app instance has no Kafka connection to read dead letters from."
        return message(request, reviewer, "dead-letters", 503, "Not available here", text)
    detail = desk.detail(partition, offset)
    if detail is None:
        text = f"There is no record at {partition}:{offset} of the dead-letter topic."
        return message(request, reviewer, "dead-letters", 404, "No such dead letter", text)
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
