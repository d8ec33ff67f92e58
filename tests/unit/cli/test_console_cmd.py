"""Unit tests of the console tools' pure parts: JSON lines to artifacts and refusals, records
to JSON, which family a record is, topic names; and that the CLI group imports nothing heavy."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from velocity_stream.cli.main import main
from velocity_stream.console.lines import (
    INVALID_JSON,
    NOT_AN_OBJECT,
    ParsedLine,
    Refusal,
    numbered_lines,
    parse_line,
)
from velocity_stream.console.produce import plan_lines, produce_lines
from velocity_stream.console.render import (
    Decoded,
    headers_json,
    iso_time,
    line,
    record_json,
    text_or_base64,
)
from velocity_stream.console.tail import UNKNOWN_FAMILY, RecordDecoder, resolve_topic
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.examples import example
from velocity_stream.protocol import headers as gh
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.registry.resolvers import preregistered_resolver
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import Settings

PREFIX = "unit"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(Settings().schemas_dir)


@pytest.fixture(scope="module")
def serde(catalog: Catalog) -> AvroSerde:
    return AvroSerde(catalog, preregistered_resolver(catalog, PREFIX), PREFIX)


def _signal_json(**changes: object) -> str:
    return json.dumps({**example("QdSignalBundle").model_dump(mode="json"), **changes})


# --- lines ----------------------------------------------------------------------------------


def test_blank_lines_are_skipped_and_numbering_is_kept():
    assert list(numbered_lines("a\n\n  \nb\r\nc")) == [(1, "a"), (4, "b"), (5, "c")]


def test_a_valid_line_becomes_its_artifact(catalog: Catalog):
    parsed = parse_line(catalog.family("QdSignalBundle"), 3, _signal_json())
    assert isinstance(parsed, ParsedLine)
    assert parsed.line == 3 and parsed.artifact == example("QdSignalBundle")


def test_every_broken_rule_of_a_line_is_a_refusal_with_its_field(catalog: Catalog):
    family = catalog.family("QdSignalBundle")
    [out_of_range] = parse_line(family, 7, _signal_json(confidence=1.7))  # type: ignore[misc]
    assert (out_of_range.line, out_of_range.code) == (7, "contract.confidence_range")
    assert out_of_range.path == "confidence"
    refused = parse_line(family, 7, _signal_json(created_by="", client_ref=None))
    assert isinstance(refused, list)
    assert {r.path for r in refused} == {"created_by", "client_ref"}
    assert all(r.line == 7 and r.message for r in refused)
    wrong_family = parse_line(
        family, 1, json.dumps(example("InteractionBundle").model_dump(mode="json"))
    )
    assert isinstance(wrong_family, list) and wrong_family


def test_lines_that_are_no_json_object_are_refused(catalog: Catalog):
    family = catalog.family("QdSignalBundle")
    [not_json] = parse_line(family, 1, "{nope")  # type: ignore[misc]
    assert not_json.code == INVALID_JSON and not_json.message.startswith("not JSON: ")
    [array] = parse_line(family, 2, "[1]")  # type: ignore[misc]
    assert array.code == NOT_AN_OBJECT and "not list" in array.message


def test_a_refusal_is_one_tab_separated_line():
    refusal = Refusal(12, "contract.x", "", "two\nlines  here")
    assert refusal.text() == "line 12\tcontract.x\t<artifact>\ttwo lines here"
    assert Refusal(1, "c", "a.b", "m").text() == "line 1\tc\ta.b\tm"


def test_decisions_without_a_signing_key_are_refused_and_broken_ones_keep_their_reasons(
    catalog: Catalog,
):
    family = catalog.family("ApprovalDecision")
    decision = example("ApprovalDecision").model_dump(mode="json")
    text = "\n".join([json.dumps(decision), json.dumps({**decision, "confidence": 2.0})])
    valid, refused, count = plan_lines(family, text, can_sign=False)
    assert valid == [] and count == 2
    assert refused[0].line == 1 and refused[0].code == "auth.decision_unsigned"
    assert "VELOCITY_REVIEW_SIGNING_KEY is not set" in refused[0].message
    assert {r.line for r in refused[1:]} == {2}
    assert "auth.decision_unsigned" not in {r.code for r in refused[1:]}
    signable, refused, _ = plan_lines(family, text, can_sign=True)
    assert [p.line for p in signable] == [1] and {r.line for r in refused} == {2}


def test_nothing_valid_means_no_kafka_and_exit_1(catalog: Catalog):
    def no_serde() -> AvroSerde:
        raise AssertionError("nothing to send: Kafka and the registry must not be touched")

    settings = Settings(kafka_bootstrap_servers="127.0.0.1:1", topic_prefix=PREFIX)
    err = io.StringIO()
    code, report = produce_lines(
        settings,
        catalog,
        catalog.family("QdSignalBundle"),
        "{bad\n\n[]\n",
        signer=None,
        err=err,
        make_serde=no_serde,
    )
    assert code == 1 and report.sent == 0 and report.lines == 2
    assert (
        err.getvalue().splitlines()[-1]
        == "sent 0 of 2 lines to unit.qd-signal-bundle.v1; 2 refused"
    )


# --- render ---------------------------------------------------------------------------------


def test_bytes_are_text_when_utf8_else_base64():
    assert text_or_base64("key", b"client:1") == {"key": "client:1"}
    assert text_or_base64("key", b"\xff") == {"key_base64": "/w=="}
    assert text_or_base64("key", None) == {"key": None}
    assert headers_json([("a", b"x"), ("a", b"\x80"), ("n", None)]) == [
        {"name": "a", "value": "x"},
        {"name": "a", "value_base64": "gA=="},
        {"name": "n", "value": None},
    ]


def test_times_are_utc_iso_with_milliseconds():
    assert iso_time(1767225600123) == "2026-01-01T00:00:00.123Z"
    assert iso_time(None) is None and iso_time(-1) is None


def test_a_record_that_did_not_decode_keeps_its_bytes_and_the_reason():
    decoded = Decoded(
        "QdSignalBundle",
        error_code="contract.confidence_range",
        error_message="broken",
        violations=({"code": "contract.confidence_range", "path": "confidence", "message": "m"},),
        record={"blob": b"\x00\x01", "n": 1},
    )
    out = record_json(
        topic="t",
        partition=1,
        offset=2,
        timestamp_ms=None,
        key=None,
        headers=(),
        value=b"\x00abc",
        decoded=decoded,
    )
    assert out["error"]["code"] == "contract.confidence_range"
    assert out["error"]["violations"][0]["path"] == "confidence"
    assert out["record"] == {"blob": "AAE=", "n": 1}
    assert out["value_base64"] == "AGFiYw=="
    assert "artifact" not in out and out["key"] is None and out["timestamp"] is None
    assert "\n" not in line(out)


# --- decoding and topics --------------------------------------------------------------------


def _record(topic: str, value: bytes | None, headers: tuple[tuple[str, bytes], ...] = ()):
    return InboundMessage(topic, 0, 5, b"k", value, headers, 1767225600000)


def test_records_decode_by_topic_by_writer_schema_or_not_at_all(catalog: Catalog, serde: AvroSerde):
    decoder = RecordDecoder(catalog, serde, PREFIX)
    signal = example("QdSignalBundle")
    value = serde.encode(signal)
    family = catalog.family("QdSignalBundle")
    for topic in (family.ingress_topic(PREFIX), family.accepted_topic(PREFIX), "elsewhere"):
        out = decoder.render(_record(topic, value))
        assert out["family"] == "QdSignalBundle" and out["artifact"] == signal.model_dump(
            mode="json"
        )
    garbage = decoder.render(_record("elsewhere", b"\x01zz"))
    assert garbage["family"] is None and garbage["error"]["code"] == UNKNOWN_FAMILY
    assert garbage["value_base64"] == "AXp6"
    # The producer's type header names the family when nothing else does.
    hinted = decoder.render(
        _record("elsewhere", b"\x01zz", ((gh.ARTIFACT_TYPE, b"QdSignalBundle"),))
    )
    assert hinted["family"] == "QdSignalBundle"
    assert hinted["error"]["code"] == "decode.bad_magic_byte"
    wrong = decoder.render(
        _record(catalog.family("InteractionBundle").ingress_topic(PREFIX), value)
    )
    assert wrong["error"]["code"] == "decode.wrong_family"
    empty = decoder.render(_record(family.ingress_topic(PREFIX), None))
    assert empty["error"]["code"] == "decode.empty_payload" and empty["value_base64"] is None


def test_a_dead_letter_shows_its_reason_headers_and_decodes_the_original(
    catalog: Catalog, serde: AvroSerde
):
    decoder = RecordDecoder(catalog, serde, PREFIX)
    ingress = catalog.family("QdSignalBundle").ingress_topic(PREFIX)
    headers = (
        (gh.ARTIFACT_TYPE, b"QdSignalBundle"),
        (gh.DLQ_REASON, b"contract.key_mismatch"),
        (gh.DLQ_STAGE, b"contract"),
        (gh.DLQ_MESSAGE, b"key is not client_ref"),
        (gh.DLQ_FIELD, b"client_ref"),
        (gh.DLQ_SOURCE_TOPIC, ingress.encode()),
        (gh.DLQ_SOURCE_PARTITION, b"2"),
        (gh.DLQ_SOURCE_OFFSET, b"9"),
    )
    value = serde.encode(example("QdSignalBundle"))
    out = decoder.render(_record(catalog.dead_letter_topic(PREFIX), value, headers))
    assert out["dead_letter"]["reason"] == "contract.key_mismatch"
    assert out["dead_letter"]["field"] == "client_ref"
    assert out["dead_letter"]["source"] == {"topic": ingress, "partition": 2, "offset": 9}
    assert out["dead_letter"]["dead_lettered_at"] is None
    assert out["family"] == "QdSignalBundle" and "artifact" in out
    assert [h["name"] for h in out["headers"]] == [name for name, _ in headers]


def test_topic_names(catalog: Catalog):
    family = catalog.family("QdSignalBundle")
    assert resolve_topic(catalog, PREFIX, "QdSignalBundle") == family.accepted_topic(PREFIX)
    assert resolve_topic(catalog, PREFIX, "qd-signal-bundle", ingress=True) == family.ingress_topic(
        PREFIX
    )
    assert resolve_topic(catalog, PREFIX, family.ingress_topic(PREFIX)) == family.ingress_topic(
        PREFIX
    )
    assert resolve_topic(catalog, PREFIX, "dead-letters") == catalog.dead_letter_topic(PREFIX)
    assert resolve_topic(catalog, PREFIX, "dlq") == catalog.dead_letter_topic(PREFIX)
    assert resolve_topic(catalog, PREFIX, "approvals") == catalog.approvals_topic(PREFIX)
    assert resolve_topic(catalog, PREFIX, "commits") == catalog.commits_topic(PREFIX)
    assert resolve_topic(catalog, PREFIX, "some.other.topic") == "some.other.topic"
    with pytest.raises(Exception, match="--ingress takes a family name"):
        resolve_topic(catalog, PREFIX, "dead-letters", ingress=True)


# --- the CLI --------------------------------------------------------------------------------


def test_unusable_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["produce", "QdSignalBundle", str(tmp_path / "missing.jsonl")]) == 2
    [message] = capsys.readouterr().err.splitlines()
    assert message.startswith(f"error: cannot read {tmp_path / 'missing.jsonl'}: ")
    assert main(["produce", "QdSignalBundle", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read ")
    latin = tmp_path / "latin1.jsonl"
    latin.write_bytes(b'{"x": "caf\xe9"}\n')
    assert main(["produce", "QdSignalBundle", str(latin)]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["produce", "NoSuchFamily", str(latin)]) == 2
    assert capsys.readouterr().err.startswith("error: unknown artifact family 'NoSuchFamily'")
    assert main(["tail", "x", "--family", "NoSuchFamily"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown artifact family")


def test_the_command_group_imports_nothing_heavy():
    heavy = ("confluent_kafka", "fastavro", "pydantic", "velocity_stream.contracts")
    code = (
        "import sys, velocity_stream.cli.console_cmd\n"
        f"print([m for m in sys.modules if m.startswith({heavy!r})])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
