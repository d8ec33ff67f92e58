"""The loop pieces every worker shares (consumers/loop.py), offline: what a refused record
becomes, and that nothing a worker stores from a refusal holds a NUL character."""

from __future__ import annotations

import logging

import pytest

from consumers.loop import DETAIL_CHARS, WorkerLoop
from consumers.reading import UnreadableRecord
from consumers.sink.runner import SinkOptions
from velocity_stream.errors import ReasonCode
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.settings import Settings


def _read(message: InboundMessage) -> str | None:
    if message.value == b"skip":
        return None
    if message.value == b"nul":
        raise UnreadableRecord(ReasonCode.CONTRACT_INVALID_FIELD, "at attributes.a\x00b", "a\x00b")
    if message.value == b"long":
        raise UnreadableRecord(ReasonCode.DECODE_CORRUPT_BODY, "x" * (DETAIL_CHARS * 2))
    return (message.value or b"").decode()


def test_read_each_keeps_what_was_read_and_refuses_the_rest_in_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = WorkerLoop(Settings(), "unit-loop", SinkOptions())
    values = [b"one", b"nul", b"skip", b"long", b"two"]
    batch = [InboundMessage("t", 2, offset, b"k", value) for offset, value in enumerate(values)]
    with caplog.at_level(logging.WARNING, logger="consumers.loop"):
        kept, rejections = loop.read_each(batch, _read)
    assert kept == ["one", "two"]
    assert [(r.topic, r.partition, r.offset, r.reason) for r in rejections] == [
        ("t", 2, 1, ReasonCode.CONTRACT_INVALID_FIELD),
        ("t", 2, 3, ReasonCode.DECODE_CORRUPT_BODY),
    ]
    nul, long = rejections
    assert nul.detail == "at attributes.a\\x00b"  # spelled out: PostgreSQL text cannot hold it
    assert len(long.detail) == DETAIL_CHARS and long.detail.endswith("...")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("unit-loop: unreadable record t[2]@1: contract.invalid_field")
    assert all("\x00" not in line for line in lines)


def test_an_unreadable_record_never_carries_a_nul_in_its_message_or_field() -> None:
    error = UnreadableRecord(ReasonCode.CONTRACT_INVALID_FIELD, "k\x00ey", "m.k\x00ey")
    assert (str(error), error.field) == ("k\\x00ey", "m.k\\x00ey")
