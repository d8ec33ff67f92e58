"""What the gateway sends in place of an output the broker refused as too large.

`OutputBuilder.refused` is the pure part of the oversize path: an accepted (or any non
dead-letter) output becomes a dead letter of its input with `route.output_too_large`; a dead
letter too large itself goes out without the input's bytes and headers, saying so; a dead
letter already stripped has no smaller stand-in.
"""

from __future__ import annotations

from velocity_stream.contracts import example
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import OutboundMessage, RouteKind
from velocity_stream.gateway.outputs import output_size
from velocity_stream.protocol import headers as h
from velocity_stream.serde import frame

WHY = "Broker: Message size too large"


def _int(gw, message: OutboundMessage, name: str) -> int:
    value = gw.header(message, name)
    assert value is not None, f"{name} missing from {message.headers}"
    return int(value)


def test_every_output_knows_the_input_it_was_made_from(gw):
    message = gw.message(example("InteractionBundle"))
    [out] = gw.runner.run([message])[0].outputs
    assert out.source == message
    # the source is no part of the record: equal records stay equal whatever made them
    assert out == OutboundMessage(out.topic, out.key, out.value, out.headers)


def test_a_refused_accepted_output_becomes_a_dead_letter_of_its_input(gw):
    message = gw.message(example("InteractionBundle"), headers=(("trace", b"t-1"),))
    [accepted] = gw.runner.run([message])[0].outputs

    dead = gw.pipeline.out.refused(accepted, WHY)

    assert dead is not None
    assert dead.topic == gw.dead_letters
    assert (dead.key, dead.value) == (message.key, message.value)  # the input, intact
    assert dead.headers[0] == ("trace", b"t-1")
    assert gw.header(dead, h.DLQ_REASON) == ReasonCode.ROUTE_OUTPUT_TOO_LARGE.value.encode()
    assert gw.header(dead, h.DLQ_STAGE) == b"route"
    assert gw.header(dead, h.DLQ_REFUSED_TOPIC) == gw.accepted("InteractionBundle").encode()
    assert _int(gw, dead, h.DLQ_REFUSED_BYTES) == output_size(accepted)
    assert gw.header(dead, h.DLQ_SOURCE_TOPIC) == message.topic.encode()
    assert _int(gw, dead, h.DLQ_SOURCE_PARTITION) == message.partition
    assert _int(gw, dead, h.DLQ_SOURCE_OFFSET) == message.offset
    assert _int(gw, dead, h.DLQ_TIME) == message.timestamp_ms
    assert WHY in (gw.header(dead, h.DLQ_MESSAGE) or b"").decode()
    assert dead.source == message
    # deterministic: the same refusal of a redelivered input gives the same bytes
    assert gw.pipeline.out.refused(accepted, WHY) == dead


def test_a_dead_letter_too_large_itself_goes_out_without_the_inputs_bytes(gw):
    message = gw.message(example("InteractionBundle"), headers=(("trace", b"t-1"),))
    [accepted] = gw.runner.run([message])[0].outputs
    dead = gw.pipeline.out.refused(accepted, WHY)
    assert dead is not None

    bare = gw.pipeline.out.refused(dead, WHY)

    assert bare is not None
    assert bare.topic == gw.dead_letters and bare.value is None
    assert bare.key == message.key  # a short key stays: dlq tools list by key
    names = [name for name, _ in bare.headers]
    assert "trace" not in names and names[0] == h.DLQ_REASON
    assert gw.header(bare, h.DLQ_REASON) == ReasonCode.ROUTE_OUTPUT_TOO_LARGE.value.encode()
    assert gw.header(bare, h.DLQ_REFUSED_TOPIC) == gw.accepted("InteractionBundle").encode()
    assert gw.header(bare, h.DLQ_DROPPED) == b"value,headers"
    assert message.value is not None
    assert _int(gw, bare, h.DLQ_ORIGINAL_VALUE_BYTES) == len(message.value)
    assert _int(gw, bare, h.DLQ_ORIGINAL_KEY_BYTES) == len(message.key or b"")
    assert _int(gw, bare, h.DLQ_ORIGINAL_HEADERS_BYTES) == len("trace") + len(b"t-1")
    # where the original is: its coordinates on the ingress topic
    assert gw.header(bare, h.DLQ_SOURCE_TOPIC) == message.topic.encode()
    assert _int(gw, bare, h.DLQ_SOURCE_OFFSET) == message.offset
    # nothing smaller is left: the caller must fail rather than loop
    assert gw.pipeline.out.refused(bare, WHY) is None


def test_a_refused_pipeline_dead_letter_keeps_its_own_reason(gw):
    topic = gw.ingress("QdSignalBundle")
    outcome = gw.send_raw(topic, b"\x07" + b"x" * 5000, headers=(("a", b"b"),))
    assert outcome.reason is ReasonCode.DECODE_BAD_MAGIC_BYTE
    [dead] = outcome.outputs

    bare = gw.pipeline.out.refused(dead, WHY)

    assert bare is not None and bare.value is None
    assert gw.header(bare, h.DLQ_REASON) == ReasonCode.DECODE_BAD_MAGIC_BYTE.value.encode()
    assert gw.header(bare, h.DLQ_REFUSED_TOPIC) is None
    assert _int(gw, bare, h.DLQ_ORIGINAL_VALUE_BYTES) == 5001


def test_a_forged_reason_header_among_the_inputs_headers_is_dropped_with_them(gw):
    topic = gw.ingress("QdSignalBundle")
    forged = ((h.DLQ_REASON, b"forged"), (h.DLQ_DROPPED, b"forged"))
    [dead] = gw.send_raw(topic, b"\x07junk", headers=forged).outputs

    bare = gw.pipeline.out.refused(dead, WHY)

    assert bare is not None
    assert [v for n, v in bare.headers if n == h.DLQ_REASON] == [b"decode.bad_magic_byte"]
    assert gw.header(bare, h.DLQ_DROPPED) == b"value,headers"


def test_a_key_too_long_to_keep_is_dropped_and_sized(gw):
    topic = gw.ingress("QdSignalBundle")
    key = b"k" * (h.MAX_KEPT_KEY_BYTES + 1)
    [dead] = gw.send_raw(topic, b"\x07junk", key=key).outputs

    bare = gw.pipeline.out.refused(dead, WHY)

    assert bare is not None and bare.key is None and bare.value is None
    assert gw.header(bare, h.DLQ_DROPPED) == b"value,key"
    assert _int(gw, bare, h.DLQ_ORIGINAL_KEY_BYTES) == len(key)


def test_a_dead_letter_with_nothing_to_drop_has_no_stand_in(gw):
    [dead] = gw.send_raw(gw.ingress("QdSignalBundle"), None).outputs  # a tombstone input
    assert gw.pipeline.out.refused(dead, WHY) is None


def test_released_outputs_name_the_held_input_they_carry(gw):
    batch = example("RawImportBatch")
    row = example("ImportRowRecord")
    held = gw.message(row)
    assert gw.runner.run([held])[0].route is RouteKind.HELD
    outcome = gw.send(batch)
    [released] = [o for o in outcome.outputs if o.topic == gw.accepted("ImportRowRecord")]
    assert released.source is not None
    assert released.source.coordinates == held.coordinates
    dead = gw.pipeline.out.refused(released, WHY)
    assert dead is not None and dead.value == held.value
    assert _int(gw, dead, h.DLQ_SOURCE_OFFSET) == held.offset


def test_a_refused_commit_record_dead_letters_the_decision_that_caused_it(gw):
    proposal = example("OracleWritebackProposal")
    gw.send(proposal)
    decision = gw.message(
        gw.variant(example("ApprovalDecision"), proposal_digest=gw.digest_of(proposal))
    )
    outcome = gw.runner.run([decision])[0]
    assert outcome.route is RouteKind.DECISION_APPLIED
    [commit] = [o for o in outcome.outputs if o.topic == gw.commits]

    dead = gw.pipeline.out.refused(commit, WHY)

    assert dead is not None and dead.value == decision.value
    assert gw.header(dead, h.DLQ_REFUSED_TOPIC) == gw.commits.encode()


def test_an_output_of_no_known_input_has_no_stand_in(gw):
    orphan = OutboundMessage(gw.accepted("QdSignalBundle"), b"k", frame(1, b"x"), ())
    assert gw.pipeline.out.refused(orphan, WHY) is None
