"""No bytes of any kind make the pipeline raise; what it cannot accept it dead-letters intact."""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from velocity_stream.contracts import example
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import GatewayState, InboundMessage, RouteKind
from velocity_stream.serde import frame

FAMILIES = (
    "RawImportBatch",
    "ImportRowRecord",
    "ImportMappingManifest",
    "NormalizedEntityProposal",
    "ClientGraphDelta",
    "InteractionBundle",
    "TranscriptBundle",
    "QdSignalBundle",
    "OracleWritebackProposal",
    "ApprovalDecision",
    "Client360Snapshot",
)
FUZZ = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _zigzag_varint(value: int) -> bytes:
    """An Avro long as written on the wire (zig-zag, base-128)."""
    encoded = (value << 1) ^ (value >> 63)
    out = bytearray()
    while True:
        byte = encoded & 0x7F
        encoded >>= 7
        if encoded:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


@st.composite
def mutated(draw, valid: dict[str, bytes]) -> tuple[str, bytes | None]:
    family = draw(st.sampled_from(FAMILIES))
    data = bytearray(valid[family])
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "schema_id", "huge", "null"]))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            position = draw(st.integers(0, len(data) - 1))
            data[position] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "insert":
        position = draw(st.integers(0, len(data)))
        data[position:position] = draw(st.binary(min_size=1, max_size=16))
    elif kind == "schema_id":
        struct.pack_into(">I", data, 1, draw(st.integers(0, 2**32 - 1)))
    elif kind == "huge":
        # a length or block count of absurd size where the body starts or anywhere after
        position = draw(st.integers(5, len(data) - 1))
        huge = draw(st.sampled_from([2**31, 2**62, -(2**62), 2**40]))
        data[position:position] = _zigzag_varint(huge)
    else:
        return family, None
    return family, bytes(data)


def _check(gw, message: InboundMessage, state: GatewayState):
    outcome = gw.pipeline.process(message, state)  # must not raise
    assert outcome.reason is not ReasonCode.INTERNAL_ERROR, outcome.detail
    if outcome.route is RouteKind.DEAD_LETTER:
        [out] = outcome.outputs
        assert out.topic == gw.dead_letters
        assert out.key == message.key and out.value == message.value
    return outcome


@FUZZ
@given(
    topic_index=st.integers(0, len(FAMILIES) - 1),
    value=st.one_of(st.none(), st.binary(max_size=2048)),
    key=st.one_of(st.none(), st.binary(max_size=64)),
)
def test_random_bytes_are_always_dead_lettered(gw, topic_index, value, key):
    topic = gw.ingress(FAMILIES[topic_index])
    message = InboundMessage(topic, 0, 0, key, value, (("h", b"\xff"),), 1)
    assert _check(gw, message, GatewayState()).route is RouteKind.DEAD_LETTER


@FUZZ
@given(data=st.data(), body=st.binary(max_size=512), schema_id=st.integers(0, 2**32 - 1))
def test_framed_garbage_is_always_dead_lettered(gw, data, body, schema_id):
    family = data.draw(st.sampled_from(FAMILIES))
    message = InboundMessage(gw.ingress(family), 1, 2, b"k", frame(schema_id, body), (), 3)
    assert _check(gw, message, GatewayState()).route is RouteKind.DEAD_LETTER


@FUZZ
@given(data=st.data())
def test_mutated_valid_records_never_crash_and_are_dead_lettered_unless_still_valid(gw, data):
    valid = {family: gw.serde.encode(example(family)) for family in FAMILIES}
    family, value = data.draw(mutated(valid))
    key = gw.key_of(example(family))
    message = InboundMessage(gw.ingress(family), 0, 5, key, value, (), 7)
    outcome = _check(gw, message, GatewayState())
    if outcome.route is not RouteKind.DEAD_LETTER:
        # a mutation that still decodes and meets its contract is a valid record
        decoded = gw.serde.decode(value, gw.family(family))
        assert decoded.artifact_type == family
