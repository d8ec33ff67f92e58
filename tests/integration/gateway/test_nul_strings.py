"""A string holding U+0000 stops at the gateway: dead-lettered with contract.invalid_field and
its path, the original bytes kept, so no store downstream ever sees it."""

from __future__ import annotations

import uuid

import pytest

from velocity_stream.contracts import example
from velocity_stream.errors import ReasonCode
from velocity_stream.protocol import headers as h

pytestmark = pytest.mark.integration


def test_a_nul_in_a_string_is_dead_lettered_at_the_gateway(gateway):
    marker = uuid.uuid4().hex[:10]
    artifact = gateway.unchecked(
        example("InteractionBundle"),
        artifact_id=f"art:{marker}",
        bundle_id=f"bundle:{marker}",
        summary="before\x00after",
    )
    key = gateway.key_of(artifact)  # its own key: only the NUL is wrong
    sent = gateway.publish(artifact, key=key)
    [out] = gateway.wait_for(
        lambda o: o.topic == gateway.dead_letters and o.key == key, count=1, timeout=30.0
    )
    assert out.text(h.DLQ_REASON) == ReasonCode.CONTRACT_INVALID_FIELD.value
    assert out.text(h.DLQ_FIELD) == "summary"
    assert out.value == sent
