"""A reviewer in a real browser (Playwright driving Debian's Chromium): log in, approve a
pending proposal, watch the gateway apply it, and see the commit on the client page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.review.conftest import in_ci
from velocity_stream.devstack.stack import DevStack

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium (not a `playwright install` download) starts on the development and CI
# machines with these flags: no sandbox, no GPU, nothing phoning home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ACME_WRITEBACK = "proposal:writeback:acme-holdings"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_log_in_approve_and_see_the_commit_on_the_client_page(
    browser, dev_stack: DevStack, tmp_path: Path
):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{dev_stack.review_url}/clients/client:acme-holdings")
        # Not logged in: the login form (HTTP 401), which brings us back here afterwards.
        expect(page.get_by_role("heading", name="Log in to review")).to_be_visible()
        page.get_by_label("Reviewer token").fill("it-demo")
        page.get_by_role("button", name="Log in").click()
        opportunities = page.locator("#opportunities")
        expect(opportunities).to_contain_text("QUALIFYING")

        page.get_by_role("link", name="Queue").click()
        card = page.locator("article.proposal", has_text=ACME_WRITEBACK)
        expect(card).to_contain_text("Priya confirmed the budget is approved")
        expect(card).to_contain_text("81%")
        expect(card).to_contain_text("transcript:acme-holdings:1")
        card.get_by_label("Notes").fill("Matches the call: budget approved, visits requested.")
        card.get_by_role("button", name="Approve").click()

        verdict = page.locator(".verdict")
        expect(verdict).to_have_attribute("data-status", "applied")
        expect(verdict).to_contain_text("Applied by the gateway")
        page.screenshot(path=str(tmp_path / "decision.png"), full_page=True)

        page.get_by_role("link", name="Acme Holdings").click()
        # The committer and the read model follow the commit; the page is re-read until then.
        for _ in range(60):
            if "SITE_VISITS" in opportunities.inner_text():
                break
            page.wait_for_timeout(500)
            page.reload()
        expect(opportunities).to_contain_text("SITE_VISITS")
        page.screenshot(path=str(tmp_path / "client.png"), full_page=True)

        page.get_by_role("link", name="Queue").click()
        expect(page.locator("article.proposal", has_text=ACME_WRITEBACK)).to_have_count(0)
    finally:
        page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
        page.close()
