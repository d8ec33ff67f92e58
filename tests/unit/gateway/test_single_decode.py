"""The gateway decodes once, with the compiled reader, straight to the contract model.

Every outcome must be the one of the two-pass path it replaced (fastavro's resolving reader,
then pydantic): the same route, reason code, field and headers, for valid bodies and for bytes
our producer would never write (cut short, bytes changed, bytes added, rules broken).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests import signing
from tests.unit.gateway.conftest import PREFIX, VERSION, Clock, unchecked
from tests.unit.serde.avro_data import FORBIDDEN
from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import GatewayState, InboundMessage, Outcome, Pipeline, RouteKind
from velocity_stream.gateway.rules import content_digest
from velocity_stream.gateway.state import artifact_key
from velocity_stream.protocol import headers as h
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver

FAMILIES = (
    "InteractionBundle",
    "TranscriptBundle",
    "QdSignalBundle",
    "Client360Snapshot",
    "RawImportBatch",
    "OracleWritebackProposal",
)


def _pipeline(
    catalog: Catalog, *, compiled: bool, resolver: InMemorySchemaResolver | None = None
) -> Pipeline:
    serde = AvroSerde(catalog, resolver or InMemorySchemaResolver(), PREFIX, compiled=compiled)
    return Pipeline(
        catalog,
        serde,
        PREFIX,
        gateway_version=VERSION,
        clock=Clock(),
        verify_keys=signing.KEYRING,
        rule_signer=signing.RULE_KEY,
    )


def _shape(outcome: Outcome) -> tuple[Any, ...]:
    """What an outcome says, in bytes: route, reason, and every output as it would be sent."""
    return (
        outcome.route,
        outcome.reason,
        outcome.artifact_id,
        tuple((o.topic, o.key, o.value, tuple(o.headers)) for o in outcome.outputs),
    )


@pytest.fixture
def both(catalog: Catalog) -> tuple[Pipeline, Pipeline]:
    """The gateway as built (compiled reader) and the reference two-pass path."""
    resolver = InMemorySchemaResolver()  # one registry: the same ids for both
    return (
        _pipeline(catalog, compiled=True, resolver=resolver),
        _pipeline(catalog, compiled=False, resolver=resolver),
    )


def _message(catalog: Catalog, family: str, key: bytes, value: bytes) -> InboundMessage:
    topic = catalog.family(family).ingress_topic(PREFIX)
    return InboundMessage(topic, 0, 7, key, value, (("trace", b"t"),), 1_776_500_000_000)


def _same(both: tuple[Pipeline, Pipeline], message: InboundMessage) -> Outcome:
    """The outcome of the gateway as built, checked against the reference's, except for a body
    the Avro specification forbids: fastavro reads it, the compiled reader refuses it."""
    fast, reference = both
    got = fast.process(message, GatewayState())
    if not _forbidden(got):
        assert _shape(got) == _shape(reference.process(message, GatewayState()))
    return got


def _forbidden(outcome: Outcome) -> bool:
    if outcome.reason is not ReasonCode.DECODE_CORRUPT_BODY:
        return False
    said = dict(outcome.outputs[0].headers)[h.DLQ_MESSAGE].decode()
    return FORBIDDEN.match(said) is not None


def _bodies(pipeline: Pipeline, family: str) -> tuple[bytes, bytes]:
    artifact = example(family)
    key = str(getattr(artifact, pipeline.catalog.family(family).key_field)).encode()
    return key, pipeline.serde.encode(artifact)


def test_the_accept_route_never_builds_the_plain_record(catalog, monkeypatch):
    pipeline = _pipeline(catalog, compiled=True)
    key, value = _bodies(pipeline, "InteractionBundle")

    def second_pass(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded twice")

    # Warm the reader (its first use compiles it), then forbid the dict path.
    pipeline.process(_message(catalog, "InteractionBundle", key, value), GatewayState())
    monkeypatch.setattr(pipeline.serde, "decode_record", second_pass)
    outcome = pipeline.process(_message(catalog, "InteractionBundle", key, value), GatewayState())
    assert outcome.route is RouteKind.ACCEPTED
    assert outcome.outputs[0].value == value


def test_a_tracked_family_digests_the_same_record_as_before(catalog):
    pipeline = _pipeline(catalog, compiled=True)
    key, value = _bodies(pipeline, "RawImportBatch")
    state = GatewayState()
    outcome = pipeline.process(_message(catalog, "RawImportBatch", key, value), state)
    assert outcome.route is RouteKind.ACCEPTED

    known = state.known_artifact(artifact_key("RawImportBatch", key.decode()))
    record = pipeline.serde.decode_record(value, catalog.family("RawImportBatch")).record
    assert known is not None and known.digest == content_digest(record)


@pytest.mark.parametrize("family", FAMILIES)
def test_valid_and_truncated_bodies_route_as_the_two_pass_path(both, catalog, family):
    key, value = _bodies(both[0], family)
    assert _same(both, _message(catalog, family, key, value)).route is not RouteKind.DEAD_LETTER
    for cut in range(0, len(value)):
        outcome = _same(both, _message(catalog, family, key, value[:cut]))
        assert outcome.route is RouteKind.DEAD_LETTER
        assert outcome.reason is not None and outcome.reason.value.startswith("decode.")


@pytest.mark.parametrize("family", FAMILIES)
def test_changed_and_lengthened_bodies_route_as_the_two_pass_path(both, catalog, family):
    key, value = _bodies(both[0], family)
    rng = random.Random(f"single-decode-{family}")
    forbidden = 0
    for _ in range(300):
        body = bytearray(value)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(5, len(body))  # past the frame: the body itself
            body[at] = rng.randrange(256)
        forbidden += _forbidden(_same(both, _message(catalog, family, key, bytes(body))))
    assert forbidden < 30  # most changed bodies are still held to the reference
    for tail in (b"\x00", b"\x02ab", bytes(range(40))):
        outcome = _same(both, _message(catalog, family, key, value + tail))
        assert outcome.reason is ReasonCode.DECODE_CORRUPT_BODY


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"confidence": 1.7}, ReasonCode.CONTRACT_CONFIDENCE_RANGE),
        ({"artifact_type": "x" * 300}, None),
        ({"schema_version": "nine"}, None),
    ],
)
def test_broken_rules_give_the_same_contract_refusal(both, catalog, changes, reason):
    artifact = unchecked(example("QdSignalBundle"), **changes)
    key = artifact.client_ref.encode()  # type: ignore[attr-defined]
    value = both[0].serde.encode(artifact)
    outcome = _same(both, _message(catalog, "QdSignalBundle", key, value))
    assert outcome.route is RouteKind.DEAD_LETTER
    assert outcome.reason is not None and outcome.reason.value.startswith("contract.")
    if reason is not None:
        assert outcome.reason is reason
