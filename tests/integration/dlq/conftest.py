"""Fixtures for dead-letter tests on a real broker: a short-hold catalog, its topics, a gateway.

The catalog is the real one copied with ``decision_hold_ms`` cut to 1.5 s, so a held input
expires into a dead letter within the test. ``gateway`` runs the gateway's pure pipeline over
the broker: it reads every ingress partition, produces each outcome's records and acknowledges
them before the next input, and sweeps expired holds every 100 ms, the order the gateway's
runtime follows (velocity_stream/gateway/README.md, "Delivery").
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from velocity_stream.cli import dlq_cmd
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.dlq.reader import TopicReader
from velocity_stream.gateway import InboundMessage, MemoryRunner, Outcome, Pipeline
from velocity_stream.kafka import topics
from velocity_stream.kafka.config import consumer_config, producer_config
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.kafka.topics import TopicAdmin
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR, Settings

HOLD_MS = 1500


@pytest.fixture
def short_hold_schemas(tmp_path: Path) -> Path:
    """The real avro_schemas/ with a 1.5 s hold for early rows and decisions."""
    root = tmp_path / "avro_schemas"
    shutil.copytree(DEFAULT_SCHEMAS_DIR, root)
    catalog_file = root / "catalog.toml"
    text = catalog_file.read_text()
    assert "decision_hold_ms = 300000" in text
    catalog_file.write_text(
        text.replace("decision_hold_ms = 300000", f"decision_hold_ms = {HOLD_MS}")
    )
    return root


@pytest.fixture
def dlq_settings(kafka_settings: Settings, short_hold_schemas: Path) -> Settings:
    return kafka_settings.model_copy(update={"schemas_dir": short_hold_schemas})


@pytest.fixture
def hold_catalog(dlq_settings: Settings) -> Catalog:
    catalog = load_catalog(dlq_settings.schemas_dir)
    assert catalog.gateway.decision_hold_ms == HOLD_MS
    return catalog


@pytest.fixture
def serde(hold_catalog: Catalog, dlq_settings: Settings) -> AvroSerde:
    # One resolver for producers and gateway stands in for the schema registry.
    return AvroSerde(hold_catalog, InMemorySchemaResolver(), dlq_settings.topic_prefix)


@pytest.fixture
def dlq_topics(dlq_settings: Settings, hold_catalog: Catalog) -> Iterator[Settings]:
    """The catalog's topics for this test, deleted afterwards (Tansu keeps them in memory)."""
    admin = TopicAdmin(dlq_settings)
    report = topics.apply(admin, hold_catalog.topic_specs(dlq_settings.topic_prefix), 1)
    assert report.ok, report
    yield dlq_settings
    mine = [n for n in admin.topic_names() if n.startswith(dlq_settings.topic_prefix + ".")]
    admin.delete(mine)


@pytest.fixture
def producer(
    dlq_topics: Settings, hold_catalog: Catalog, serde: AvroSerde
) -> Iterator[ArtifactProducer]:
    with ArtifactProducer(dlq_topics, hold_catalog, serde, producer_name="it-dlq") as made:
        yield made


class PipelineGateway(threading.Thread):
    """The gateway's pipeline on the broker: consume, process, produce, acknowledge, sweep."""

    def __init__(self, settings: Settings, catalog: Catalog, serde: AvroSerde) -> None:
        super().__init__(name="it-gateway", daemon=True)
        self.pipeline = Pipeline(
            catalog,
            serde,
            settings.topic_prefix,
            gateway_version="it-gateway",
            clock=lambda: int(time.time() * 1000),
        )
        self._states = MemoryRunner(self.pipeline, feedback=False)  # per-partition state only
        self._consumer = Consumer(consumer_config(settings, f"{settings.topic_prefix}-gateway"))
        self._producer: Producer | None = Producer(
            producer_config(settings, client_id="it-gateway")
        )
        self._topics = sorted(self.pipeline.ingress_topics())
        self._partitions = {
            t: catalog.ingress_topics(settings.topic_prefix)[t][0].partitions for t in self._topics
        }
        self._stopping = threading.Event()
        self.outcomes: list[Outcome] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._consumer.assign(
                [
                    TopicPartition(topic, p, OFFSET_BEGINNING)
                    for topic in self._topics
                    for p in range(self._partitions[topic])
                ]
            )
            last_sweep = 0.0
            while not self._stopping.is_set():
                message = self._consumer.poll(0.05)
                if message is not None and message.error() is None:
                    record = InboundMessage(
                        message.topic() or "",
                        message.partition() or 0,
                        message.offset() or 0,
                        message.key(),
                        message.value(),
                        tuple((n, v or b"") for n, v in (message.headers() or ())),
                        message.timestamp()[1],
                    )
                    self._emit(
                        [self.pipeline.process(record, self._states.state(record.partition))]
                    )
                if time.monotonic() - last_sweep > 0.1:
                    last_sweep = time.monotonic()
                    now = int(time.time() * 1000)
                    for p in range(max(self._partitions.values())):
                        self._emit(
                            self.pipeline.expire(now, self._states.state(p), partitions=(p,))
                        )
        except BaseException as error:  # surfaced by the fixture
            self.error = error

    def _emit(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            self.outcomes.append(outcome)
            for out in outcome.outputs:
                assert self._producer is not None
                self._producer.produce(
                    out.topic, value=out.value, key=out.key, headers=list(out.headers)
                )
        if outcomes:
            assert self._producer is not None and self._producer.flush(30) == 0

    def stop(self) -> None:
        self._stopping.set()
        self.join(10)
        self._consumer.close()
        if self._producer is not None:
            self._producer.flush(10)
            self._producer = None  # destroy librdkafka's handle now, not at interpreter exit


@pytest.fixture
def gateway(
    dlq_topics: Settings, hold_catalog: Catalog, serde: AvroSerde
) -> Iterator[PipelineGateway]:
    running = PipelineGateway(dlq_topics, hold_catalog, serde)
    running.start()
    yield running
    running.stop()
    assert running.error is None, running.error


def read_topic(settings: Settings, topic: str) -> list[InboundMessage]:
    """Every record of ``topic`` right now, read to its end."""
    with TopicReader(settings, client_id="it-dlq-check") as reader:
        return list(reader.read_all(topic))


@pytest.fixture
def wait_for() -> Callable[..., list[InboundMessage]]:
    """``wait_for(settings, topic, n)``: the topic's records once it holds at least ``n``."""

    def wait(settings: Settings, topic: str, n: int, timeout: float = 30.0) -> list[InboundMessage]:
        deadline = time.monotonic() + timeout
        while True:
            records = read_topic(settings, topic)
            if len(records) >= n or time.monotonic() > deadline:
                assert len(records) >= n, f"{topic}: {len(records)} of {n} records in {timeout} s"
                return records
            time.sleep(0.2)

    return wait


@pytest.fixture
def dlq_cli(
    dlq_topics: Settings, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, Any]]:
    """Run ``velocity-stream dlq ...`` in-process against the test's settings.

    Returns the exit code and the parsed JSON of stdout (``--format json`` is added).
    """
    settings = dlq_topics
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
        "VELOCITY_TOPIC_PREFIX": settings.topic_prefix,
        "VELOCITY_SCHEMAS_DIR": str(settings.schemas_dir),
        "VELOCITY_SESSION_TIMEOUT_MS": str(settings.session_timeout_ms),
        "VELOCITY_FETCH_WAIT_MAX_MS": str(settings.fetch_wait_max_ms),
        "VELOCITY_CLIENT_ID": "it-dlq-cli",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser(prog="velocity-stream")
    dlq_cmd.register(parser.add_subparsers(dest="command", required=True))

    def run(*argv: str) -> tuple[int, Any]:
        args = parser.parse_args(["dlq", *argv, "--format", "json"])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = args.handler(args)
        text = out.getvalue()
        return code, json.loads(text) if text.strip() else None

    return run
