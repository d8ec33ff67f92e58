"""The review API against the real stack: the queue the gateway built, decisions it applies
or refuses on its own rules, and commits that reach the client snapshot."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.review.conftest import bearer, eventually
from velocity_stream.contracts import NormalizedEntityProposal, example
from velocity_stream.devstack.stack import DevStack
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.review.runtime import registry_serde

pytestmark = pytest.mark.integration

SEN = ("OracleWritebackProposal", "proposal:writeback:sen-family-office")
BOSE = ("OracleWritebackProposal", "proposal:writeback:bose-logistics")


def decide(api: httpx.Client, token: str, proposal: tuple[str, str], verdict: str, notes: str):
    body = {
        "proposal_family": proposal[0],
        "proposal_ref": proposal[1],
        "decision": verdict,
        "notes": notes,
    }
    return api.post("/api/v1/decisions", json=body, headers=bearer(token))


def status_of(api: httpx.Client, decision_id: str) -> dict:
    response = api.get(f"/api/v1/decisions/{decision_id}", headers=bearer("it-demo"))
    response.raise_for_status()
    return response.json()


def settled(api: httpx.Client, decision_id: str) -> dict:
    return eventually(lambda: (s := status_of(api, decision_id))["status"] != "submitted" and s)


def snapshot(api: httpx.Client, client_ref: str) -> dict:
    response = api.get(f"/api/v1/clients/{client_ref}", headers=bearer("it-demo"))
    response.raise_for_status()
    return response.json()


def test_no_token_401_and_a_non_reviewer_403_on_the_running_app(api: httpx.Client):
    assert api.get("/api/v1/proposals").status_code == 401
    assert api.get("/api/v1/proposals", headers=bearer("it-intern")).status_code == 403
    assert decide(api, "it-intern", SEN, "APPROVED", "").status_code == 403
    assert api.get("/queue").status_code == 401


def test_the_queue_holds_the_demos_pending_proposals(api: httpx.Client, dev_stack: DevStack):
    assert dev_stack.demo is not None
    # Other tests on this stack decide some of them: ask for decided ones too.
    listed = api.get("/api/v1/proposals?include_decided=true", headers=bearer("it-demo")).json()
    keys = {(p["family"], p["proposal_id"]) for p in listed}
    assert set(dev_stack.demo.pending) <= keys
    auto = [p for p in listed if p["state"] == "auto_approved"]
    assert len(auto) == 4  # the low-risk leads, approved by the catalog's rule
    sen = next(p for p in listed if p["proposal_id"] == SEN[1])
    assert sen["reasoning_summary"].startswith("Arjun said on the call")
    assert sen["evidence_refs"][0] == "transcript:sen-family-office:1"
    assert sen["proposed_change"] == [
        {"field": "amount", "before": "42000000", "after": "39500000"}
    ]


def opportunities(api: httpx.Client, client_ref: str) -> list[dict]:
    """The client's opportunities once the read model has them: the stack is ready when every
    demo client has a snapshot, and the demo's CRM delta can reach it a moment later."""
    return eventually(lambda: snapshot(api, client_ref)["active_opportunities"])


def test_an_approval_is_applied_by_the_gateway_and_reaches_the_snapshot(api: httpx.Client):
    assert opportunities(api, "client:sen-family-office")[0]["amount"] == 42_000_000
    response = decide(api, "it-demo", SEN, "APPROVED", "The board's number; agreed.")
    assert response.status_code == 202
    decision_id = response.json()["decision_id"]
    assert settled(api, decision_id)["status"] == "applied"
    pending = api.get("/api/v1/proposals", headers=bearer("it-demo")).json()
    assert SEN[1] not in {p["proposal_id"] for p in pending}
    eventually(
        lambda: (
            snapshot(api, "client:sen-family-office")["active_opportunities"][0]["amount"]
            == 39_500_000
        )
    )
    again = decide(api, "it-sourik", SEN, "REJECTED", "too late")
    assert again.status_code == 409


def test_a_rejection_is_applied_and_commits_nothing(api: httpx.Client):
    assert [o["stage"] for o in opportunities(api, "client:bose-logistics")] == ["PROPOSAL"]
    response = decide(api, "it-sourik", BOSE, "REJECTED", "Q3 pause is not confirmed in writing.")
    assert response.status_code == 202
    assert settled(api, response.json()["decision_id"])["status"] == "applied"
    stages = [o["stage"] for o in snapshot(api, "client:bose-logistics")["active_opportunities"]]
    assert stages == ["PROPOSAL"]


def test_the_gateway_refuses_a_self_approval_the_app_let_through(
    api: httpx.Client, dev_stack: DevStack
):
    # A proposal made by a reviewer (an operator normalizing by hand) who then approves it:
    # the app does not judge this, the gateway does.
    base = example("NormalizedEntityProposal").model_dump()
    base.update(
        artifact_id="art:proposal:entity:it-self",
        proposal_id="proposal:entity:it-self",
        entity_ref="person:it-self",
        created_by="human:sourik",
        merge_candidate_refs=(),
    )
    proposal = NormalizedEntityProposal.model_validate(base)
    settings = dev_stack.settings
    serde = registry_serde(settings, dev_stack.catalog)
    with ArtifactProducer(settings, dev_stack.catalog, serde) as producer:
        producer.publish(proposal).result(30)
    key = ("NormalizedEntityProposal", "proposal:entity:it-self")
    eventually(
        lambda: (
            key
            in {
                (p["family"], p["proposal_id"])
                for p in api.get("/api/v1/proposals", headers=bearer("it-demo")).json()
            }
        )
    )
    response = decide(api, "it-sourik", key, "APPROVED", "looks right to me")
    assert response.status_code == 202
    verdict = settled(api, response.json()["decision_id"])
    assert verdict["status"] == "refused"
    assert verdict["reason"] == "auth.self_approval"
    dead = api.get(
        "/api/v1/dead-letters?reason=auth.self_approval", headers=bearer("it-demo")
    ).json()
    assert dead["items"] and dead["items"][0]["artifact_type"] == "ApprovalDecision"
    # still pending: another reviewer may decide it
    proposal_now = api.get(f"/api/v1/proposals/{key[0]}/{key[1]}", headers=bearer("it-demo")).json()
    assert proposal_now["state"] == "pending"


def test_the_demos_dead_letters_are_listed_with_their_reasons(api: httpx.Client):
    body = api.get("/api/v1/dead-letters", headers=bearer("it-demo")).json()
    reasons = set(body["counts"])
    assert {"auth.not_owner", "state.import_row.out_of_range", "decode.bad_magic_byte"} <= reasons
    assert not any(reason.startswith("persistence.") for reason in reasons)


def test_the_openapi_document_is_served(api: httpx.Client):
    document = api.get("/openapi.json").json()
    assert document["info"]["title"] == "Velocity Stream review"
    assert "/api/v1/decisions" in document["paths"]
