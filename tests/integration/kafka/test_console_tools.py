"""``velocity-stream produce`` and ``tail`` against a real broker: a file of mixed lines, the
report and exit code, what landed on the topic, tailing it back, dead letters, --follow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.signing import REVIEW_KEY
from velocity_stream.cli.main import main
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.examples import example
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.protocol import headers as gh
from velocity_stream.registry.resolvers import resolver_for
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import Settings
from velocity_stream.trust import SIGNATURE_HEADER, SIGNATURE_KEY_HEADER

pytestmark = pytest.mark.integration


def _env(settings: Settings) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
        "VELOCITY_TOPIC_PREFIX": settings.topic_prefix,
        "VELOCITY_CLIENT_ID": settings.client_id,
        "VELOCITY_SESSION_TIMEOUT_MS": str(settings.session_timeout_ms),
        "VELOCITY_FETCH_WAIT_MAX_MS": str(settings.fetch_wait_max_ms),
    }


@pytest.fixture
def cli_env(provisioned: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The provisioned test topics, as the environment the CLI reads its settings from."""
    env = _env(provisioned)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("VELOCITY_REVIEW_SIGNING_KEY", raising=False)
    return env


def _signals(n: int) -> list[dict[str, Any]]:
    base = example("QdSignalBundle").model_dump(mode="json")
    return [
        {**base, "artifact_id": f"art:console:{i}", "client_ref": f"client:{i}"} for i in range(n)
    ]


def _tail(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["tail", *args]) == 0
    out = capsys.readouterr().out
    return [json.loads(row) for row in out.splitlines()]


def test_produce_a_mixed_file_then_tail_it_back(
    cli_env: dict[str, str],
    provisioned: Settings,
    catalog: Catalog,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    good = _signals(3)
    bad_confidence = {**good[0], "artifact_id": "art:console:bad", "confidence": 1.7}
    lines = [
        json.dumps(good[0]),
        "",  # blank lines are skipped, numbering is kept
        json.dumps(good[1]),
        "{not json",
        json.dumps(bad_confidence),
        "[1, 2]",
        json.dumps(good[2]),
    ]
    source = tmp_path / "signals.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    assert main(["produce", "QdSignalBundle", str(source)]) == 1
    err = capsys.readouterr().err.splitlines()
    topic = catalog.family("QdSignalBundle").ingress_topic(provisioned.topic_prefix)
    assert err[0].startswith("line 4\tinput.invalid_json\t<artifact>\tnot JSON: ")
    assert err[1].startswith("line 5\tcontract.confidence_range\tconfidence\t")
    assert err[2].startswith("line 6\tinput.not_an_object\t<artifact>\t")
    assert err[3] == f"sent 3 of 6 lines to {topic}; 3 refused"
    assert len(err) == 4

    rows = _tail(capsys, "QdSignalBundle", "--ingress", "--from-beginning")
    assert [
        row["artifact"] for row in sorted(rows, key=lambda r: r["artifact"]["artifact_id"])
    ] == [example("QdSignalBundle").model_validate(g).model_dump(mode="json") for g in good]
    for row in rows:
        assert row["topic"] == topic and row["family"] == "QdSignalBundle"
        assert row["key"] == row["artifact"]["client_ref"]
        assert isinstance(row["partition"], int) and isinstance(row["offset"], int)
        assert row["timestamp"].endswith("Z") and row["timestamp_ms"] > 0
        headers = {h["name"]: h["value"] for h in row["headers"]}
        assert headers[gh.ARTIFACT_TYPE] == "QdSignalBundle"
        assert headers[gh.ARTIFACT_ID] == row["artifact"]["artifact_id"]
        assert "error" not in row and "value_base64" not in row
    # Its artifacts are produce input again: tail | jq -c .artifact | produce.
    again = tmp_path / "again.jsonl"
    again.write_text("\n".join(json.dumps(row["artifact"]) for row in rows), encoding="utf-8")
    assert main(["produce", "QdSignalBundle", str(again)]) == 0
    assert capsys.readouterr().err == f"sent 3 of 3 lines to {topic}\n"
    assert len(_tail(capsys, "QdSignalBundle", "--ingress", "--from-beginning")) == 6
    assert len(_tail(capsys, "QdSignalBundle", "--ingress", "--from-beginning", "--max", "2")) == 2
    # Only new records, no --follow: the end as of start, so nothing.
    assert _tail(capsys, "QdSignalBundle", "--ingress") == []
    # The accepted topic (a family name's default) has nothing: no gateway runs here.
    assert _tail(capsys, "QdSignalBundle", "--from-beginning") == []


def test_decisions_are_signed_with_the_review_key_and_refused_without_it(
    cli_env: dict[str, str],
    provisioned: Settings,
    catalog: Catalog,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    """Run as a subprocess, the way an operator does."""
    decision = example("ApprovalDecision").model_dump(mode="json")
    source = tmp_path / "decisions.jsonl"
    source.write_text(json.dumps(decision) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "VELOCITY_REVIEW_SIGNING_KEY"}
    env.update(cli_env)
    command = [sys.executable, "-m", "velocity_stream.cli.main", "produce", "approval-decision"]

    unsigned = subprocess.run(
        [*command, str(source)], env=env, capture_output=True, text=True, timeout=120
    )
    assert unsigned.returncode == 1, unsigned.stderr
    first, summary = unsigned.stderr.splitlines()
    assert first.startswith("line 1\tauth.decision_unsigned\t<artifact>\tnot sent: ")
    assert "VELOCITY_REVIEW_SIGNING_KEY is not set" in first
    assert summary.startswith("sent 0 of 1 lines to ")

    env["VELOCITY_REVIEW_SIGNING_KEY"] = REVIEW_KEY.text()
    signed = subprocess.run(
        [*command, "-"],
        env=env,
        input=json.dumps(decision) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert signed.returncode == 0, signed.stderr
    topic = catalog.family("ApprovalDecision").ingress_topic(provisioned.topic_prefix)
    assert signed.stderr == f"sent 1 of 1 lines to {topic}\n"
    tailed = subprocess.run(
        [sys.executable, "-m", "velocity_stream.cli.main", "tail", topic, "--from-beginning"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tailed.returncode == 0, tailed.stderr
    [row] = [json.loads(text) for text in tailed.stdout.splitlines()]
    headers = {h["name"]: h for h in row["headers"]}
    assert headers[SIGNATURE_KEY_HEADER]["value"] == REVIEW_KEY.key_id
    assert SIGNATURE_HEADER in headers
    assert row["artifact"]["decision_id"] == decision["decision_id"]


def test_tail_shows_dead_letters_with_their_reason_and_undecodable_values_in_base64(
    cli_env: dict[str, str],
    producer: ArtifactProducer,
    provisioned: Settings,
    catalog: Catalog,
    capsys: pytest.CaptureFixture[str],
):
    prefix = provisioned.topic_prefix
    # The schema ids the CLI's serde uses without a registry (the gateway's fixed order).
    serde = AvroSerde(catalog, resolver_for(provisioned, catalog), prefix)
    family = catalog.family("QdSignalBundle")
    ingress = family.ingress_topic(prefix)
    dlq = catalog.dead_letter_topic(prefix)
    signal = example("QdSignalBundle")
    original = [(gh.ARTIFACT_TYPE, b"QdSignalBundle"), ("custom", b"\xff\xfe")]

    def block(reason: str, field: str) -> list[tuple[str, bytes]]:
        return [
            (gh.DLQ_REASON, reason.encode()),
            (gh.DLQ_STAGE, reason.split(".")[0].encode()),
            (gh.DLQ_MESSAGE, b"refused for the test"),
            (gh.DLQ_FIELD, field.encode()),
            (gh.DLQ_SOURCE_TOPIC, ingress.encode()),
            (gh.DLQ_SOURCE_PARTITION, b"0"),
            (gh.DLQ_SOURCE_OFFSET, b"41"),
            (gh.GATEWAY_VERSION, b"9.9.9"),
            (gh.DLQ_TIME, b"1767225600000"),
        ]

    producer.publish_raw(
        dlq, b"client:1", serde.encode(signal), original + block("auth.not_owner", "")
    ).result(10)
    producer.publish_raw(
        dlq, b"client:2", b"\x01garbage", original + block("decode.bad_magic_byte", "")
    ).result(10)

    rows = _tail(capsys, "dead-letters", "--from-beginning")
    by_key = {row["key"]: row for row in rows}
    assert set(by_key) == {"client:1", "client:2"}
    valid, garbage = by_key["client:1"], by_key["client:2"]
    assert valid["topic"] == dlq and valid["family"] == "QdSignalBundle"
    assert valid["dead_letter"] == {
        "reason": "auth.not_owner",
        "stage": "auth",
        "message": "refused for the test",
        "field": None,
        "source": {"topic": ingress, "partition": 0, "offset": 41},
        "dead_lettered_at_ms": 1767225600000,
        "dead_lettered_at": "2026-01-01T00:00:00.000Z",
        "gateway_version": "9.9.9",
        "dropped": [],
    }
    assert valid["artifact"] == signal.model_dump(mode="json")
    custom = [h for h in valid["headers"] if h["name"] == "custom"]
    assert custom == [{"name": "custom", "value_base64": "//4="}]
    assert garbage["dead_letter"]["reason"] == "decode.bad_magic_byte"
    assert garbage["error"]["code"] == "decode.bad_magic_byte"
    assert garbage["value_base64"] == "AWdhcmJhZ2U="
    assert "artifact" not in garbage
    # --family filters on the dead letter's family.
    assert _tail(capsys, "dlq", "--from-beginning", "--family", "InteractionBundle") == []
    assert len(_tail(capsys, "dlq", "--from-beginning", "--family", "qd-signal-bundle")) == 2


def test_follow_prints_only_records_sent_after_it_started(
    cli_env: dict[str, str], provisioned: Settings, catalog: Catalog
):
    serde = AvroSerde(catalog, resolver_for(provisioned, catalog), provisioned.topic_prefix)
    with ArtifactProducer(provisioned, catalog, serde) as producer:
        _follow_one(cli_env, producer, provisioned, catalog)


def _follow_one(
    cli_env: dict[str, str], producer: ArtifactProducer, provisioned: Settings, catalog: Catalog
) -> None:
    before = example("QdSignalBundle")
    producer.publish(before).result(10)
    topic = catalog.family("QdSignalBundle").ingress_topic(provisioned.topic_prefix)
    env = {**os.environ, **cli_env}
    tail = subprocess.Popen(
        [sys.executable, "-m", "velocity_stream.cli.main", "tail", topic, "--follow", "--max", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # No readiness signal: keep sending new records until the tail has printed one.
        deadline = time.monotonic() + 60
        sent = 0
        while tail.poll() is None and time.monotonic() < deadline:
            after = before.model_copy(update={"artifact_id": f"art:console:new:{sent}"})
            producer.publish(after).result(10)
            sent += 1
            time.sleep(0.5)
        out, err = tail.communicate(timeout=30)
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.wait()
    assert tail.returncode == 0, err
    [row] = [json.loads(text) for text in out.splitlines()]
    assert row["artifact"]["artifact_id"].startswith("art:console:new:"), row


def test_unreachable_kafka_and_a_missing_topic_are_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps(_signals(1)[0]) + "\n", encoding="utf-8")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("VELOCITY_CONNECT_TIMEOUT_S", "1")
    monkeypatch.setenv("VELOCITY_TOPIC_PREFIX", "unreachable")
    assert main(["produce", "QdSignalBundle", str(source)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ")


def test_tail_of_a_topic_that_does_not_exist_is_exit_2(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
):
    assert main(["tail", "no.such.topic.v1", "--from-beginning"]) == 2
    assert capsys.readouterr().err == "error: topic no.such.topic.v1 does not exist\n"
