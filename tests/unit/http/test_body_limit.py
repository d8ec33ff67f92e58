"""BodyLimit over a small echo app: refused from Content-Length before reading, refused while
streaming once the count passes the limit (chunked or a lying length), never buffered."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from tests.asgi import call
from velocity_stream.http.limits import BodyLimit, BodyTooLarge, carries_body, declared_length

LIMIT = 100


def refuse(scope: Scope, limit: int, declared: int | None) -> Response:
    return JSONResponse({"limit": limit, "declared": declared}, status_code=413)


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    body = await Request(scope, receive).body()
    await PlainTextResponse(f"{len(body)} bytes")(scope, receive, send)


async def answers_anyway(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that catches every error while reading and answers 400 (as FastAPI does)."""
    try:
        await Request(scope, receive).body()
    except BodyTooLarge:
        await PlainTextResponse("could not read the body", status_code=400)(scope, receive, send)
        return
    await PlainTextResponse("read")(scope, receive, send)


def limited(app: object = echo) -> BodyLimit:
    return BodyLimit(app, max_bytes=LIMIT, refuse=refuse)  # type: ignore[arg-type]


def test_content_length_over_the_limit_is_refused_before_anything_is_read() -> None:
    answer = call(limited(), "POST", "/", [b"x" * 500], {"content-length": "500"})
    assert (answer.status, answer.json()) == (413, {"limit": LIMIT, "declared": 500})
    assert answer.pulled == 0
    assert answer.headers["connection"] == "close"


def test_a_chunked_body_is_refused_once_it_passes_the_limit_and_the_rest_is_never_pulled() -> None:
    pieces = [b"x" * 40] * 50  # 2000 bytes in all; the third piece passes 100
    answer = call(limited(), "POST", "/", pieces, {"transfer-encoding": "chunked"})
    assert (answer.status, answer.json()) == (413, {"limit": LIMIT, "declared": None})
    assert answer.pulled == 3
    assert answer.responses == 1
    assert answer.headers["connection"] == "close"


def test_a_lying_content_length_is_refused_by_the_count() -> None:
    answer = call(limited(), "POST", "/", [b"x" * 60] * 10, {"content-length": "10"})
    assert (answer.status, answer.json()) == (413, {"limit": LIMIT, "declared": 10})
    assert answer.pulled == 2


def test_the_apps_own_answer_after_a_refusal_goes_nowhere() -> None:
    answer = call(limited(answers_anyway), "POST", "/", [b"x" * 60] * 3)
    assert (answer.status, answer.responses) == (413, 1)


@pytest.mark.parametrize("chunked", [True, False])
def test_a_body_of_exactly_the_limit_is_served(chunked: bool) -> None:
    headers = {"transfer-encoding": "chunked"} if chunked else {"content-length": str(LIMIT)}
    answer = call(limited(), "POST", "/", [b"x" * 50, b"x" * 50], headers)
    assert (answer.status, answer.body) == (200, b"100 bytes")
    over = call(limited(), "POST", "/", [b"x" * 50, b"x" * 51], {"transfer-encoding": "chunked"})
    assert over.status == 413


def test_requests_without_a_body_and_other_scopes_pass() -> None:
    assert call(limited(), "GET", "/").body == b"0 bytes"
    seen: list[str] = []

    async def lifespan_app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> dict[str, str]:
        return {"type": "lifespan.startup"}

    async def ignore(message: object) -> None:
        return None

    asyncio.run(limited(lifespan_app)({"type": "lifespan"}, nothing, ignore))  # type: ignore[arg-type]
    assert seen == ["lifespan"]


def test_an_error_of_the_app_itself_is_not_swallowed() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        call(limited(broken), "POST", "/", [b"x"])


def test_header_helpers() -> None:
    def scope(**headers: str) -> Scope:
        return {"headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}

    assert declared_length(scope(content_length="42")) == 42
    assert declared_length(scope(content_length="4x2")) is None
    assert declared_length(scope()) is None
    assert carries_body(scope(content_length="1"))
    assert carries_body(scope(transfer_encoding="chunked"))
    assert not carries_body(scope(content_length="0"))
    assert not carries_body(scope())


def test_a_negative_limit_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="negative"):
        BodyLimit(echo, max_bytes=-1, refuse=refuse)
