"""Bounded requests in the review app: who the caller is is settled before a byte of a body
is read, and bodies over VELOCITY_REVIEW_MAX_BODY_BYTES are refused (413) without buffering."""

from __future__ import annotations

import dataclasses
import json

import pytest
from fastapi import FastAPI

from tests.asgi import call
from tests.unit.review.conftest import RecordingPublisher
from velocity_stream.review.app import DEFAULT_MAX_BODY_BYTES, ReviewServices, create_app
from velocity_stream.settings import Settings

LIMIT = 2048
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
HUGE = str(200 * 1024 * 1024)


@pytest.fixture
def app(services: ReviewServices) -> FastAPI:
    return create_app(dataclasses.replace(services, max_body_bytes=LIMIT))


def auth(token: str = "tok-sayan") -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def login(token: str = "tok-sayan") -> dict[str, str]:
    return {"cookie": f"velocity_review={token}"}


def decision(notes: str = "ok") -> bytes:
    return json.dumps(
        {
            "proposal_family": "OracleWritebackProposal",
            "proposal_ref": "proposal:writeback:acme-stage",
            "decision": "APPROVED",
            "notes": notes,
        }
    ).encode()


def test_the_default_limit_is_the_settings_default() -> None:
    assert Settings().review_max_body_bytes == DEFAULT_MAX_BODY_BYTES == 64 * 1024


# --- authentication before the body --------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "auth.token_missing"),
        (auth("tok-nobody"), 401, "auth.token_unknown"),
        (auth("tok-intern"), 403, "auth.not_reviewer"),
    ],
)
def test_an_api_body_from_an_unauthenticated_caller_is_refused_unread(
    app: FastAPI, headers: dict[str, str], status: int, code: str
) -> None:
    answer = call(app, "POST", "/api/v1/decisions", [b"x" * 1024] * 4, {**JSON, **headers})
    assert (answer.status, answer.json()["code"]) == (status, code)
    assert answer.pulled == 0
    assert answer.headers["connection"] == "close"
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_an_unauthenticated_huge_body_is_401_not_413(app: FastAPI) -> None:
    answer = call(app, "POST", "/api/v1/decisions", [b"x" * 1024], {**JSON, "content-length": HUGE})
    assert (answer.status, answer.json()["code"], answer.pulled) == (401, "auth.token_missing", 0)


def test_an_invalid_body_without_a_token_is_401_not_a_validation_error(app: FastAPI) -> None:
    answer = call(app, "POST", "/api/v1/decisions", [b"{not json"], JSON)
    assert (answer.status, answer.json()["code"]) == (401, "auth.token_missing")
    empty = call(app, "POST", "/api/v1/decisions", [], {**JSON, "content-length": "0"})
    assert (empty.status, empty.json()["code"]) == (401, "auth.token_missing")


def test_a_page_form_without_a_login_is_the_login_page_unread(app: FastAPI) -> None:
    answer = call(app, "POST", "/queue/decide", [b"x" * 1024] * 4, FORM)
    assert answer.status == 401
    assert answer.pulled == 0
    assert b'name="token"' in answer.body  # the login form


def test_a_login_of_someone_not_a_reviewer_is_403_unread(app: FastAPI) -> None:
    answer = call(app, "POST", "/logout", [b"form_token=x"], {**FORM, **login("tok-intern")})
    assert (answer.status, answer.pulled) == (403, 0)


def test_the_login_form_itself_needs_no_login_but_is_bounded(app: FastAPI) -> None:
    ok = call(app, "POST", "/login", [b"token=tok-sayan&next=/queue"], FORM)
    assert ok.status == 303
    big = call(app, "POST", "/login", [b"x" * 1024] * 4, FORM)
    assert (big.status, big.pulled) == (413, 3)


def test_form_tokens_still_guard_the_forms(app: FastAPI, publisher: RecordingPublisher) -> None:
    stale = b"form_token=stale&family=OracleWritebackProposal&decision=APPROVED"
    answer = call(app, "POST", "/queue/decide", [stale], {**FORM, **login()})
    assert answer.status == 403
    assert publisher.published == []


# --- the size limit ------------------------------------------------------------------------


def test_an_authenticated_content_length_over_the_limit_is_413_unread(app: FastAPI) -> None:
    answer = call(
        app, "POST", "/api/v1/decisions", [b"x" * 1024], {**JSON, **auth(), "content-length": HUGE}
    )
    assert answer.status == 413
    assert answer.json() == {
        "code": "request.body_too_large",
        "message": f"The request is too large: Request bodies are at most {LIMIT} bytes "
        f"(this one is {HUGE} bytes).",
    }
    assert (answer.pulled, answer.headers["connection"]) == (0, "close")


def test_a_chunked_body_over_the_limit_is_413_without_reading_the_rest(app: FastAPI) -> None:
    pieces = [b"x" * 1000] * 200
    answer = call(app, "POST", "/api/v1/decisions", pieces, {**JSON, **auth()})
    assert (answer.status, answer.json()["code"]) == (413, "request.body_too_large")
    assert (answer.pulled, answer.responses) == (3, 1)


def test_a_lying_content_length_is_413_by_the_count(
    app: FastAPI, publisher: RecordingPublisher
) -> None:
    pieces = [decision()[:20], b"x" * LIMIT]
    headers = {**JSON, **auth(), "content-length": "20"}
    answer = call(app, "POST", "/api/v1/decisions", pieces, headers)
    assert (answer.status, answer.pulled) == (413, 2)
    assert publisher.published == []


def test_a_page_form_over_the_limit_is_a_413_page(app: FastAPI) -> None:
    answer = call(app, "POST", "/queue/decide", [b"x" * 1000] * 10, {**FORM, **login()})
    assert answer.status == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert b"too large" in answer.body


def test_a_decision_just_under_the_limit_is_taken(
    app: FastAPI, publisher: RecordingPublisher
) -> None:
    body = decision("n" * (LIMIT - len(decision(""))))
    assert len(body) == LIMIT
    pieces = [body[:1000], body[1000:]]
    answer = call(app, "POST", "/api/v1/decisions", pieces, {**JSON, **auth()})
    assert answer.status == 202, answer.body
    assert len(publisher.published) == 1
    one_more = decision("n" * (LIMIT - len(decision("")) + 1))
    answer = call(app, "POST", "/api/v1/decisions", [one_more], {**JSON, **auth()})
    assert answer.status == 413
