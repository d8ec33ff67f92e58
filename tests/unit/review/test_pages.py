"""The pages: the login cookie, 401/403 pages, form tokens, deciding, and what each page shows."""

from __future__ import annotations

import re

import pytest

from velocity_stream.contracts import example
from velocity_stream.review.deadletters import DeadLetterEntry, DeadLetterLog
from velocity_stream.review.proposals import proposal_view
from velocity_stream.review.queue import AppliedDecision, ApprovalQueue, ProposalState

WRITEBACK = ("OracleWritebackProposal", "proposal:writeback:acme-stage")


def log_in(client, token="tok-sayan"):
    return client.post("/login", data={"token": token, "next": "/queue"}, follow_redirects=False)


def form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([0-9a-f]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


@pytest.mark.parametrize(
    "path", ["/queue", "/clients", "/clients/client:acme-holdings", "/dead-letters"]
)
def test_pages_without_a_login_are_401_with_the_login_form(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert 'action="/login"' in response.text
    assert f'name="next" value="{path}"' in response.text


def test_logging_in_sets_an_http_only_strict_cookie_and_goes_on(client):
    response = log_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/queue"
    cookie = response.headers["set-cookie"]
    assert "velocity_review=tok-sayan" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/queue").status_code == 200


def test_a_wrong_token_at_login_is_401_and_sets_no_cookie(client):
    response = log_in(client, "nope")
    assert response.status_code == 401
    assert "not a reviewer token" in response.text
    assert "set-cookie" not in response.headers


def test_a_non_reviewer_at_login_is_403(client):
    response = log_in(client, "tok-intern")
    assert response.status_code == 403
    assert "human:intern is not one of the catalog" in response.text


def test_a_non_reviewer_cookie_is_403_on_pages(client):
    client.cookies.set("velocity_review", "tok-intern")
    assert client.get("/queue").status_code == 403


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "queue"])
def test_login_never_redirects_off_site(client, target):
    response = client.post(
        "/login", data={"token": "tok-sayan", "next": target}, follow_redirects=False
    )
    assert response.headers["location"] == "/queue"


def test_queue_page_shows_reasoning_evidence_confidence_and_change(client):
    log_in(client)
    html = client.get("/queue").text
    assert "The client confirmed budget and asked for site visits on the call." in html
    assert "transcript:call:7781" in html
    assert "81%" in html
    assert "QUALIFYING" in html and "SITE_VISITS" in html
    assert "person:p-raman-2025" in html  # the entity proposal's merge candidate


def test_deciding_without_the_form_token_is_403_and_publishes_nothing(client, publisher):
    log_in(client)
    response = client.post(
        "/queue/decide",
        data={"family": WRITEBACK[0], "proposal_id": WRITEBACK[1], "decision": "APPROVED"},
    )
    assert response.status_code == 403
    assert publisher.published == []


def test_approving_on_the_page_publishes_and_shows_the_gateways_verdict(
    client, publisher, queue: ApprovalQueue
):
    log_in(client)
    token = form_token(client.get("/queue").text)
    response = client.post(
        "/queue/decide",
        data={
            "form_token": token,
            "family": WRITEBACK[0],
            "proposal_id": WRITEBACK[1],
            "decision": "APPROVED",
            "notes": "Matches the call",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    [decision] = publisher.published
    assert response.headers["location"].startswith("/decisions/decision")
    waiting = client.get(response.headers["location"])
    assert 'data-status="submitted"' in waiting.text
    assert 'http-equiv="refresh"' in waiting.text
    assert "Acme Holdings (Priya Raman)" in waiting.text  # the client the target belongs to
    queue.add_decision(
        WRITEBACK,
        AppliedDecision(decision.decision_id, decision.artifact_id, "human:sayan", True, "", None),
    )
    applied = client.get(response.headers["location"])
    assert 'data-status="applied"' in applied.text
    assert 'http-equiv="refresh"' not in applied.text


def test_rejecting_without_notes_shows_why_on_the_queue(client, publisher):
    log_in(client)
    token = form_token(client.get("/queue").text)
    response = client.post(
        "/queue/decide",
        data={
            "form_token": token,
            "family": WRITEBACK[0],
            "proposal_id": WRITEBACK[1],
            "decision": "REJECTED",
            "notes": "",
        },
    )
    assert response.status_code == 422
    assert "a rejection says why" in response.text
    assert publisher.published == []


def test_logout_needs_the_form_token_and_clears_the_cookie(client):
    log_in(client)
    assert client.post("/logout", data={}).status_code == 403
    token = form_token(client.get("/queue").text)
    response = client.post("/logout", data={"form_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert 'velocity_review=""' in response.headers["set-cookie"]


def test_proposal_text_is_escaped(client, queue: ApprovalQueue):
    artifact = example("OracleWritebackProposal")
    hostile = artifact.model_copy(
        update={"reasoning_summary": "<script>alert(1)</script>", "proposal_id": "proposal:x"}
    )
    queue.add_proposal(
        proposal_view("OracleWritebackProposal", "proposal:x", hostile), ProposalState.PENDING
    )
    log_in(client)
    html = client.get("/queue").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_client_page_shows_the_snapshot(client):
    log_in(client)
    html = client.get("/clients/client:acme-holdings").text
    for expected in (
        "Acme Holdings (Priya Raman)",
        "3BHK near Salt Lake",
        "SITE_VISITS",
        "priya.raman@acme-holdings.example",
        "purchase intent",
        "Schedule two site visits",
        "duplicate contact merged",
    ):
        assert expected in html
    assert client.get("/clients/client:nobody").status_code == 404


def test_clients_search_goes_straight_to_an_exact_ref(client):
    log_in(client)
    response = client.get("/clients?q=client:acme-holdings", follow_redirects=False)
    assert response.headers["location"] == "/clients/client%3Aacme-holdings"
    assert "Acme Holdings" in client.get("/clients?q=acme").text
    assert "No snapshots match" in client.get("/clients?q=zzz").text


def test_dead_letters_page_shows_reasons_and_filters(client, dead_letters: DeadLetterLog):
    for offset, reason in enumerate(["auth.not_owner", "decode.bad_magic_byte"]):
        dead_letters.add(
            DeadLetterEntry(
                reason,
                reason.split(".")[0],
                f"why {offset}",
                None,
                "velocity.t.v1",
                0,
                offset,
                None,
                None,
                None,
                None,
                None,
                10,
                0,
                offset,
            )
        )
    log_in(client)
    html = client.get("/dead-letters").text
    assert "auth.not_owner" in html and "why 0" in html and "why 1" in html
    filtered = client.get("/dead-letters?reason=auth.not_owner").text
    assert "why 0" in filtered and "why 1" not in filtered


def test_client_page_lists_proposals_waiting_on_its_entities(client, queue: ApprovalQueue):
    # the example writeback targets opportunity:acme-3bhk, one of the example client's
    log_in(client)
    html = client.get("/clients/client:acme-holdings").text
    assert "Waiting for review" in html
    assert "proposal:writeback:acme-stage" in html
    queue.add_decision(WRITEBACK, AppliedDecision("d", "a", "human:sourik", True, "", None))
    assert "proposal:writeback:acme-stage" not in client.get("/clients/client:acme-holdings").text
