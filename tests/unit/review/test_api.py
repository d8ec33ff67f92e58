"""The JSON API: authentication, the queue, deciding, verdicts, dead letters, clients."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.review.conftest import NOW, SERDE, RecordingPublisher, bearer
from velocity_stream.contracts import example
from velocity_stream.contracts.approval import ApprovalDecision, DecisionOutcome, proposal_digest
from velocity_stream.kafka.producer import DeliveryError
from velocity_stream.review.deadletters import DeadLetterEntry, DeadLetterLog
from velocity_stream.review.queue import AppliedDecision, ApprovalQueue

WRITEBACK = ("OracleWritebackProposal", "proposal:writeback:acme-stage")
ENTITY = ("NormalizedEntityProposal", "proposal:entity:priya-raman")

PROTECTED = [
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/proposals"),
    ("GET", f"/api/v1/proposals/{WRITEBACK[0]}/{WRITEBACK[1]}"),
    ("POST", "/api/v1/decisions"),
    ("GET", "/api/v1/decisions/decision:1"),
    ("GET", "/api/v1/dead-letters"),
    ("GET", "/api/v1/clients"),
    ("GET", "/api/v1/clients/client:acme-holdings"),
]


def approve(client, token="tok-sayan", proposal=WRITEBACK, decision="APPROVED", notes="ok"):
    body = {
        "proposal_family": proposal[0],
        "proposal_ref": proposal[1],
        "decision": decision,
        "notes": notes,
    }
    return client.post("/api/v1/decisions", json=body, headers=bearer(token))


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_api_route_needs_a_token(client, method, path):
    response = client.request(method, path, json={})
    assert response.status_code == 401
    assert response.json()["code"] == "auth.token_missing"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_an_unknown_token_is_401(client, method, path):
    response = client.request(method, path, json={}, headers=bearer("nope"))
    assert response.status_code == 401
    assert response.json()["code"] == "auth.token_unknown"


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_a_token_of_someone_not_allowed_is_403(client, method, path, publisher):
    response = client.request(method, path, json={}, headers=bearer("tok-intern"))
    assert response.status_code == 403
    assert response.json()["code"] == "auth.not_reviewer"
    assert publisher.published == []


def test_cookie_does_not_authenticate_the_api(client):
    client.cookies.set("velocity_review", "tok-sayan")
    assert client.get("/api/v1/me").status_code == 401


def test_me_names_the_reviewer(client):
    assert client.get("/api/v1/me", headers=bearer("tok-sayan")).json() == {
        "reviewer_ref": "human:sayan"
    }


def test_queue_lists_pending_proposals_with_reasoning_evidence_confidence_and_change(client):
    proposals = client.get("/api/v1/proposals", headers=bearer("tok-sayan")).json()
    by_id = {p["proposal_id"]: p for p in proposals}
    writeback = by_id[WRITEBACK[1]]
    assert writeback["state"] == "pending"
    assert writeback["reasoning_summary"].startswith("The client confirmed budget")
    assert writeback["evidence_refs"] == ["transcript:call:7781", "signal:acme:intent:2026-04-18"]
    assert writeback["confidence"] == 0.81
    assert writeback["proposed_change"][0] == {
        "field": "stage",
        "before": "QUALIFYING",
        "after": "SITE_VISITS",
    }
    assert by_id[ENTITY[1]]["merge_refs"] == ["person:p-raman-2025"]


def test_approving_publishes_an_approval_decision_as_the_tokens_reviewer(client, publisher, queue):
    response = approve(client, notes="  Matches the call.  ")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "submitted"
    assert response.headers["Location"] == f"/api/v1/decisions/{body['decision_id']}"
    [decision] = publisher.published
    assert isinstance(decision, ApprovalDecision)
    assert decision.decision_id == body["decision_id"]
    assert decision.proposal_ref == WRITEBACK[1]
    assert decision.proposal_family == WRITEBACK[0]
    assert decision.reviewer_ref == decision.created_by == "human:sayan"
    assert decision.source_system == "review-app"
    assert decision.decision is DecisionOutcome.APPROVED
    assert decision.decision_notes == "Matches the call."
    assert decision.decided_at == NOW
    # names the proposal bytes the reviewer was shown (as the approvals topic carries them)
    shown = queue.entry(*WRITEBACK).value_digest
    assert decision.proposal_digest == shown
    assert shown == proposal_digest(SERDE.encode(example(WRITEBACK[0])))


def test_a_proposal_whose_bytes_are_unknown_is_not_decided(client, publisher, queue):
    from velocity_stream.review.proposals import proposal_view
    from velocity_stream.review.queue import ProposalState

    artifact = example(WRITEBACK[0]).model_copy(update={"proposal_id": "proposal:no-bytes"})
    queue.add_proposal(
        proposal_view(WRITEBACK[0], "proposal:no-bytes", artifact), ProposalState.PENDING
    )
    response = client.post(
        "/api/v1/decisions",
        json={
            "proposal_family": WRITEBACK[0],
            "proposal_ref": "proposal:no-bytes",
            "decision": "APPROVED",
            "notes": "ok",
        },
        headers=bearer("tok-sayan"),
    )
    assert response.status_code == 409 and publisher.published == []


def test_a_proposal_with_a_decision_on_its_way_is_shown_and_not_decided_twice(client, publisher):
    assert approve(client).status_code == 202
    proposal = client.get(
        f"/api/v1/proposals/{WRITEBACK[0]}/{WRITEBACK[1]}", headers=bearer("tok-sourik")
    ).json()
    assert proposal["state"] == "awaiting_gateway"
    second = approve(client, token="tok-sourik", decision="REJECTED", notes="no")
    assert second.status_code == 409
    assert second.json()["code"] == "approval.already_decided"
    assert len(publisher.published) == 1


def test_rejecting_without_notes_is_refused_before_publishing(client, publisher):
    response = approve(client, decision="REJECTED", notes="   ")
    assert response.status_code == 422
    assert response.json()["code"] == "contract.approval_decision.notes_required"
    assert response.json()["violations"][0]["path"] == "decision_notes"
    assert publisher.published == []


def test_deciding_an_unknown_proposal_is_404(client, publisher):
    response = approve(client, proposal=("OracleWritebackProposal", "proposal:nope"))
    assert response.status_code == 404
    assert response.json()["code"] == "approval.unknown_proposal"
    assert publisher.published == []


def test_deciding_an_already_decided_proposal_is_409(client, queue: ApprovalQueue, publisher):
    queue.add_decision(
        WRITEBACK, AppliedDecision("decision:0", "art:0", "human:sourik", True, "", None)
    )
    response = approve(client)
    assert response.status_code == 409
    assert "human:sourik" in response.json()["message"]
    assert publisher.published == []
    listed = client.get("/api/v1/proposals", headers=bearer("tok-sayan")).json()
    assert WRITEBACK[1] not in {p["proposal_id"] for p in listed}


def test_a_broker_that_does_not_take_the_decision_is_503(client, publisher: RecordingPublisher):
    publisher.fail = DeliveryError("velocity.approval-decision.v1", "broker down")
    response = approve(client)
    assert response.status_code == 503
    assert "broker down" in response.json()["message"]


def test_status_follows_the_gateway_to_applied(client, queue: ApprovalQueue):
    decision_id = approve(client).json()["decision_id"]
    queue.add_decision(
        WRITEBACK, AppliedDecision(decision_id, f"art:{decision_id}", "human:sayan", True, "", NOW)
    )
    status = client.get(f"/api/v1/decisions/{decision_id}", headers=bearer("tok-sayan")).json()
    assert status["status"] == "applied"
    assert status["reason"] is None


def test_status_shows_the_gateways_refusal_and_its_reason(client, dead_letters: DeadLetterLog):
    decision_id = approve(client).json()["decision_id"]
    dead_letters.add(
        DeadLetterEntry(
            reason="auth.self_approval",
            stage="auth",
            message="human:sayan created it and cannot also decide it",
            field="reviewer_ref",
            source_topic="velocity.approval-decision.v1",
            source_partition=0,
            source_offset=3,
            refused_at=datetime(2026, 4, 18, tzinfo=UTC),
            artifact_type="ApprovalDecision",
            artifact_id=None,
            producer="review-app",
            key=WRITEBACK[1],
            value_bytes=200,
            dlq_partition=0,
            dlq_offset=0,
            decision_id=decision_id,
        )
    )
    status = client.get(f"/api/v1/decisions/{decision_id}", headers=bearer("tok-sayan")).json()
    assert (status["status"], status["reason"]) == ("refused", "auth.self_approval")
    # refused: the proposal is pending again and can be decided anew
    assert approve(client, token="tok-sourik").status_code == 202


def test_status_is_refused_when_another_decision_was_applied_first(client, queue):
    decision_id = approve(client).json()["decision_id"]
    queue.add_decision(
        WRITEBACK, AppliedDecision("decision:other", "art:x", "human:sourik", False, "no", NOW)
    )
    status = client.get(f"/api/v1/decisions/{decision_id}", headers=bearer("tok-sayan")).json()
    assert (status["status"], status["reason"]) == ("refused", "approval.already_decided")


def test_status_of_a_decision_this_app_did_not_send_is_404(client):
    response = client.get("/api/v1/decisions/decision:unknown", headers=bearer("tok-sayan"))
    assert response.status_code == 404


def test_dead_letters_list_reasons_newest_first_and_filter(client, dead_letters: DeadLetterLog):
    for offset, reason in enumerate(["auth.not_owner", "decode.bad_magic_byte", "auth.not_owner"]):
        dead_letters.add(
            DeadLetterEntry(
                reason,
                reason.split(".")[0],
                f"message {offset}",
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
    body = client.get("/api/v1/dead-letters", headers=bearer("tok-sayan")).json()
    assert body["total"] == 3
    assert body["counts"] == {"auth.not_owner": 2, "decode.bad_magic_byte": 1}
    assert [item["message"] for item in body["items"]] == ["message 2", "message 1", "message 0"]
    filtered = client.get(
        "/api/v1/dead-letters?reason=decode.bad_magic_byte", headers=bearer("tok-sayan")
    ).json()
    assert [item["reason"] for item in filtered["items"]] == ["decode.bad_magic_byte"]


def test_client_snapshot_and_listing(client):
    listing = client.get("/api/v1/clients", headers=bearer("tok-sayan")).json()
    assert listing[0]["client_ref"] == "client:acme-holdings"
    snapshot = client.get("/api/v1/clients/client:acme-holdings", headers=bearer("tok-sayan"))
    assert snapshot.status_code == 200
    assert snapshot.json()["active_opportunities"][0]["stage"] == "SITE_VISITS"
    missing = client.get("/api/v1/clients/client:nobody", headers=bearer("tok-sayan"))
    assert missing.status_code == 404


def test_openapi_document_describes_the_api_and_its_bearer_auth(client):
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    assert {"/api/v1/proposals", "/api/v1/decisions", "/api/v1/dead-letters"} <= set(paths)
    assert "/queue" not in paths and "/login" not in paths  # pages are not API
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    decide = paths["/api/v1/decisions"]["post"]
    assert {"401", "403", "409", "422"} <= set(decide["responses"])
    assert "DecisionIn" in document["components"]["schemas"]


def test_health_needs_no_token(client):
    assert client.get("/healthz").json() == {"status": "ok", "feeds": {}}


def test_states_say_how_a_proposal_was_decided(client, queue: ApprovalQueue):
    from velocity_stream.contracts import example
    from velocity_stream.review.proposals import proposal_view
    from velocity_stream.review.queue import ProposalState

    auto = example("NormalizedEntityProposal")
    key = ("NormalizedEntityProposal", "proposal:entity:auto")
    queue.add_proposal(proposal_view(*key, auto), ProposalState.AUTO_APPROVED, "low-risk-entity")
    queue.add_decision(key, AppliedDecision("d:auto", "a", "rule:low-risk-entity", True, "", NOW))
    queue.add_decision(WRITEBACK, AppliedDecision("d:w", "b", "human:sourik", False, "no", NOW))
    listed = client.get(
        "/api/v1/proposals?include_decided=true", headers=bearer("tok-sayan")
    ).json()
    states = {p["proposal_id"]: p["state"] for p in listed}
    assert states == {
        ENTITY[1]: "pending",
        WRITEBACK[1]: "decided",
        key[1]: "auto_approved",
    }
