"""Traffic through the gateway pipeline on a real broker, then a scrape of the metrics endpoint.

A small worker loop stands in for the runtime: a confluent-kafka consumer reads the ingress
topics, the real :class:`Pipeline` routes each record, its outputs are produced and their acks
awaited, and only then are metrics observed, as the runtime does. The endpoint is scraped over
HTTP and every counter is checked against the traffic sent.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from confluent_kafka import Consumer
from prometheus_client.parser import text_string_to_metric_families

from tests import signing
from velocity_stream.contracts import example
from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.gateway import InboundMessage, MemoryRunner, Outcome, Pipeline
from velocity_stream.kafka.clients import cached_high_watermark
from velocity_stream.kafka.config import consumer_config
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.observability import (
    GatewayMetrics,
    LagTracker,
    log_handler,
    message_context,
    serve_metrics,
)
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import LogFormat, Settings

pytestmark = pytest.mark.integration

log = logging.getLogger("velocity_stream.tests.worker")
GROUP = "it-gateway"


class Worker:
    """Consume -> process -> produce and await acks -> observe metrics and lag."""

    def __init__(
        self,
        settings: Settings,
        pipeline: Pipeline,
        producer: ArtifactProducer,
        metrics: GatewayMetrics,
        lag: LagTracker,
        group: str,
    ) -> None:
        self.pipeline = pipeline
        self.producer = producer
        self.metrics = metrics
        self.lag = lag
        self.states = MemoryRunner(pipeline)  # per-partition state
        self.consumer = Consumer(dict(consumer_config(settings, group)))
        self.consumer.subscribe(sorted(pipeline.ingress_topics()))
        self.outcomes: list[Outcome] = []

    def run_until(self, processed: int, timeout: float = 45.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.outcomes) < processed and time.monotonic() < deadline:
            message = self.consumer.poll(0.2)
            if message is None or message.error() is not None:
                continue
            _, timestamp = message.timestamp()
            inbound = InboundMessage(
                topic=message.topic() or "",
                partition=message.partition() or 0,
                offset=message.offset() or 0,
                key=message.key(),
                value=message.value(),
                headers=tuple((n, v or b"") for n, v in message.headers() or ()),
                timestamp_ms=timestamp,
            )
            self.handle(inbound)
        assert len(self.outcomes) == processed, [o.route for o in self.outcomes]

    def handle(self, inbound: InboundMessage) -> None:
        with message_context(inbound.headers):
            outcome = self.pipeline.process(inbound, self.states.state(inbound.partition))
            acks = [
                self.producer.publish_raw(out.topic, out.key, out.value, list(out.headers))
                for out in outcome.outputs
            ]
            for ack in acks:
                ack.result(15)
            self.metrics.observe(outcome)
            self.lag.update(
                inbound.topic,
                inbound.partition,
                inbound.offset + 1,
                cached_high_watermark(self.consumer, inbound.topic, inbound.partition),
            )
            log.info(
                "routed",
                extra={"route": outcome.route.value, "artifact_id": outcome.artifact_id},
            )
            self.outcomes.append(outcome)

    def close(self) -> None:
        self.consumer.close()


@dataclass
class Scrape:
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]

    def __call__(self, name: str, **labels: str) -> float:
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """Summed over every series of ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= set(ls))


def scrape(url: str) -> Scrape:
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200
    return Scrape(
        {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples
        }
    )


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = log_handler(LogFormat.JSON, static={"role": "gateway"}, stream=stream)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        log.removeHandler(handler)


def _variant(artifact: Artifact, **changes: object) -> Artifact:
    return type(artifact).model_validate({**artifact.model_dump(), **changes})


def test_scrape_after_traffic_shows_every_input_output_and_reason(
    provisioned: Settings,
    catalog: Catalog,
    serde: AvroSerde,
    producer: ArtifactProducer,
    metrics,
    registry,
    unique_group,
    logs,
):
    prefix = provisioned.topic_prefix
    pipeline = Pipeline(
        catalog,
        serde,
        prefix,
        gateway_version="it",
        clock=lambda: int(time.time() * 1000),
        verify_keys=signing.KEYRING,
        rule_signer=signing.RULE_KEY,
    )
    gateway = GatewayMetrics.for_catalog(catalog, prefix, metrics)
    lag = LagTracker(GROUP, metrics)
    worker = Worker(provisioned, pipeline, producer, gateway, lag, unique_group("gateway"))
    qd = example("QdSignalBundle")
    interaction = example("InteractionBundle")
    proposal = example("OracleWritebackProposal")
    qd_topic = catalog.family("QdSignalBundle").ingress_topic(prefix)

    sent = [producer.publish(_variant(qd, artifact_id="art:qd:0"), trace_id="trace-qd-0")]
    sent += [producer.publish(_variant(qd, artifact_id=f"art:qd:{n}")) for n in range(1, 4)]
    sent += [producer.publish(interaction), producer.publish(proposal, trace_id="trace-proposal")]
    sent += [producer.publish_raw(qd_topic, b"k", b"\x07not avro") for _ in range(2)]
    sent += [producer.publish_raw(qd_topic, b"k", b"")]
    for future in sent:
        future.result(15)

    with serve_metrics("127.0.0.1", 0, registry) as server:
        try:
            worker.run_until(9)
            first = scrape(server.url)

            decision = _variant(
                example("ApprovalDecision"),
                proposal_ref=proposal.proposal_id,
                decision_id=f"decision:{proposal.proposal_id}",
                proposal_digest=proposal_digest(serde.encode(proposal)),
            )
            producer.publish(decision, trace_id="trace-decision").result(15)
            worker.run_until(10)
            second = scrape(server.url)
        finally:
            worker.close()

    # Inputs by family and route, outputs, dead letters by reason code.
    inputs, outputs = "velocity_gateway_messages_in_total", "velocity_gateway_messages_out_total"
    assert first(inputs, family="QdSignalBundle", route="accepted") == 4
    assert first(outputs, family="QdSignalBundle", route="accepted") == 4
    assert first(inputs, family="InteractionBundle", route="accepted") == 1
    assert first(inputs, family="OracleWritebackProposal", route="pending_approval") == 1
    dead = "velocity_gateway_dead_letters_total"
    assert first(dead, family="QdSignalBundle", reason="decode.bad_magic_byte") == 2
    assert first(dead, family="QdSignalBundle", reason="decode.empty_payload") == 1
    assert first.total(inputs) == 9
    assert first.total(outputs) == 9
    assert first("velocity_gateway_pending_approvals") == 1
    # End-to-end latency observed once per input that produced outputs.
    assert first.total("velocity_gateway_end_to_end_latency_seconds_count") == 9
    assert 0 < first.total("velocity_gateway_end_to_end_latency_seconds_sum") < 9 * 30
    # Lag from fetch-response watermarks: every ingress partition read to its end.
    lag_series = {
        labels: value
        for (name, labels), value in first.samples.items()
        if name == "velocity_consumer_lag"
    }
    assert lag_series and all(value == 0 for value in lag_series.values()), lag_series
    assert {dict(labels)["group"] for labels in lag_series} == {GROUP}

    # The decision closes the proposal: pending falls, the decision and commit go out.
    decided = {"family": "ApprovalDecision", "route": "decision_applied"}
    assert second(inputs, **decided) == 1
    assert second(outputs, **decided) == 2
    assert second("velocity_gateway_pending_approvals") == 0
    latency = "velocity_gateway_decision_latency_seconds"
    assert second(latency + "_count", decided_by="reviewer") == 1
    assert 0 < second(latency + "_sum", decided_by="reviewer") < 60
    assert second.total(inputs) == 10

    # Every log line is JSON and carries the trace id its producer set.
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    traces = {line.get("trace_id") for line in lines}
    assert {"trace-qd-0", "trace-proposal", "trace-decision"} <= traces
    assert all(line["role"] == "gateway" and line["message"] == "routed" for line in lines)
    # Raw bytes were sent without a trace header: those lines have no trace id.
    assert sum(1 for line in lines if "trace_id" not in line) == 3
