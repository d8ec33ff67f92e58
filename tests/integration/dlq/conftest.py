"""Fixtures for dead-letter tests on a real broker: a short-hold catalog, its topics, a gateway.

The catalog is the real one copied with ``decision_hold_ms`` cut to 1.5 s, so a held input
expires into a dead letter within the test. ``gateway`` is the real gateway worker (faust) in a
subprocess, reading that catalog; ``dlq_cli`` runs ``velocity-stream dlq`` in-process.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests import signing
from tests.integration.processes import terminate
from velocity_stream.cli import dlq_cmd
from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.gateway import InboundMessage
from velocity_stream.kafka import topics
from velocity_stream.kafka.config import consumer_config
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.kafka.reader import TopicReader
from velocity_stream.kafka.topics import TopicAdmin
from velocity_stream.registry.resolvers import preregistered_resolver
from velocity_stream.serde import AvroSerde
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
    # The gateway worker's own local schema table (no registry): same catalog, same ids.
    prefix = dlq_settings.topic_prefix
    return AvroSerde(hold_catalog, preregistered_resolver(hold_catalog, prefix), prefix)


@pytest.fixture
def dlq_topics(dlq_settings: Settings, hold_catalog: Catalog) -> Iterator[Settings]:
    """The catalog's topics for this test, deleted afterwards (Tansu keeps them in memory)."""
    admin = TopicAdmin(dlq_settings)
    report = topics.apply(admin, hold_catalog.topic_specs(dlq_settings.topic_prefix), 1)
    assert report.ok, report
    yield dlq_settings
    # catalog topics (`<prefix>.`) and the gateway's changelogs (`<prefix>-gateway-...`)
    prefix = dlq_settings.topic_prefix
    admin.delete([n for n in admin.topic_names() if n.startswith((prefix + ".", prefix + "-"))])


@pytest.fixture
def producer(
    dlq_topics: Settings, hold_catalog: Catalog, serde: AvroSerde
) -> Iterator[ArtifactProducer]:
    # signs decisions like the review app does, with the key the worker trusts
    with ArtifactProducer(
        dlq_topics, hold_catalog, serde, producer_name="it-dlq", signer=signing.REVIEW_KEY
    ) as made:
        yield made


class GatewayWorker:
    """The real gateway (``python -m velocity_stream.gateway.runtime.worker``) in a subprocess."""

    def __init__(self, settings: Settings, catalog: Catalog, log_path: Path) -> None:
        self.settings = settings
        self.catalog = catalog
        self.log_path = log_path
        self.group = f"{settings.topic_prefix}-gateway"  # the worker's default app id
        env = dict(os.environ)
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
                "VELOCITY_TOPIC_PREFIX": settings.topic_prefix,
                "VELOCITY_SCHEMAS_DIR": str(settings.schemas_dir),
                "VELOCITY_SESSION_TIMEOUT_MS": str(settings.session_timeout_ms),
                "VELOCITY_FETCH_WAIT_MAX_MS": str(settings.fetch_wait_max_ms),
                **signing.env(),
            }
        )
        # No registry: the worker and this test register the catalog's schemas locally in
        # the same fixed order (registry/resolvers.py), so their schema ids agree.
        env.pop("SCHEMA_REGISTRY_URL", None)
        with log_path.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "velocity_stream.gateway.runtime.worker"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def committed(self, topic: str) -> int:
        """How many records of ``topic`` the gateway has acknowledged (committed offsets)."""
        partitions = self.catalog.ingress_topics(self.settings.topic_prefix)[topic][0].partitions
        consumer = Consumer(consumer_config(self.settings, self.group, client_id="it-offsets"))
        try:
            found = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], 10)
        finally:
            consumer.close()
        return sum(tp.offset for tp in found if tp.offset > 0)

    def stop(self) -> None:
        terminate(self.process, 30)


@pytest.fixture
def gateway(
    dlq_topics: Settings, hold_catalog: Catalog, producer: ArtifactProducer, tmp_path: Path
) -> Iterator[GatewayWorker]:
    """A running gateway worker, proven up by routing a first (unrelated) artifact."""
    worker = GatewayWorker(dlq_topics, hold_catalog, tmp_path / "gateway.log")
    try:
        warm_up = example("QdSignalBundle")
        producer.publish(warm_up).result(10)
        accepted = hold_catalog.family("QdSignalBundle").accepted_topic(dlq_topics.topic_prefix)
        deadline = time.monotonic() + 120
        while not read_topic(dlq_topics, accepted):
            assert worker.process.poll() is None, f"gateway exited:\n{worker.log_tail()}"
            assert time.monotonic() < deadline, f"gateway not routing:\n{worker.log_tail()}"
            time.sleep(0.5)
        yield worker
    finally:
        worker.stop()


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
