"""The review web app as a FastAPI application: the services it reads and writes, and the
assembly of the JSON API (api.py) and the server-rendered pages (pages/).

:func:`create_app` takes ready-made services, so unit tests build the app over in-memory
folds and a recording publisher; :mod:`velocity_stream.review.runtime` builds the real ones
(topic tails, the validating producer) from settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from velocity_stream import __version__
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.http.limits import BodyLimit, carries_body, send_closing
from velocity_stream.review.auth import COOKIE_NAME, AuthError, ReviewerDirectory, bearer_token
from velocity_stream.review.clients import Client360Reader, ReadModelUnavailable
from velocity_stream.review.consumer_groups import GroupReader
from velocity_stream.review.dead_letter_desk import DeadLetterDesk
from velocity_stream.review.deadletters import DeadLetterLog
from velocity_stream.review.decisions import DecisionDesk
from velocity_stream.review.lineage import LineageReader
from velocity_stream.review.queue import ApprovalQueue
from velocity_stream.review.topic_browser import TopicBrowser

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Forms and JSON decisions are a few KB; VELOCITY_REVIEW_MAX_BODY_BYTES overrides this.
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# Methods whose requests are authenticated before the app reads anything (see AuthFirst).
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The one route that takes a body from someone not logged in yet: the login form.
PUBLIC_BODY_ROUTES = frozenset({("POST", "/login")})

DESCRIPTION = """\
Review what the AI proposes before it becomes state.

Reviewers authenticate with a bearer token (`Authorization: Bearer <token>`); tokens map to
reviewer refs through `VELOCITY_REVIEWER_TOKENS`. No or an unknown token is **401**; a token
of a ref that is not one of the catalog's reviewers is **403**. A decision is published as an
`ApprovalDecision` through the validating producer; the gateway checks it again (reviewer,
self-approval, one decision per proposal) and its verdict shows in the decision's status.
"""


def _always_ready() -> Mapping[str, bool]:
    return {}


@dataclass
class ReviewServices:
    """Everything the routes use. ``feeds`` says, per followed topic set, if it caught up;
    ``dead_letter_desk`` (detail and replay of one dead letter), ``topic_browser`` and
    ``groups`` (consumer lag) are None without Kafka; ``lineage`` (trails over the stores) is
    None without a store."""

    catalog: Catalog
    directory: ReviewerDirectory
    queue: ApprovalQueue
    dead_letters: DeadLetterLog
    clients: Client360Reader
    desk: DecisionDesk
    feeds: Callable[[], Mapping[str, bool]] = field(default=_always_ready)
    secure_cookie: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    dead_letter_desk: DeadLetterDesk | None = None
    topic_prefix: str = "velocity"
    topic_browser: TopicBrowser | None = None
    groups: GroupReader | None = None
    lineage: LineageReader | None = None

    def caught_up(self) -> bool:
        return all(self.feeds().values())


def services_of(request: Request) -> ReviewServices:
    """FastAPI dependency: the services the app was built with."""
    services: ReviewServices = request.app.state.services
    return services


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(request: Request, status: int, code: str, title: str, text: str) -> Response:
    """An error as JSON for the API, as a page for people."""
    if is_api(request):
        return JSONResponse({"code": code, "message": f"{title}: {text}"}, status_code=status)
    from velocity_stream.review import pages

    return pages.error_page(request, status, title, text)


# Stable codes of the failures the framework itself answers (unknown path, wrong method).
HTTP_CODES = {
    404: ("request.not_found", "Not found", "There is no page or API route at this address."),
    405: ("request.method_not_allowed", "Method not allowed", "This address does not take"),
}


def http_error_response(request: Request, exc: StarletteHTTPException) -> Response:
    """A routing failure (404, 405 ...) in the app's shape: JSON for the API, a page else."""
    code, title, text = HTTP_CODES.get(
        exc.status_code, (f"request.http_{exc.status_code}", "Request refused", str(exc.detail))
    )
    if exc.status_code == 405:
        text = f"{text} {request.method} requests."
    elif exc.status_code == 404:
        text = f"{text} ({request.url.path})"
    response = error_response(request, exc.status_code, code, title, text)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _location(loc: tuple[int | str, ...] | list[int | str]) -> str:
    return ".".join(str(part) for part in loc)


def validation_error_response(request: Request, exc: RequestValidationError) -> Response:
    """A request that does not fit its route's shape: 422 ``request.invalid`` with every
    violation (where, and what is wrong), in the one error shape; a page for people."""
    violations = [
        {
            "code": f"request.{error.get('type', 'invalid')}",
            "path": _location(error.get("loc", ())),
            "message": str(error.get("msg", "invalid")),
        }
        for error in exc.errors()
    ]
    summary = "; ".join(f"{v['path']}: {v['message']}" for v in violations[:5])
    if is_api(request):
        return JSONResponse(
            {
                "code": "request.invalid",
                "message": f"The request does not fit this route: {summary}",
                "violations": violations,
            },
            status_code=422,
        )
    return error_response(request, 422, "request.invalid", "The request is not valid", summary)


def auth_error_response(request: Request, error: AuthError) -> Response:
    """A refused caller: JSON with WWW-Authenticate (401) for the API, the login page else."""
    if is_api(request):
        headers = {"WWW-Authenticate": 'Bearer realm="velocity-review"'}
        return JSONResponse(
            {"code": error.code.value, "message": error.message},
            status_code=error.status,
            headers=headers if error.status == 401 else None,
        )
    from velocity_stream.review import pages

    return pages.auth_error_page(request, error)


class AuthFirst:
    """ASGI middleware: a request that may carry a body is authenticated before anything reads
    or validates that body.

    FastAPI reads and validates a route's body before it runs the route's dependencies, the
    token check among them; so an unauthenticated caller could make the app buffer and parse
    whatever it sent. Here every request with a body, or with a method that takes one, is
    checked first: the API by its bearer token, pages by the login cookie; the login form is
    the one exception. A refusal is the same 401/403 the routes give, and closes the
    connection (the body stays unread). The routes still check the token themselves, and the
    form (CSRF) token after reading the form.
    """

    def __init__(self, app: ASGIApp, *, directory: ReviewerDirectory) -> None:
        self.app = app
        self.directory = directory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._checked(scope):
            request = Request(scope)
            if is_api(request):
                token = bearer_token(request.headers.get("authorization"))
            else:
                token = request.cookies.get(COOKIE_NAME)
            try:
                self.directory.identify(token)
            except AuthError as error:
                await send_closing(auth_error_response(request, error), scope, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _checked(scope: Scope) -> bool:
        method = scope["method"]
        if (method, scope["path"]) in PUBLIC_BODY_ROUTES:
            return False
        return method in BODY_METHODS or carries_body(scope)


def _too_large(scope: Scope, limit: int, declared: int | None) -> Response:
    size = f" (this one is {declared} bytes)" if declared is not None else ""
    return error_response(
        Request(scope),
        413,
        "request.body_too_large",
        "The request is too large",
        f"Request bodies are at most {limit} bytes{size}.",
    )


def create_app(services: ReviewServices) -> FastAPI:
    from velocity_stream.review import api, pages
    from velocity_stream.review.apidocs import mount_docs

    app = FastAPI(
        title="Velocity Stream review",
        docs_url=None,
        redoc_url=None,
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=[
            {"name": "proposals", "description": "the pending-approval queue"},
            {"name": "decisions", "description": "approve or reject, and the gateway's verdict"},
            {"name": "clients", "description": "Client360 snapshots"},
            {"name": "dead letters", "description": "records the gateway refused"},
            {"name": "lineage", "description": "where a field, node or artifact came from"},
        ],
    )
    app.state.services = services

    async def on_auth_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AuthError)
        return auth_error_response(request, exc)

    async def on_read_model_unavailable(request: Request, exc: Exception) -> Response:
        log.warning("read model unavailable: %s", exc)
        return error_response(
            request,
            503,
            "review.read_model_unavailable",
            "The read model is not available",
            f"{exc} The Client360 consumer writes it; it may not have started yet.",
        )

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            request,
            500,
            "internal.unexpected_error",
            "Something went wrong",
            "The error is in the app's log. Reload the page to try again.",
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return http_error_response(request, exc)

    async def on_invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return validation_error_response(request, exc)

    app.add_exception_handler(AuthError, on_auth_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(ReadModelUnavailable, on_read_model_unavailable)
    app.add_exception_handler(Exception, on_unexpected)
    app.include_router(api.router)
    app.include_router(pages.router)
    mount_docs(app, "Velocity Stream review")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The last added runs first: authenticate, then bound the body, then the routes.
    app.add_middleware(BodyLimit, max_bytes=services.max_body_bytes, refuse=_too_large)
    app.add_middleware(AuthFirst, directory=services.directory)
    return app
