"""The dead-letter pages without Kafka: pages of the list, links to the detail, and the
detail and replay routes refusing cleanly (no Kafka here: 503; no form token: 403). The
detail and the replay themselves run against Kafka in tests/integration/review."""

from __future__ import annotations

from tests.unit.review.test_pages import form_token, log_in
from velocity_stream.review.deadletters import DeadLetterEntry, DeadLetterLog


def entry(offset: int) -> DeadLetterEntry:
    return DeadLetterEntry(
        "decode.bad_magic_byte",
        "decode",
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
        1,
        offset,
    )


def test_the_dead_letter_list_is_paged_newest_first(client, dead_letters: DeadLetterLog):
    for offset in range(120):
        dead_letters.add(entry(offset))
    log_in(client)
    first = client.get("/dead-letters").text
    assert first.count("<tr>") - 1 == 50  # the header row, then 50 dead letters
    assert "why 119" in first and "why 70" in first and "why 69" not in first
    assert 'href="/dead-letters?page=2"' in first
    last = client.get("/dead-letters?page=3").text
    assert "why 19" in last and "why 0" in last and "why 20" not in last
    filtered = client.get("/dead-letters?reason=decode.bad_magic_byte&page=2").text
    assert 'href="/dead-letters?reason=decode.bad_magic_byte&amp;page=3"' in filtered


def test_without_kafka_the_detail_is_a_503_page_and_the_list_has_no_links(
    client, dead_letters: DeadLetterLog
):
    dead_letters.add(entry(7))
    log_in(client)
    assert 'href="/dead-letters/1/7"' not in client.get("/dead-letters").text
    page = client.get("/dead-letters/1/7")
    assert page.status_code == 503
    assert "Not available here" in page.text


def test_a_replay_without_the_form_token_is_403(client):
    log_in(client)
    assert client.post("/dead-letters/1/7/replay", data={"confirm": "yes"}).status_code == 403
    token = form_token(client.get("/queue").text)
    answer = client.post("/dead-letters/1/7/replay", data={"form_token": token, "confirm": "yes"})
    assert answer.status_code == 503


def test_a_position_that_is_not_a_number_is_a_422_page(client):
    log_in(client)
    page = client.get("/dead-letters/one/7")
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "path.partition" in page.text
