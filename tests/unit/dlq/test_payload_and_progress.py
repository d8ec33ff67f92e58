"""``dlq show``'s hex dump and decode attempt, and the stderr progress bar."""

from __future__ import annotations

import io

from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.dlq.payload import attempt_decode, framing, hex_dump
from velocity_stream.dlq.progress import ProgressBar
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver


def test_hex_dump_shows_offsets_hex_and_printable_text():
    lines = hex_dump(b"\x00\x00\x00\x00\x07hello, world!\xff", limit=None)
    assert (
        lines[0] == "00000000  00 00 00 00 07 68 65 6c 6c 6f 2c 20 77 6f 72 6c  |.....hello, worl|"
    )
    assert lines[1].startswith("00000010  64 21 ff") and lines[1].endswith("|d!.|")


def test_hex_dump_is_cut_with_a_note():
    lines = hex_dump(bytes(100), limit=32)
    assert len(lines) == 3
    assert lines[-1] == "... 68 more bytes (--full shows all)"


def test_framing_names_the_schema_id_or_what_is_wrong():
    assert framing(b"\x00\x00\x00\x01\x2aabc") == (
        "Confluent wire format, schema id 298, 3-byte body",
        298,
    )
    assert framing(b"{json}")[1] is None and "not Confluent-framed" in framing(b"{json}")[0]
    assert framing(None) == ("empty or null value", None)
    assert framing(b"\x00\x01")[1] is None


def test_decode_attempt_reaches_the_contract_and_returns_the_record(
    catalog: Catalog, examples: dict[str, Artifact]
):
    serde = AvroSerde(catalog, InMemorySchemaResolver(), "u")
    row = examples["ImportRowRecord"]
    family = catalog.family("ImportRowRecord")

    ok = attempt_decode(serde.encode(row), family, 1, serde)
    assert ok.stage == "ok"
    assert ok.record is not None and ok.record["batch_id"] == row.batch_id
    assert ok.to_json()["record"]["row_number"] == row.row_number

    corrupt = attempt_decode(serde.encode(row)[:9], family, 1, serde)
    assert corrupt.stage == "decode" and corrupt.schema_id is not None

    no_registry = attempt_decode(serde.encode(row), family, 1, None)
    assert no_registry.stage == "registry"
    assert attempt_decode(b"plain text", family, 1, serde).stage == "framing"
    assert attempt_decode(serde.encode(row), None, None, serde).stage == "family"


def test_decode_attempt_reports_a_contract_failure_with_the_decoded_record(
    catalog: Catalog, examples: dict[str, Artifact]
):
    serde = AvroSerde(catalog, InMemorySchemaResolver(), "u")
    bad = examples["ImportRowRecord"].model_copy(update={"content_sha256": "0" * 64})
    attempt = attempt_decode(serde.encode(bad), catalog.family("ImportRowRecord"), 1, serde)
    assert attempt.stage == "contract"
    assert "content_hash_mismatch" in attempt.detail
    assert attempt.record is not None


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_one_line_on_a_terminal():
    out = Terminal()
    bar = ProgressBar(out, "replaying", min_interval=0.0)
    for done in range(0, 5):
        bar(done, 4)
    bar.finish()
    text = out.getvalue()
    assert text.count("\r") == 5 and text.endswith("\n")
    assert "[" + "#" * 30 + "] 4/4 100%" in text


def test_progress_in_a_log_prints_only_each_tenth():
    out = io.StringIO()
    bar = ProgressBar(out, "replaying")
    for done in range(0, 1001):
        bar(done, 1000)
    bar(5, None)  # an unknown end stays quiet in logs
    bar.finish()
    lines = out.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[-1].startswith("replaying [") and "1,000/1,000" in lines[-1]
    assert "\r" not in out.getvalue()


def test_progress_with_an_unknown_end_counts_records():
    out = Terminal()
    bar = ProgressBar(out, "reading", min_interval=0.0)
    bar(1234)
    assert "reading 1,234 records" in out.getvalue()
