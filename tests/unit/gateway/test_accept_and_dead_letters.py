"""The accept route and the stateless refusals: decode, contract, key, ownership, internal."""

from __future__ import annotations

import pytest

from velocity_stream.contracts import example
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import GatewayState, InboundMessage, RouteKind
from velocity_stream.protocol import headers as h
from velocity_stream.serde import frame

ACCEPT_FAMILIES = (
    "InteractionBundle",
    "TranscriptBundle",
    "QdSignalBundle",
    "Client360Snapshot",
    "RawImportBatch",
)


@pytest.mark.parametrize("family", ACCEPT_FAMILIES)
def test_valid_artifact_is_accepted_byte_for_byte_with_headers_kept(gw, family):
    artifact = example(family)
    message = gw.message(artifact, headers=(("trace", b"abc"),))
    outcome = gw.runner.run([message])[0]

    assert outcome.route is RouteKind.ACCEPTED
    assert outcome.reason is None
    assert outcome.artifact_id == artifact.artifact_id
    [out] = outcome.outputs
    assert out.topic == gw.accepted(family)
    assert out.key == message.key
    assert out.value == message.value  # the original bytes, not a re-encoding
    assert out.headers[0] == ("trace", b"abc")
    assert gw.header(out, h.ROUTE) == b"accepted"
    assert gw.header(out, h.GATEWAY_VERSION) == b"9.9.9-test"
    assert gw.header(out, h.SOURCE_TOPIC) == message.topic.encode()
    assert gw.header(out, h.SOURCE_PARTITION) == str(message.partition).encode()
    assert gw.header(out, h.SOURCE_OFFSET) == str(message.offset).encode()
    assert gw.header(out, h.ARTIFACT_ID) == artifact.artifact_id.encode()
    assert gw.header(out, h.FAMILY) == family.encode()


def test_forged_gateway_headers_are_dropped_from_forwarded_records(gw):
    forged = ((h.ROUTE, b"decision_applied"), (h.ARTIFACT_ID, b"not-the-id"), ("x", b"1"))
    outcome = gw.send(example("InteractionBundle"), headers=forged)
    [out] = outcome.outputs
    names = [name for name, _ in out.headers]
    assert names.count(h.ROUTE) == 1 and names.count(h.ARTIFACT_ID) == 1
    assert gw.header(out, h.ROUTE) == b"accepted"
    assert gw.header(out, h.ARTIFACT_ID) == b"art:interaction-bundle:01"
    assert ("x", b"1") in out.headers


def test_old_major_record_is_also_published_upgraded_on_the_new_major(gw):
    v1 = example("ImportMappingManifest", 1)
    gw.send(example("RawImportBatch"))  # the manifest's parent
    outcome = gw.send(v1)

    assert outcome.route is RouteKind.ACCEPTED
    old, new = outcome.outputs
    assert old.topic == gw.accepted("ImportMappingManifest", 1)
    assert new.topic == gw.accepted("ImportMappingManifest", 2)
    upgraded = gw.serde.decode(new.value, gw.family("ImportMappingManifest"), 2)
    assert upgraded.SCHEMA_VERSION.startswith("2.")
    assert upgraded.artifact_id == v1.artifact_id


def _assert_dead_letter(gw, outcome, message, reason, field=None):
    assert outcome.route is RouteKind.DEAD_LETTER
    assert outcome.reason is reason
    [out] = outcome.outputs
    assert out.topic == gw.dead_letters
    assert out.key == message.key and out.value == message.value
    assert out.headers[: len(message.headers)] == message.headers
    assert gw.header(out, h.DLQ_REASON) == reason.value.encode()
    assert gw.header(out, h.DLQ_STAGE) == reason.value.split(".")[0].encode()
    assert gw.header(out, h.DLQ_MESSAGE)
    assert gw.header(out, h.DLQ_SOURCE_TOPIC) == message.topic.encode()
    assert gw.header(out, h.DLQ_SOURCE_PARTITION) == str(message.partition).encode()
    assert gw.header(out, h.DLQ_SOURCE_OFFSET) == str(message.offset).encode()
    assert gw.header(out, h.GATEWAY_VERSION) == b"9.9.9-test"
    assert gw.header(out, h.DLQ_TIME) == str(message.timestamp_ms).encode()
    if field is not None:
        assert gw.header(out, h.DLQ_FIELD) == field.encode()
    return out


def _raw(gw, topic, value, key=b"k"):
    message = gw.runner.message(topic, key, value, (("keep", b"me"),), 1234)
    return message, gw.runner.run([message])[0]


def test_empty_and_null_values_are_dead_lettered(gw):
    topic = gw.ingress("InteractionBundle")
    for value in (b"", None):
        message, outcome = _raw(gw, topic, value)
        _assert_dead_letter(gw, outcome, message, ReasonCode.DECODE_EMPTY_PAYLOAD)


def test_bad_magic_byte_is_dead_lettered(gw):
    message, outcome = _raw(gw, gw.ingress("InteractionBundle"), b"\x01rest")
    _assert_dead_letter(gw, outcome, message, ReasonCode.DECODE_BAD_MAGIC_BYTE)


def test_unknown_schema_id_is_dead_lettered(gw):
    message, outcome = _raw(gw, gw.ingress("InteractionBundle"), frame(4242, b"\x02ab"))
    _assert_dead_letter(gw, outcome, message, ReasonCode.DECODE_UNKNOWN_SCHEMA_ID)


def test_truncated_body_is_dead_lettered(gw):
    good = gw.serde.encode(example("InteractionBundle"))
    message, outcome = _raw(gw, gw.ingress("InteractionBundle"), good[: len(good) // 2])
    _assert_dead_letter(gw, outcome, message, ReasonCode.DECODE_CORRUPT_BODY)


def test_a_body_the_avro_specification_forbids_is_dead_lettered(gw):
    # provenance.method is ["null", "string"]; fastavro reads branch -1 as the last one, so it
    # would accept this body, and the gateway would forward bytes a strict reader refuses.
    artifact = example("InteractionBundle")

    def provenance(method: str | None) -> bytes:  # its last two fields: method, model
        changed = artifact.provenance.model_copy(update={"method": method, "model": None})
        return gw.serde.encode(artifact.model_copy(update={"provenance": changed}))

    good, without = provenance("m"), provenance(None)
    at = next(i for i, (a, b) in enumerate(zip(good, without, strict=False)) if a != b)
    assert good[at : at + 4] == b"\x02\x02m\x00"  # branch 1 (zigzag), "m", model null
    assert without[at : at + 2] == b"\x00\x00"
    forbidden = good[:at] + b"\x01" + good[at + 1 :]  # branch -1
    message, outcome = _raw(gw, gw.ingress("InteractionBundle"), forbidden)
    _assert_dead_letter(gw, outcome, message, ReasonCode.DECODE_CORRUPT_BODY)
    assert b"union branch -1: a negative index" in gw.header(outcome.outputs[0], h.DLQ_MESSAGE)


def test_another_familys_record_on_a_topic_is_dead_lettered(gw):
    other = gw.serde.encode(example("QdSignalBundle"))
    message, outcome = _raw(gw, gw.ingress("InteractionBundle"), other)
    _assert_dead_letter(gw, outcome, message, ReasonCode.DECODE_WRONG_FAMILY)


def test_record_on_a_topic_outside_the_catalog_is_dead_lettered(gw):
    message, outcome = _raw(gw, "somewhere.else", gw.serde.encode(example("InteractionBundle")))
    _assert_dead_letter(gw, outcome, message, ReasonCode.DECODE_UNKNOWN_TOPIC)


def test_contract_violation_is_dead_lettered_with_its_code_and_field(gw):
    broken = gw.unchecked(example("QdSignalBundle"), confidence=1.7)
    message = gw.message(broken)
    outcome = gw.runner.run([message])[0]
    _assert_dead_letter(gw, outcome, message, ReasonCode.CONTRACT_CONFIDENCE_RANGE, "confidence")


def test_wrong_key_on_a_stateful_family_is_dead_lettered(gw):
    message = gw.message(example("RawImportBatch"), key=b"someone-else")
    outcome = gw.runner.run([message])[0]
    _assert_dead_letter(gw, outcome, message, ReasonCode.CONTRACT_KEY_MISMATCH, "batch_id")


def test_producer_not_allowed_for_the_family_is_dead_lettered_whatever_the_headers_say(gw):
    intruder = gw.variant(example("InteractionBundle"), source_system="oracle")
    message = gw.message(intruder, headers=(("velocity.source_system", b"interaction-hub"),))
    outcome = gw.runner.run([message])[0]
    _assert_dead_letter(gw, outcome, message, ReasonCode.AUTH_NOT_OWNER, "source_system")


class _ExplodingTable(dict[str, bytes]):
    def get(self, key, default=None):  # type: ignore[override]
        raise RuntimeError("disk on fire")


def test_unexpected_exception_becomes_an_internal_dead_letter(gw, caplog):
    state = GatewayState({"artifacts": _ExplodingTable()})
    message = gw.message(example("RawImportBatch"))
    outcome = gw.pipeline.process(message, state)

    _assert_dead_letter(gw, outcome, message, ReasonCode.INTERNAL_ERROR)
    assert b"disk on fire" in gw.header(outcome.outputs[0], h.DLQ_MESSAGE)
    assert "disk on fire" in caplog.text  # the traceback is logged


def test_input_too_broken_to_copy_still_gets_a_dead_letter(gw):
    message = InboundMessage("nowhere", 0, 7, b"k", b"\x00", None, 5)  # type: ignore[arg-type]
    outcome = gw.pipeline.process(message, GatewayState())
    assert outcome.route is RouteKind.DEAD_LETTER
    assert outcome.reason is ReasonCode.INTERNAL_ERROR
    [out] = outcome.outputs
    assert out.value == b"\x00" and out.key == b"k"


def test_long_human_messages_are_truncated(gw):
    broken = gw.unchecked(example("InteractionBundle"), artifact_type="x" * 10_000)
    outcome = gw.send(broken)
    assert outcome.route is RouteKind.DEAD_LETTER
    assert len(gw.header(outcome.outputs[0], h.DLQ_MESSAGE)) <= h.MAX_MESSAGE_BYTES
