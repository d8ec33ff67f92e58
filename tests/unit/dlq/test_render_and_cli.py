"""Text and JSON output of the dead-letter tools, and the CLI's parsing and refusals."""

from __future__ import annotations

import argparse
import dataclasses
import io
import json

import pytest

from velocity_stream.cli import dlq_cmd
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.dlq import render
from velocity_stream.dlq.audit import AuditLog, AuditRecord
from velocity_stream.dlq.payload import DecodeAttempt
from velocity_stream.dlq.records import REPLAY_ID, parse_dead_letter
from velocity_stream.dlq.replay import ReplayPlan, plan_replay

from .conftest import PREFIX, Factory


def parser() -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(prog="velocity-stream")
    dlq_cmd.register(made.add_subparsers(dest="command", required=True))
    return made


@pytest.fixture
def expired_row(factory: Factory, examples: dict[str, Artifact]):
    factory.send(
        examples["ImportRowRecord"],
        headers=(("x-origin", b"crm"), (REPLAY_ID, b"earlier-run"), ("blob", b"\xff\x00")),
    )
    factory.expire()
    [record] = factory.dead_letters()
    return parse_dead_letter(record, factory.catalog.ingress_topics(PREFIX))


def test_show_lines_star_every_header_a_replay_would_not_send(expired_row):
    attempt = DecodeAttempt("ok", "fine", 1, {"batch_id": "b", "raw": b"\x01"})
    lines = render.show_lines("dlq", expired_row, [], attempt)
    headers = [line for line in lines if line.startswith("  ") and " = " in line]
    assert headers[0] == "    x-origin = 'crm'"
    assert headers[1].startswith("  * velocity.replay.id")
    assert headers[2] == "    blob = 0xff00"
    assert all(line.startswith("  * ") for line in headers[3:])
    assert any(line.startswith("reason          state.import_row.unknown_batch") for line in lines)
    assert '    "raw": "01"' in lines  # decoded bytes shown as hex inside the JSON


def test_table_lines_align_and_show_the_last_replay(expired_row):
    replay = AuditRecord(
        "run-1",
        "ops:bo",
        "2026-04-18T10:00:00.000Z",
        expired_row.coordinates,
        expired_row.reason,
        "ImportRowRecord",
        None,
        None,
        ("t", 0, 1),
        False,
        "",
        "h",
        "0",
    )
    lines = render.table_lines([expired_row], AuditLog((replay,)))
    assert lines[0].split() == [
        "POSITION",
        "DEAD-LETTERED",
        "REASON",
        "FAMILY",
        "ARTIFACT",
        "REPLAYED",
    ]
    assert lines[1].startswith(expired_row.position)
    assert lines[1].endswith("2026-04-18T10:00:00.000Z by ops:bo")
    assert lines[0].index("REASON") == lines[1].index("state.import_row")


def test_json_shapes_are_plain_json(expired_row):
    attempt = DecodeAttempt("framing", "not framed")
    body = render.detail_json("dlq", expired_row, [], attempt)
    assert json.loads(json.dumps(body)) == body
    assert body["headers"][2] == {"name": "blob", "value": {"hex": "ff00"}}
    assert body["replayed_headers"] == ["x-origin", "blob"]
    # the fixture's input carries an earlier replay's id: a replay refused again, never resent
    refused_again = plan_replay([expired_row], AuditLog(()), {expired_row.source_topic or ""})
    [skipped] = render.plan_json(refused_again)["skipped"]
    assert (skipped["position"], skipped["why"]) == (expired_row.position, "replay_refused_again")
    fresh = dataclasses.replace(expired_row, replay_of=None, replay_id=None)
    plan = plan_replay([fresh], AuditLog(()), {expired_row.source_topic or ""})
    assert render.plan_json(plan)["selected"] == [expired_row.position]
    assert render.plan_lines("dlq", "all dead letters", plan)[0] == (
        "would replay 1 dead letters from dlq (all dead letters)"
    )


def test_commands_and_options_parse():
    args = parser().parse_args(
        [
            "dlq",
            "replay",
            "--reason",
            "state",
            "--reason",
            "auth",
            "--family",
            "qd-signal-bundle",
            "--since",
            "2026-04-18",
            "--dry-run",
            "--force",
            "--operator",
            "me",
            "--no-progress",
        ]
    )
    assert (args.reason, args.family, args.dry_run, args.force, args.operator, args.progress) == (
        ["state", "auth"],
        ["qd-signal-bundle"],
        True,
        True,
        "me",
        False,
    )
    listing = parser().parse_args(["dlq", "list", "--limit", "5", "--progress", "--format", "json"])
    assert (listing.limit, listing.progress, listing.format) == (5, True, "json")
    assert parser().parse_args(["dlq", "show", "2:17"]).position == "2:17"


@pytest.mark.parametrize(
    "argv",
    [
        ["dlq", "show", "17"],
        ["dlq", "show", "a:b"],
        ["dlq", "list", "--since", "yesterday"],
        ["dlq", "list", "--family", "NoSuchFamily"],
        ["dlq", "list", "--reason", "not.a.code"],
        ["dlq", "replay", "--reason", "state.import_row.unknwn_batch", "--yes"],
        ["dlq", "replay", "--family", "qd-signal-bundel", "--dry-run"],
        ["dlq", "replay", "--since", "2026-04-18", "--until", "2026-04-17"],
    ],
)
def test_bad_input_is_one_error_line_and_exit_2_before_any_kafka_call(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    args = parser().parse_args(argv)
    assert args.handler(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_replay_refuses_without_yes_when_nobody_can_answer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], expired_row
):
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # not a terminal
    assert not dlq_cmd._confirm("dlq", ReplayPlan((expired_row,), ()))
    assert "without --yes" in capsys.readouterr().err


def test_package_exports_match_all():
    import velocity_stream.dlq as package

    public = {name for name in vars(package) if not name.startswith("_")}
    modules = {"audit", "filters", "payload", "progress", "reader", "records", "render", "replay"}
    assert set(package.__all__) == public - modules - {"annotations"}
