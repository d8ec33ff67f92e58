"""Every family's Kafka key is its key field in UTF-8, stateful or not."""

from __future__ import annotations

import pytest

from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import RouteKind

STATELESS = ("InteractionBundle", "TranscriptBundle", "QdSignalBundle", "Client360Snapshot")


@pytest.mark.parametrize("family", STATELESS)
def test_the_key_field_as_key_is_accepted(gw, examples, family):
    assert gw.send(examples[family]).route is RouteKind.ACCEPTED


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        (b"someone-else", "'someone-else'"),
        (b"\xff\xfe\x00", "(not UTF-8)"),
        (b"", "''"),
    ],
)
@pytest.mark.parametrize("family", STATELESS)
def test_any_other_key_is_dead_lettered_with_what_it_was(gw, examples, family, key, shown):
    artifact = examples[family]
    outcome = gw.send(artifact, key=key)
    assert outcome.route is RouteKind.DEAD_LETTER
    assert outcome.reason is ReasonCode.CONTRACT_KEY_MISMATCH
    field = gw.family(family).key_field
    assert shown in outcome.detail and field in outcome.detail
    [letter] = outcome.outputs
    assert letter.key == key and letter.value == gw.message(artifact).value
    assert gw.topic(gw.accepted(family)) == []


def test_a_missing_key_is_dead_lettered(gw, examples):
    artifact = examples["InteractionBundle"]
    message = gw.message(artifact)
    [outcome] = gw.runner.send(message.topic, None, message.value, (), message.timestamp_ms)
    assert outcome.reason is ReasonCode.CONTRACT_KEY_MISMATCH
    assert "(none)" in outcome.detail
