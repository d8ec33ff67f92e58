"""The reviewer's console in a real browser (Debian's Chromium through Playwright) at phone
(375 px) and desktop (1280 px) widths, against the dev stack: no sideways scrolling and every
control reachable, the queue's filter and pages, a rejection without notes and a stale tab's
conflict shown as a banner in view, and a merge approved with the current values in sight.

Screenshots go to each test's ``tmp_path`` (pytest's output folder of the run). The tests
decide only on the demo's two lead proposals (Priya Raman's merge, Kabir Roy's new contact):
the other proposals belong to test_browser.py and test_review_api.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.review.test_browser import CHROMIUM, CHROMIUM_ARGS, browser  # noqa: F401
from velocity_stream.devstack.stack import DevStack

pytestmark = pytest.mark.integration

MERGE = ("NormalizedEntityProposal", "proposal:entity:priya-raman")
LEAD = ("NormalizedEntityProposal", "proposal:entity:kabir-roy")
WIDTHS = [375, 1280]
PAGES = [
    "/queue",
    f"/proposals/{MERGE[0]}/{MERGE[1]}",
    "/clients",
    "/dead-letters",
    "/schemas",
    "/schemas/InteractionBundle",
    "/topics",
    "/consumer-groups",
]


def logged_in(browser: Any, stack: DevStack, width: int) -> Any:  # noqa: F811
    """A new browser context at ``width`` px with the demo reviewer logged in."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{stack.review_url}/login")
    page.get_by_label("Reviewer token").fill("it-demo")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/queue")
    return page


@pytest.fixture
def pages(browser: Any, dev_stack: DevStack, tmp_path: Path) -> Iterator[list[Any]]:  # noqa: F811
    opened: list[Any] = []
    yield opened
    for n, page in enumerate(opened):
        page.screenshot(path=str(tmp_path / f"last-{n}.png"), full_page=True)
        page.context.close()


def sideways_overflow(page: Any) -> int:
    """How many px the document is wider than the window (0: no horizontal scroll)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def reachable(page: Any, locator: Any) -> None:
    """The control can be scrolled into view and lies inside the window's width."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    width = page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (box, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_width_with_its_controls_reachable(
    browser: Any,  # noqa: F811
    dev_stack: DevStack,
    pages: list[Any],
    tmp_path: Path,
    width: int,
) -> None:
    from playwright.sync_api import expect

    page = logged_in(browser, dev_stack, width)
    pages.append(page)
    for path in PAGES:
        page.goto(f"{dev_stack.review_url}{path}")
        name = path.strip("/").replace("/", "_").replace(":", "-")
        page.screenshot(path=str(tmp_path / f"{width}-{name}.png"), full_page=True)
        assert sideways_overflow(page) == 0, f"{path} scrolls sideways at {width} px"
        for control in (
            page.get_by_role("button", name="Log out"),
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Dead letters"),
        ):
            reachable(page, control)
        expect(page.locator("nav.nav [aria-current=page]")).to_have_count(1)
    page.goto(f"{dev_stack.review_url}/queue")
    for button in page.locator("article.proposal button").all():
        reachable(page, button)
    # the skip link is the first thing Tab reaches and leads to the content
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_queue_filters_and_pages(
    browser: Any,  # noqa: F811
    dev_stack: DevStack,
    pages: list[Any],
    tmp_path: Path,
    width: int,
) -> None:
    from playwright.sync_api import expect

    page = logged_in(browser, dev_stack, width)
    pages.append(page)
    pending = page.locator("article.proposal").count()
    assert pending >= 3, "the demo leaves several proposals pending"

    page.get_by_label("Operation").select_option("MERGE")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("article.proposal")).to_have_count(1)
    expect(page.locator("article.proposal")).to_contain_text("person:p-raman-2025")
    page.screenshot(path=str(tmp_path / f"{width}-filtered.png"), full_page=True)

    page.goto(f"{dev_stack.review_url}/queue?size=2")
    pager = page.get_by_role("navigation", name="Pages of the queue")
    expect(pager).to_contain_text(f"of {pending}")
    first = page.locator("article.proposal").evaluate_all("cards => cards.map(c => c.id)")
    assert len(first) == 2
    pager.get_by_role("link", name="Next").click()
    expect(pager).to_contain_text("page 2 of")
    second = page.locator("article.proposal").evaluate_all("cards => cards.map(c => c.id)")
    assert second and not set(first) & set(second)
    assert sideways_overflow(page) == 0
    page.screenshot(path=str(tmp_path / f"{width}-page-2.png"), full_page=True)


def test_a_rejection_without_notes_is_a_banner_in_view(
    browser: Any,  # noqa: F811
    dev_stack: DevStack,
    pages: list[Any],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    page = logged_in(browser, dev_stack, 375)
    pages.append(page)
    page.goto(f"{dev_stack.review_url}/queue?target=kabir")
    card = page.locator("article.proposal", has_text=LEAD[1])
    card.get_by_role("button", name="Reject").click()
    banner = page.get_by_role("alert").first
    expect(banner).to_contain_text("a rejection says why")
    expect(banner).to_be_in_viewport()
    page.screenshot(path=str(tmp_path / "reject-without-notes.png"))


def test_a_merge_shows_current_values_and_a_stale_tab_gets_a_message(
    browser: Any,  # noqa: F811
    dev_stack: DevStack,
    pages: list[Any],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    proposal_url = f"{dev_stack.review_url}/proposals/{MERGE[0]}/{MERGE[1]}"
    stale = logged_in(browser, dev_stack, 1280)
    pages.append(stale)
    stale.goto(proposal_url)  # the second tab, opened before the decision

    page = logged_in(browser, dev_stack, 375)
    pages.append(page)
    page.goto(proposal_url)
    # Priya is new; the older contact merged into her is in Acme's snapshot already
    expect(page.locator('[data-ref="person:priya-raman"]')).to_contain_text("No Client360")
    older = page.locator('[data-ref="person:p-raman-2025"]')
    expect(older).to_contain_text("client:acme-holdings")
    expect(older.locator("dd").first).not_to_have_text("—")
    # the change table puts the read model's value beside the proposed one
    email_row = page.locator("[data-testid=change] tr", has_text="email")
    expect(email_row.locator("td").nth(2)).to_contain_text("p.raman@mail.example")
    expect(email_row.locator("td").nth(3)).to_contain_text("priya.raman@acme-holdings.example")
    page.screenshot(path=str(tmp_path / "merge-current-values.png"), full_page=True)

    page.get_by_label("Notes").fill("Same person: email and phone match the older contact.")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("alert").first).to_contain_text("Confirm the approval")
    page.get_by_label("Notes").fill("Same person: email and phone match the older contact.")
    page.get_by_label("I checked the current values").check()
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".verdict")).to_have_attribute("data-status", "applied", timeout=60_000)
    page.screenshot(path=str(tmp_path / "merge-applied.png"), full_page=True)

    stale.get_by_label("Notes").fill("Two different people.")
    stale.get_by_role("button", name="Reject").click()
    banner = stale.get_by_role("alert").first
    expect(banner).to_contain_text("Already decided")
    expect(banner).to_be_in_viewport()
    stale.screenshot(path=str(tmp_path / "stale-tab-conflict.png"))


@pytest.mark.parametrize("width", WIDTHS)
def test_dead_letter_detail_shows_headers_and_the_payload_decoded_or_as_hex(
    browser: Any,  # noqa: F811
    dev_stack: DevStack,
    pages: list[Any],
    tmp_path: Path,
    width: int,
) -> None:
    from playwright.sync_api import expect

    page = logged_in(browser, dev_stack, width)
    pages.append(page)
    page.goto(f"{dev_stack.review_url}/dead-letters?reason=auth.not_owner")
    page.locator("table.dead-letters tbody tr a").first.click()
    expect(page.get_by_role("heading", name="Why it was refused")).to_be_visible()
    expect(page.locator("[data-testid=decode-stage]")).to_contain_text("ok")
    expect(page.locator("[data-testid=decoded]")).to_contain_text('"artifact_id"')
    headers = page.get_by_role("region", name="Headers")
    expect(headers).to_contain_text("velocity.dlq.reason")
    expect(headers).to_contain_text("auth.not_owner")
    assert sideways_overflow(page) == 0
    page.screenshot(path=str(tmp_path / f"{width}-dead-letter-decoded.png"), full_page=True)

    page.goto(f"{dev_stack.review_url}/dead-letters?reason=decode.bad_magic_byte")
    page.locator("table.dead-letters tbody tr a").first.click()
    expect(page.locator("[data-testid=decode-stage]")).to_contain_text("framing")
    expect(page.locator("[data-testid=decoded]")).to_have_count(0)
    expect(page.locator("[data-testid=hex]")).to_contain_text("00000000  ")
    assert sideways_overflow(page) == 0
    page.screenshot(path=str(tmp_path / f"{width}-dead-letter-hex.png"), full_page=True)


def test_a_dead_letter_is_replayed_from_its_page_and_audited(
    browser: Any,  # noqa: F811
    dev_stack: DevStack,
    pages: list[Any],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    page = logged_in(browser, dev_stack, 375)
    pages.append(page)
    page.goto(f"{dev_stack.review_url}/dead-letters?reason=decode.bad_magic_byte")
    page.locator("table.dead-letters tbody tr a").first.click()
    detail_url = page.url
    expect(page.locator("[data-testid=replays]")).to_contain_text("Never replayed")

    page.get_by_role("button", name="Replay").click()  # without the confirmation
    expect(page.locator("#outcome")).to_contain_text("tick the confirmation")

    page.get_by_label("I fixed the cause").check()
    page.get_by_role("button", name="Replay").click()
    outcome = page.locator("#outcome")
    expect(outcome).to_contain_text("Replayed.")
    expect(outcome).to_contain_text("sent back to")
    replays = page.locator("[data-testid=replays]")
    expect(replays).to_contain_text("human:demo-reviewer")
    page.screenshot(path=str(tmp_path / "replayed.png"), full_page=True)

    # the audit record stops a second replay unless forced, as on the command line
    page.goto(detail_url)
    page.get_by_label("I fixed the cause").check()
    page.get_by_role("button", name="Replay").click()
    expect(page.locator("#outcome")).to_contain_text("already_replayed")

    # the gateway judged the replayed garbage afresh: refused again, marked as a replay
    def refused_again() -> bool:
        page.goto(f"{dev_stack.review_url}/dead-letters?reason=decode.bad_magic_byte")
        return page.locator("table.dead-letters tbody tr").count() >= 2

    for _ in range(60):
        if refused_again():
            break
        page.wait_for_timeout(500)
    assert refused_again()
    page.locator("table.dead-letters tbody tr a").first.click()
    expect(page.get_by_role("region", name="Headers")).to_contain_text("velocity.replay.")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_schema_browser_diffs_versions_and_names_the_mapping_across_majors(
    browser: Any,  # noqa: F811
    dev_stack: DevStack,
    pages: list[Any],
    tmp_path: Path,
    width: int,
) -> None:
    from playwright.sync_api import expect

    page = logged_in(browser, dev_stack, width)
    pages.append(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Schemas").click()
    page.get_by_role("link", name="ImportMappingManifest").click()
    expect(page.locator("[data-testid=mapping]")).to_contain_text("v1 → v2")
    expect(page.locator("[data-testid=field-diff]")).to_be_visible()
    page.screenshot(path=str(tmp_path / f"{width}-schema-majors.png"), full_page=True)

    page.goto(f"{dev_stack.review_url}/schemas/InteractionBundle")
    page.get_by_label("From", exact=True).select_option("1.0.0")
    page.get_by_label("To", exact=True).select_option("1.1.0")
    page.get_by_role("button", name="Compare").click()
    diff = page.locator("[data-testid=field-diff]")
    expect(diff.locator("tr", has_text="thread_ref")).to_contain_text("added")
    expect(page.locator("[data-testid=verdicts]")).to_contain_text("compatible")
    assert sideways_overflow(page) == 0
    page.screenshot(path=str(tmp_path / f"{width}-schema-diff.png"), full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_topic_browser_decodes_records_and_searches_by_key_and_artifact_id(
    browser: Any,  # noqa: F811
    dev_stack: DevStack,
    pages: list[Any],
    tmp_path: Path,
    width: int,
) -> None:
    from playwright.sync_api import expect

    prefix = dev_stack.settings.topic_prefix
    topic = f"{prefix}.oracle-writeback-proposal.v1"
    page = logged_in(browser, dev_stack, width)
    pages.append(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Topics").click()
    page.get_by_role("link", name=topic, exact=True).click()
    records = page.locator("[data-testid=record]")
    expect(records.first).to_contain_text("OracleWritebackProposal v1, schema id")
    expect(records.first).to_contain_text('"proposal_id"')
    assert records.count() >= 3  # the demo clients' writebacks

    page.get_by_label("Key or artifact id").fill("art:proposal:writeback:acme-holdings")
    page.get_by_role("button", name="Search").click()
    expect(records).to_have_count(1)
    expect(records.first).to_contain_text("proposal:writeback:acme-holdings")
    assert sideways_overflow(page) == 0
    page.screenshot(path=str(tmp_path / f"{width}-topic-search.png"), full_page=True)

    # the dead-letter topic: the garbage record does not decode and says so
    page.goto(f"{dev_stack.review_url}/topics/{prefix}.gateway.dead-letter.v1")
    expect(page.locator("[data-testid=record]", has_text="does not decode")).not_to_have_count(0)
    assert sideways_overflow(page) == 0


def test_the_stacks_consumer_groups_show_their_lag_per_partition(
    browser: Any,  # noqa: F811
    dev_stack: DevStack,
    pages: list[Any],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    page = logged_in(browser, dev_stack, 375)
    pages.append(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Groups").click()
    groups = page.locator("[data-testid=group]")
    expect(groups.first).to_be_visible()
    prefix = dev_stack.settings.topic_prefix
    # the read-model consumers commit offsets on the stack's topics: a row of each, with an
    # end learned from a fetch response and a number for the lag
    rows = page.locator("[data-testid=group] tbody tr", has_text=prefix)
    expect(rows.first).to_be_visible()
    cells = rows.first.locator("td")
    assert cells.nth(3).inner_text().strip().isdigit()
    assert cells.nth(4).inner_text().strip().isdigit()
    assert sideways_overflow(page) == 0
    page.screenshot(path=str(tmp_path / "consumer-groups.png"), full_page=True)


def test_an_evidence_ref_opens_the_artifact_it_refers_to(
    browser: Any,  # noqa: F811
    dev_stack: DevStack,
    pages: list[Any],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    page = logged_in(browser, dev_stack, 375)
    pages.append(page)
    page.goto(
        f"{dev_stack.review_url}/proposals/OracleWritebackProposal/proposal:writeback:acme-holdings"
    )
    evidence = page.get_by_role("region", name="Evidence")
    link = evidence.get_by_role("link").first
    ref = link.inner_text().strip()
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(ref)
    found = page.locator("[data-testid=record]")
    expect(found.first).to_contain_text(ref)
    expect(found.first).to_contain_text("schema id")
    assert sideways_overflow(page) == 0
    page.screenshot(path=str(tmp_path / "evidence.png"), full_page=True)
