"""JSON log lines: fields, the trace id carried from producer headers, isolation per task."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from velocity_stream.observability import (
    configure_logging,
    current_trace_id,
    log_handler,
    message_context,
    trace_context,
    trace_id_from_headers,
)
from velocity_stream.protocol.headers import TRACE_ID, new_trace_id
from velocity_stream.settings import LogFormat, Settings


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def text(self) -> list[str]:
        return self.stream.getvalue().splitlines()


def _capture(log_format: LogFormat, name: str) -> Iterator[tuple[logging.Logger, Captured]]:
    stream = io.StringIO()
    handler = log_handler(log_format, static={"role": "gateway"}, stream=stream)
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, Captured(stream)
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, Captured]]:
    yield from _capture(LogFormat.JSON, "velocity_stream.tests.json")


@pytest.fixture
def text_log() -> Iterator[tuple[logging.Logger, Captured]]:
    yield from _capture(LogFormat.TEXT, "velocity_stream.tests.text")


def test_line_is_one_json_object_with_the_trace_id_from_the_message_headers(json_log):
    logger, captured = json_log
    trace = new_trace_id()
    headers = (("velocity.artifact_type", b"QdSignalBundle"), (TRACE_ID, trace.encode()))
    with message_context(headers):
        logger.info("routed %s", "art:1", extra={"topic": "velocity.qd.v1", "partition": 2})

    [line] = captured.lines()
    assert line["trace_id"] == trace
    assert line["message"] == "routed art:1"
    assert line["level"] == "INFO"
    assert line["logger"] == "velocity_stream.tests.json"
    assert line["role"] == "gateway"
    assert line["topic"] == "velocity.qd.v1" and line["partition"] == 2
    assert str(line["time"]).endswith("Z")


def test_no_trace_id_outside_a_message_and_the_previous_one_is_restored(json_log):
    logger, captured = json_log
    with trace_context("outer-trace"):
        with message_context([(TRACE_ID, b"inner-trace")]):
            logger.info("inner")
        logger.info("outer")
    logger.info("none")

    inner, outer, none = captured.lines()
    assert inner["trace_id"] == "inner-trace"
    assert outer["trace_id"] == "outer-trace"
    assert "trace_id" not in none
    assert current_trace_id() is None


def test_exception_is_logged_as_a_field_of_the_same_line(json_log):
    logger, captured = json_log
    with trace_context("t-1"):
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    [line] = captured.lines()
    assert line["trace_id"] == "t-1"
    assert "ValueError: boom" in str(line["exception"])


def test_values_json_cannot_encode_become_text(json_log):
    logger, captured = json_log
    logger.info("raw", extra={"key": b"\x00\xff", "reason": object()})
    [line] = captured.lines()
    assert isinstance(line["key"], str) and isinstance(line["reason"], str)


@pytest.mark.parametrize(
    "value",
    [b"x" * 129, b"line\nbreak", b"\x1b[31mred", b"", b"spaces are not allowed"],
)
def test_malformed_trace_header_is_ignored(value):
    assert trace_id_from_headers([(TRACE_ID, value)]) is None


def test_last_trace_header_wins_and_str_values_are_accepted():
    headers = [(TRACE_ID, b"first"), ("other", b"x"), (TRACE_ID, "second")]
    assert trace_id_from_headers(headers) == "second"
    assert trace_id_from_headers(None) is None
    assert trace_id_from_headers([(TRACE_ID, None)]) is None


def test_concurrent_tasks_keep_their_own_trace_ids(json_log):
    logger, captured = json_log

    async def handle(trace: str) -> None:
        with message_context([(TRACE_ID, trace.encode())]):
            await asyncio.sleep(0)  # let the other task run inside its own context
            logger.info("handled", extra={"expected": trace})

    async def main() -> None:
        await asyncio.gather(*(handle(f"trace-{n}") for n in range(5)))

    asyncio.run(main())
    lines = captured.lines()
    assert len(lines) == 5
    assert all(line["trace_id"] == line["expected"] for line in lines)


def test_text_format_shows_the_trace_id_or_a_dash(text_log):
    logger, captured = text_log
    with trace_context("abc123"):
        logger.warning("with")
    logger.warning("without")
    first, second = captured.text()
    assert "WARNING" in first and "[trace=abc123] with" in first
    assert "[trace=-] without" in second


def test_configure_logging_installs_one_handler_per_process():
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    settings = Settings(log_format=LogFormat.JSON, log_level="warning")
    stream = io.StringIO()
    try:
        configure_logging(settings, role="consumer", stream=io.StringIO())
        handler = configure_logging(settings, role="consumer", stream=stream)
        ours = [h for h in root.handlers if h.get_name() == "velocity-stream"]
        assert ours == [handler]
        assert root.level == logging.WARNING
        with trace_context("t-9"):
            logging.getLogger("velocity_stream.tests.root").warning("hello")
        [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
        assert line["trace_id"] == "t-9" and line["role"] == "consumer"
    finally:
        for existing in list(root.handlers):
            if existing not in before:
                root.removeHandler(existing)
        root.setLevel(level)


def test_level_flag_overrides_the_setting_and_knows_faust_spellings():
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        configure_logging(Settings(log_level="INFO"), level="warn", stream=io.StringIO())
        assert root.level == logging.WARNING
        configure_logging(Settings(log_level="INFO"), level="crit", stream=io.StringIO())
        assert root.level == logging.CRITICAL
    finally:
        for existing in list(root.handlers):
            if existing not in before:
                root.removeHandler(existing)
        root.setLevel(level)
