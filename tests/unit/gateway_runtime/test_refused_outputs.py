"""The runtime side of outputs refused as too large: barriers, the producer, the processor.

librdkafka refuses a record above its ``message.max.bytes`` while queueing it (no broker
needed, so a real producer pointed nowhere shows it); a broker's refusal arrives as a delivery
report, simulated here by calling the barrier's callback the way librdkafka does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError
from prometheus_client import CollectorRegistry

from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import GatewayState, InboundMessage, OutboundMessage, Pipeline
from velocity_stream.gateway.runtime.output import (
    DeliveryBarrier,
    OutputDeliveryError,
    OutputProducer,
    is_too_large,
)
from velocity_stream.gateway.runtime.processor import BatchProcessor, WriteContext
from velocity_stream.observability import GatewayMetrics, VelocityMetrics
from velocity_stream.protocol import headers as h
from velocity_stream.registry.resolvers import preregistered_resolver
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR, Settings

PREFIX = "u"
TOO_LARGE = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)
# Nothing listens there: librdkafka's local checks need no broker.
NOWHERE = Settings(kafka_bootstrap_servers="127.0.0.1:9", client_id="unit")
LOCAL_LIMIT = 2000


class _Report:
    """The parts of a delivery report's Message that the barrier reads."""

    def __init__(self, output: OutboundMessage) -> None:
        self._output = output

    def topic(self) -> str:
        return self._output.topic

    def key(self) -> bytes | None:
        return self._output.key

    def value(self) -> bytes | None:
        return self._output.value


def _output(topic: str = "out", value: bytes = b"v", key: bytes = b"k") -> OutboundMessage:
    return OutboundMessage(topic, key, value, ())


def test_size_refusals_are_told_apart_from_other_errors():
    assert is_too_large(TOO_LARGE)
    assert is_too_large(KafkaError(KafkaError.RECORD_LIST_TOO_LARGE))
    assert not is_too_large(KafkaError(KafkaError._MSG_TIMED_OUT))
    assert not is_too_large("MSG_SIZE_TOO_LARGE")


def test_a_barrier_hands_refused_outputs_to_its_resend_once_every_report_is_in():
    async def scenario() -> None:
        resent: list[list[tuple[OutboundMessage, str]]] = []
        barrier = DeliveryBarrier(asyncio.get_running_loop(), lambda b, r: resent.append(r))
        big, small = _output(value=b"big" * 100), _output(value=b"small")
        barrier.outputs.extend([small, big])
        barrier.expected, barrier.sealed = 2, True
        barrier.on_delivery(TOO_LARGE, _Report(big))  # type: ignore[arg-type]
        assert resent == []  # not before the last report
        barrier.on_delivery(None, _Report(small))  # type: ignore[arg-type]
        assert [[output for output, _ in r] for r in resent] == [[big]]
        assert "too large" in resent[0][0][1]
        assert not barrier.done.done() and not barrier.sealed  # waits for the stand-ins
        # the stand-in is queued and stored under the same barrier
        barrier.expected += 1
        barrier.sealed = True
        barrier.on_delivery(None, _Report(_output("dlq")))  # type: ignore[arg-type]
        assert barrier.done.done() and barrier.done.exception() is None

    asyncio.run(scenario())


def test_two_identical_refused_outputs_are_each_resent():
    async def scenario() -> None:
        resent: list[list[tuple[OutboundMessage, str]]] = []
        barrier = DeliveryBarrier(asyncio.get_running_loop(), lambda b, r: resent.append(r))
        first, second = _output(), _output()
        barrier.outputs.extend([first, second])
        barrier.expected, barrier.sealed = 2, True
        barrier.on_delivery(TOO_LARGE, _Report(first))  # type: ignore[arg-type]
        barrier.on_delivery(TOO_LARGE, _Report(first))  # type: ignore[arg-type]
        assert [output for output, _ in resent[0]] == [first, second]
        assert resent[0][0][0] is first and resent[0][1][0] is second

    asyncio.run(scenario())


def test_a_refusal_the_barrier_cannot_place_fails_the_batch():
    async def scenario() -> None:
        barrier = DeliveryBarrier(asyncio.get_running_loop(), lambda b, r: None)
        barrier.expected, barrier.sealed = 1, True
        barrier.on_delivery(TOO_LARGE, _Report(_output("unknown")))  # type: ignore[arg-type]
        with pytest.raises(OutputDeliveryError):
            barrier.done.result()

    asyncio.run(scenario())


def test_without_a_resend_a_size_refusal_fails_the_batch_as_before():
    async def scenario() -> None:
        barrier = DeliveryBarrier(asyncio.get_running_loop())
        barrier.expected, barrier.sealed = 1, True
        barrier.on_delivery(TOO_LARGE, _Report(_output()))  # type: ignore[arg-type]
        with pytest.raises(OutputDeliveryError):
            barrier.done.result()

    asyncio.run(scenario())


@pytest.fixture
def producer() -> Iterator[OutputProducer]:
    output = OutputProducer(NOWHERE, overrides={"message.max.bytes": LOCAL_LIMIT})
    try:
        yield output
    finally:
        output._producer.purge()


def test_a_record_librdkafka_refuses_locally_is_replaced_by_its_stand_in(producer):
    asked: list[tuple[OutboundMessage, str]] = []
    stand_in = _output("dlq", b"small")

    def replace(output: OutboundMessage, why: str) -> OutboundMessage | None:
        asked.append((output, why))
        return stand_in

    producer.on_too_large(replace)
    big = _output(value=b"x" * (LOCAL_LIMIT * 2))

    async def scenario() -> DeliveryBarrier:
        barrier = producer.barrier()
        await producer.send([_output(), big], barrier)
        return barrier

    barrier = asyncio.run(scenario())
    assert [output for output, _ in asked] == [big]
    assert "too large" in asked[0][1].lower()
    assert barrier.expected == 2  # the small one and the stand-in, both queued
    assert barrier.outputs[-1] is stand_in


def test_a_local_refusal_with_no_stand_in_fails_the_batch(producer):
    producer.on_too_large(lambda output, why: None)

    async def scenario() -> None:
        await producer.send([_output(value=b"x" * (LOCAL_LIMIT * 2))], producer.barrier())

    with pytest.raises(OutputDeliveryError, match="cannot queue"):
        asyncio.run(scenario())


def test_a_broker_refusal_is_resent_as_its_stand_in_and_the_batch_then_resolves(producer):
    stand_in = _output("dlq", b"small")
    producer.on_too_large(lambda output, why: stand_in)
    refused = _output(value=b"fits locally, not on the broker")

    async def scenario() -> None:
        barrier = producer.barrier()
        await producer.send([refused], barrier)
        producer.seal(barrier)
        barrier.on_delivery(TOO_LARGE, _Report(refused))  # type: ignore[arg-type]
        await asyncio.sleep(0.05)  # the resend task queues the stand-in and seals again
        assert barrier.sealed and barrier.expected == 2 and not barrier.done.done()
        barrier.on_delivery(None, _Report(stand_in))  # type: ignore[arg-type]
        await asyncio.wait_for(barrier.done, 1)

    asyncio.run(scenario())


def test_a_broker_refusal_with_no_stand_in_fails_the_batch(producer):
    producer.on_too_large(lambda output, why: None)
    refused = _output()

    async def scenario() -> None:
        barrier = producer.barrier()
        await producer.send([refused], barrier)
        producer.seal(barrier)
        barrier.on_delivery(TOO_LARGE, _Report(refused))  # type: ignore[arg-type]
        with pytest.raises(OutputDeliveryError, match="no smaller record"):
            await asyncio.wait_for(barrier.done, 1)

    asyncio.run(scenario())


class _Output:
    """Records what the processor registers; queues nothing."""

    def on_too_large(self, stand_in) -> None:
        self.stand_in = stand_in


def test_the_processor_stands_in_a_dead_letter_and_counts_it_by_reason():
    catalog = load_catalog(DEFAULT_SCHEMAS_DIR)
    serde = AvroSerde(catalog, preregistered_resolver(catalog, PREFIX), PREFIX)
    pipeline = Pipeline(catalog, serde, PREFIX, gateway_version="t", clock=lambda: 0)
    context = WriteContext()
    state = GatewayState({name: {} for name in GatewayState.table_names()})
    metrics = GatewayMetrics.for_catalog(
        catalog, PREFIX, VelocityMetrics(registry=CollectorRegistry())
    )
    output = _Output()
    processor = BatchProcessor(pipeline, state, output, context, metrics=metrics)  # type: ignore[arg-type]
    assert output.stand_in == processor.stand_in

    family = catalog.family("InteractionBundle")
    artifact = example(family.name)
    key = str(getattr(artifact, family.key_field)).encode()
    message = InboundMessage(
        family.ingress_topic(PREFIX), 2, 7, key, serde.encode(artifact), (), 1_000
    )
    [accepted] = pipeline.process(message, state).outputs

    dead = processor.stand_in(accepted, "Broker: Message size too large")
    assert dead is not None and dead.topic == catalog.dead_letter_topic(PREFIX)
    assert dict(dead.headers)[h.DLQ_REASON] == b"route.output_too_large"
    assert processor.stats.reasons[ReasonCode.ROUTE_OUTPUT_TOO_LARGE.value] == 1
    counted = metrics.metrics.registry.get_sample_value(
        "velocity_gateway_dead_letters_total",
        {"family": family.name, "reason": "route.output_too_large"},
    )
    assert counted == 1

    bare = processor.stand_in(dead, "Broker: Message size too large")
    assert bare is not None and bare.value is None
    # the input was dead-lettered once: stripping its dead letter is not a second one
    assert processor.stats.reasons[ReasonCode.ROUTE_OUTPUT_TOO_LARGE.value] == 1
    assert processor.stand_in(bare, "Broker: Message size too large") is None
