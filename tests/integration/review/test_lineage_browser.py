"""Lineage in a real browser (Debian's Chromium through Playwright) at phone (375 px) and
desktop (1280 px) widths, against the dev stack: from a committed field on a client page to its
trail, and the trail of a lead the auto rule approved, with no sideways scrolling.

Screenshots go to each test's ``tmp_path`` (pytest's output folder of the run). When the stack
runs the governance and import consumers (their tables are in the store), the lead's trail must
reach the decision with its reviewer and the raw import row; without them it stops at refs no
store holds yet, which the page shows as such.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect

from tests.integration.review.conftest import eventually
from tests.integration.review.test_browser import CHROMIUM, CHROMIUM_ARGS, browser  # noqa: F401
from tests.integration.review.test_console_browser import logged_in, sideways_overflow
from velocity_stream.devstack.stack import DevStack

pytestmark = pytest.mark.integration

WIDTHS = [375, 1280]
CLIENT = "client:sen-family-office"
OPPORTUNITY = "opportunity:sen-office-floor"
LEAD = "person:arjun-sen"  # row 2 of the demo's CSV, approved by the catalog's auto rule
LEAD_PROPOSAL = "proposal:entity:arjun-sen"


def _stores(stack: DevStack) -> set[str]:
    engine = create_engine(stack.settings.store_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _fits(page: Any, width: int) -> None:
    assert sideways_overflow(page) == 0, f"{page.url} scrolls sideways at {width} px"


@pytest.mark.parametrize("width", WIDTHS)
def test_lineage_of_a_committed_field_from_the_client_page(
    browser: Any,  # noqa: F811
    dev_stack: DevStack,
    tmp_path: Path,
    width: int,
) -> None:
    from playwright.sync_api import expect

    page = logged_in(browser, dev_stack, width)
    try:
        # The read model has the client once the CRM sync went through the committer.
        def client_page() -> bool:
            page.goto(f"{dev_stack.review_url}/clients/{CLIENT}")
            return page.locator("#opportunities").count() > 0

        eventually(client_page, timeout=120, every=1.0)
        page.screenshot(path=str(tmp_path / f"{width}-client.png"), full_page=True)
        _fits(page, width)
        page.get_by_role("link", name=f"Lineage of the stage of {OPPORTUNITY}").click()
        page.wait_for_url("**/lineage/**")
        field = page.locator(".hop[data-kind=field]").first
        expect(field).to_have_attribute("data-ref", f"{OPPORTUNITY}#stage")
        expect(field).to_contain_text("stage of opportunity:sen-office-floor")
        change = page.locator(".hop[data-kind=change]").first
        expect(change).to_contain_text("APPLIED")
        expect(change).to_contain_text("written by")
        page.screenshot(path=str(tmp_path / f"{width}-lineage-field.png"), full_page=True)
        _fits(page, width)

        # A lead the auto rule approved: field -> change -> decision -> proposal -> import row.
        page.goto(f"{dev_stack.review_url}/lineage/{LEAD}?field=email")
        expect(page.locator(".hop[data-kind=field]").first).to_contain_text("arjun@")
        expect(page.locator("main")).to_contain_text(LEAD_PROPOSAL)
        tables = _stores(dev_stack)
        if "gov_decisions" in tables and "imports_rows" in tables:
            decision = page.locator(".hop[data-kind=decision]").first
            expect(decision).to_contain_text("rule:")
            row = page.locator(".hop[data-kind=import_row]").first
            expect(row).to_contain_text("/row/2")
            expect(row).to_contain_text("arjun@senfamilyoffice.example")
        else:
            expect(
                page.locator(f'.hop[data-kind=missing][data-ref="{LEAD_PROPOSAL}"]')
            ).to_have_count(1)
        page.screenshot(path=str(tmp_path / f"{width}-lineage-lead.png"), full_page=True)
        _fits(page, width)
    finally:
        page.screenshot(path=str(tmp_path / f"{width}-last.png"), full_page=True)
        page.context.close()
