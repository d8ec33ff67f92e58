"""The reviewer's pages: failures as a banner at the top, the proposal page with current
values and history, filters and pages of the queue, the confirm step, accessibility marks."""

from __future__ import annotations

import re

from tests.unit.review.test_pages import WRITEBACK, form_token, log_in
from velocity_stream.contracts import example
from velocity_stream.review.proposals import proposal_view
from velocity_stream.review.queue import AppliedDecision, ApprovalQueue, ProposalState

MERGE = ("NormalizedEntityProposal", "proposal:entity:priya-raman")


def decide(client, key, decision, **extra):
    token = form_token(client.get("/queue").text)
    data = {"form_token": token, "family": key[0], "proposal_id": key[1], "decision": decision}
    return client.post("/queue/decide", data={**data, **extra}, follow_redirects=False)


def banner(html: str) -> str:
    found = re.search(
        r'<div class="alert alert-error banner-problem" role="alert".*?</div>', html, re.S
    )
    assert found, "no banner on the page"
    return found.group(0)


def test_a_rejection_without_notes_is_a_banner_above_everything(client, publisher):
    log_in(client)
    response = decide(client, WRITEBACK, "REJECTED", notes="")
    assert response.status_code == 422
    html = response.text
    shown = banner(html)
    assert "a rejection says why" in shown and WRITEBACK[1] in shown
    assert html.index("banner-problem") < html.index('class="card proposal"')
    assert publisher.published == []


def test_a_stale_tab_decision_on_a_decided_proposal_says_so(client, publisher, queue):
    log_in(client)
    token = form_token(client.get("/queue").text)
    queue.add_decision(WRITEBACK, AppliedDecision("d-1", "a-1", "human:sourik", True, "", None))
    response = client.post(
        "/queue/decide",
        data={
            "form_token": token,
            "family": WRITEBACK[0],
            "proposal_id": WRITEBACK[1],
            "decision": "APPROVED",
        },
    )
    assert response.status_code == 409
    shown = banner(response.text)
    assert "Already decided" in shown and "human:sourik" in shown
    assert f'data-proposal="{WRITEBACK[1]}"' not in response.text  # its card is gone
    assert publisher.published == []


def test_approving_a_merge_needs_the_confirmation(client, publisher):
    log_in(client)
    refused = decide(client, MERGE, "APPROVED", notes="same person")
    assert refused.status_code == 422
    assert "Confirm the approval" in banner(refused.text)
    assert publisher.published == []
    accepted = decide(client, MERGE, "APPROVED", notes="same person", confirm="yes")
    assert accepted.status_code == 303
    assert len(publisher.published) == 1


def test_rejecting_a_merge_needs_no_confirmation(client, publisher):
    log_in(client)
    assert decide(client, MERGE, "REJECTED", notes="different people").status_code == 303


def test_the_merge_card_shows_the_surviving_records_current_values(client):
    log_in(client)
    html = client.get("/queue").text
    card = html[html.index(f'data-proposal="{MERGE[1]}"') :]
    card = card[: card.index("</article>")]
    # the read model's current email and phone of person:priya-raman, not "—"
    assert '<span class="before">priya.raman@acme-holdings.example</span>' in card
    assert '<span class="before">+919830012345</span>' in card
    assert 'name="confirm"' in card


def test_the_proposal_page_shows_change_current_records_evidence_and_history(
    client, queue: ApprovalQueue
):
    log_in(client)
    page = client.get(f"/proposals/{MERGE[0]}/{MERGE[1]}")
    assert page.status_code == 200
    html = page.text
    assert "The whole change" in html
    assert 'data-ref="person:priya-raman"' in html and 'data-ref="person:p-raman-2025"' in html
    assert "(the surviving record)" in html
    assert (
        'href="/clients/client%3Aacme-holdings"' in html
        or 'href="/clients/client:acme-holdings"' in html
    )
    assert "manifest:2026-04-18-hubspot-01" in html
    assert "proposed by system:import-normalizer" in html
    decide(client, MERGE, "REJECTED", notes="two different people")
    after = client.get(f"/proposals/{MERGE[0]}/{MERGE[1]}").text
    assert "rejected</a> by human:sayan" in after
    assert "two different people" in after


def test_an_unknown_proposal_page_is_a_404_page(client):
    log_in(client)
    page = client.get("/proposals/OracleWritebackProposal/proposal:nope")
    assert page.status_code == 404
    assert "Unknown proposal" in page.text


def test_the_queue_filters_and_pages(client, queue: ApprovalQueue):
    artifact = example("OracleWritebackProposal")
    for n in range(45):
        view = proposal_view("OracleWritebackProposal", f"proposal:bulk:{n:03d}", artifact)
        queue.add_proposal(view, ProposalState.PENDING)
    log_in(client)
    first = client.get("/queue").text
    assert first.count('class="card proposal"') == 20
    assert "1\N{EN DASH}20 of 47" in first
    assert 'href="/queue?page=2"' in first
    third = client.get("/queue?page=3").text
    assert third.count('class="card proposal"') == 7
    merges = client.get("/queue?operation=MERGE").text
    assert merges.count('class="card proposal"') == 1
    assert f'data-proposal="{MERGE[1]}"' in merges
    bad = client.get("/queue?sort=random")
    assert bad.status_code == 422
    assert "sort: " in banner(bad.text)


def test_pages_carry_a_skip_link_landmarks_and_aria_current(client):
    log_in(client)
    html = client.get("/queue").text
    assert '<a class="skip-link" href="#main">' in html
    assert '<main class="page" id="main"' in html
    assert re.search(r'<a href="/queue" class="active" aria-current="page">', html)
    assert '<nav class="nav" aria-label="Main">' in html
    for label in re.findall(r'<label for="([^"]+)"', html):
        assert f'id="{label}"' in html, label


def test_now_comes_from_the_target_else_the_first_merged_record_the_read_model_holds():
    from velocity_stream.review.touched import CurrentRecord, now_record

    older = CurrentRecord("person:old", "client:a", "client identity", (("email", "o@x"),))
    target = CurrentRecord("person:new", "client:a", "client identity", (("email", "n@x"),))
    assert now_record({"person:old": older}, "person:new", ["person:old"]) is older
    both = {"person:old": older, "person:new": target}
    assert now_record(both, "person:new", ["person:old"]) is target
    assert now_record({}, "person:new", ["person:old"]) is None
