"""Selecting dead letters by reason pattern, family and a half-open time range."""

from __future__ import annotations

import pytest

from velocity_stream.contracts.catalog import Catalog
from velocity_stream.dlq.filters import DeadLetterFilter, format_time, parse_time, reason_matches
from velocity_stream.dlq.records import parse_dead_letter
from velocity_stream.errors import ConfigError
from velocity_stream.gateway import InboundMessage
from velocity_stream.protocol import headers as h


def dead_letter(reason: str, time_ms: int | None = 1_000, family_topic: str = "u.qd-signal.v1"):
    headers = [(h.DLQ_REASON, reason.encode()), (h.DLQ_SOURCE_TOPIC, family_topic.encode())]
    if time_ms is not None:
        headers.append((h.DLQ_TIME, str(time_ms).encode()))
    record = InboundMessage("dlq", 0, 0, None, b"", tuple(headers), 123)
    return parse_dead_letter(record, {})


@pytest.mark.parametrize(
    ("pattern", "code", "expected"),
    [
        ("state.import_row.unknown_batch", "state.import_row.unknown_batch", True),
        ("state", "state.import_row.unknown_batch", True),
        ("state.*", "state.graph_delta.decision_not_approved", True),
        ("state.", "state.import_batch.mutated", True),
        ("contract.import_row", "contract.import_row.content_hash_mismatch", True),
        ("contract.import_row", "contract.import_manifest.column_unknown", False),
        ("state.import", "state.import_row.unknown_batch", False),  # segments, not substrings
        ("auth", "approval.already_decided", False),
        ("*", "decode.corrupt_body", True),
        ("  decode.corrupt_body ", "decode.corrupt_body", True),
    ],
)
def test_reason_patterns_follow_the_dotted_hierarchy(pattern: str, code: str, expected: bool):
    assert reason_matches(pattern, code) is expected


def test_several_reasons_are_alternatives():
    selection = DeadLetterFilter(reasons=("auth", "decode.corrupt_body"))
    assert selection.matches(dead_letter("auth.not_owner"))
    assert selection.matches(dead_letter("decode.corrupt_body"))
    assert not selection.matches(dead_letter("state.import_row.unknown_batch"))


def test_family_is_matched_in_any_spelling_the_catalog_knows(catalog: Catalog):
    selection = DeadLetterFilter.build(catalog, families=["qd-signal-bundle", "import_row_record"])
    assert selection.families == ("QdSignalBundle", "ImportRowRecord")
    ingress = catalog.ingress_topics("u")
    topic = catalog.family("QdSignalBundle").ingress_topic("u")
    record = InboundMessage(
        "dlq",
        0,
        0,
        None,
        b"",
        ((h.DLQ_REASON, b"auth.not_owner"), (h.DLQ_SOURCE_TOPIC, topic.encode())),
        0,
    )
    assert selection.matches(parse_dead_letter(record, ingress))
    assert not selection.matches(dead_letter("auth.not_owner"))  # family unknown


def test_an_unknown_family_is_a_config_error(catalog: Catalog):
    with pytest.raises(ConfigError, match="unknown artifact family"):
        DeadLetterFilter.build(catalog, families=["NoSuchThing"])


def test_time_range_is_half_open_on_the_dead_letter_time(catalog: Catalog):
    since = "2026-04-18T10:00:00Z"
    until = "2026-04-18T11:00:00Z"
    selection = DeadLetterFilter.build(catalog, since=since, until=until)
    start, end = parse_time(since), parse_time(until)
    assert selection.matches(dead_letter("x.y", start))
    assert selection.matches(dead_letter("x.y", end - 1))
    assert not selection.matches(dead_letter("x.y", end))
    assert not selection.matches(dead_letter("x.y", start - 1))
    # without velocity.dlq.time, the record's own timestamp (123 ms) counts
    assert not selection.matches(dead_letter("x.y", None))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-04-18T10:00:00Z", 1_776_506_400_000),
        ("2026-04-18T10:00:00+00:00", 1_776_506_400_000),
        ("2026-04-18T15:30:00+05:30", 1_776_506_400_000),
        ("2026-04-18T10:00:00", 1_776_506_400_000),  # naive means UTC
        ("2026-04-18", 1_776_470_400_000),
        ("2026-04-18T10:00:00.250Z", 1_776_506_400_250),
    ],
)
def test_times_parse_as_iso_8601(text: str, expected: int):
    assert parse_time(text) == expected


def test_format_time_is_iso_utc_with_milliseconds():
    assert format_time(1_776_506_400_250) == "2026-04-18T10:00:00.250Z"


def test_bad_times_and_empty_ranges_are_config_errors(catalog: Catalog):
    with pytest.raises(ConfigError, match="ISO 8601"):
        parse_time("yesterday")
    with pytest.raises(ConfigError, match="must be after"):
        DeadLetterFilter.build(catalog, since="2026-04-18", until="2026-04-17")


def test_describe_says_what_was_selected(catalog: Catalog):
    assert DeadLetterFilter().describe() == "all dead letters"
    assert DeadLetterFilter().is_empty
    selection = DeadLetterFilter.build(
        catalog, reasons=["state"], families=["QdSignalBundle"], since="2026-04-18"
    )
    assert selection.describe() == (
        "reason state, family QdSignalBundle, since 2026-04-18T00:00:00.000Z"
    )
    assert not selection.is_empty


@pytest.mark.parametrize(
    "pattern",
    ["state", "state.*", "state.", "contract.import_row", "state.import_row.unknown_batch", "*"],
)
def test_reason_patterns_that_name_codes_or_their_stages_are_kept(catalog: Catalog, pattern: str):
    assert DeadLetterFilter.build(catalog, reasons=[pattern]).reasons == (pattern,)


def test_an_unknown_reason_is_a_config_error_naming_the_closest_codes(catalog: Catalog):
    with pytest.raises(ConfigError, match=r"closest: state\.import_row\.unknown_batch"):
        DeadLetterFilter.build(catalog, reasons=["state.import_row.unknwn_batch"])
    with pytest.raises(ConfigError) as raised:
        DeadLetterFilter.build(catalog, reasons=["not.a.code"])
    assert "decode.empty_payload" in str(raised.value)  # nothing close: every code is listed
    assert "\n" not in str(raised.value)
    with pytest.raises(ConfigError, match="stat"):  # a stage must be whole
        DeadLetterFilter.build(catalog, reasons=["stat"])


def test_an_unknown_family_suggests_the_closest(catalog: Catalog):
    with pytest.raises(ConfigError, match="did you mean ImportRowRecord"):
        DeadLetterFilter.build(catalog, families=["import-row-recrd"])
