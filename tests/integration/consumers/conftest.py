"""Fixtures for the consumer integration tests: the session's Kafka with this test's catalog
topics, a schema-id table every process agrees on, and a store on SQLite or PostgreSQL.

Every test that takes ``store_url`` runs once per database. PostgreSQL is the one on
127.0.0.1:5432 (database ``test``); each test gets its own table prefix and drops its tables.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from consumers.client360.store import Client360Store
from consumers.committer.store import GraphStore
from consumers.sink import Sink, SinkOptions, SinkRunner, SinkStats, SinkStore, sink_entry
from consumers.storage import OffsetsStore, open_engine
from tests.integration.consumers.to_end import run_to_end
from tests.unit.consumers.events import commit
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.kafka import topics
from velocity_stream.kafka.producer import ArtifactProducer, Delivery
from velocity_stream.kafka.topics import TopicAdmin
from velocity_stream.registry.resolvers import preregistered_resolver
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import Settings

POSTGRES_URL = os.environ.get(
    "VELOCITY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(Settings().schemas_dir)


@pytest.fixture
def provisioned(kafka_settings: Settings, catalog: Catalog) -> Iterator[Settings]:
    """This test's catalog topics, created; deleted afterwards (Tansu keeps them in memory)."""
    admin = TopicAdmin(kafka_settings)
    report = topics.apply(admin, catalog.topic_specs(kafka_settings.topic_prefix), 1)
    assert report.ok, report
    yield kafka_settings
    mine = [n for n in admin.topic_names() if n.startswith(kafka_settings.topic_prefix + ".")]
    admin.delete(mine)


@pytest.fixture
def serde(catalog: Catalog, kafka_settings: Settings) -> AvroSerde:
    # The same fixed id table the CLI workers build when no registry is configured, so a
    # worker subprocess decodes what this process encodes.
    prefix = kafka_settings.topic_prefix
    return AvroSerde(catalog, preregistered_resolver(catalog, prefix), prefix)


@pytest.fixture
def producer(
    provisioned: Settings, catalog: Catalog, serde: AvroSerde
) -> Iterator[ArtifactProducer]:
    with ArtifactProducer(provisioned, catalog, serde, producer_name="it-gateway") as made:
        yield made


class Gateway:
    """Writes what the gateway would: accepted artifacts and commit records, as raw bytes (and
    a ready-made applied record straight onto its own topic, as the committer would)."""

    def __init__(
        self,
        producer: ArtifactProducer,
        catalog: Catalog,
        serde: AvroSerde,
        settings: Settings | None = None,
    ) -> None:
        self.producer = producer
        self.catalog = catalog
        self.serde = serde
        self.prefix = serde.topic_prefix
        self.settings = settings
        self._relayed: dict[tuple[str, int], int] = {}

    def accept(self, artifacts: Sequence[Artifact]) -> list[Delivery]:
        futures = []
        for artifact in artifacts:
            family = self.catalog.family(artifact.FAMILY)
            key = str(getattr(artifact, family.key_field))
            topic = (
                family.ingress_topic(self.prefix)
                if family.internal
                else family.accepted_topic(self.prefix)
            )
            futures.append(self.producer.publish_raw(topic, key, self.serde.encode(artifact)))
        return [f.result(30) for f in futures]

    def commit(self, proposal: Artifact, decision: str, minute: int = 0) -> Delivery:
        family = self.catalog.family(proposal.FAMILY)
        record = commit(
            proposal,
            self.serde.encode(proposal),
            family.ingress_topic(self.prefix),
            decision,
            minute,
        )
        topic = self.catalog.commits_topic(self.prefix)
        value = self.serde.encode(record)
        return self.producer.publish_raw(topic, record.proposal_id, value).result(30)

    def publish(self, history: Sequence[Any]) -> dict[tuple[str, int], int]:
        """Accepted artifacts and (proposal, decision, minute) commits, in order; returns the
        end offset of every partition written."""
        deliveries: list[Delivery] = []
        artifacts = [item for item in history if not isinstance(item, tuple)]
        deliveries += self.accept(artifacts)
        for item in history:
            if isinstance(item, tuple):
                deliveries.append(self.commit(*item))
        ends: dict[tuple[str, int], int] = {}
        for delivery in deliveries:
            key = (delivery.topic, delivery.partition)
            ends[key] = max(ends.get(key, 0), delivery.offset + 1)
        return ends


@pytest.fixture
def gateway(
    producer: ArtifactProducer, catalog: Catalog, serde: AvroSerde, provisioned: Settings
) -> Gateway:
    return Gateway(producer, catalog, serde, provisioned)


def _postgres_reachable() -> str | None:
    try:
        engine = open_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as error:  # any failure means: no PostgreSQL here
        return f"{type(error).__name__}: {error}"
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'read_models.db'}"
    problem = _postgres_reachable()
    if problem is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"PostgreSQL unreachable in CI: {problem}", pytrace=False)
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    return POSTGRES_URL


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    made = open_engine(store_url)
    yield made
    made.dispose()


def fresh_prefix() -> str:
    return f"it{uuid.uuid4().hex[:10]}_"


@pytest.fixture
def client360_store(engine: Engine) -> Iterator[Callable[..., Client360Store]]:
    """``client360_store(prefix=None)`` -> a created store; its tables are dropped afterwards."""
    made: list[Client360Store] = []

    def make(prefix: str | None = None) -> Client360Store:
        store = Client360Store(engine, prefix or fresh_prefix())
        store.create()
        made.append(store)
        return store

    yield make
    for store in made:
        store.drop()


@pytest.fixture
def graph_store(engine: Engine) -> Iterator[GraphStore]:
    store = GraphStore(engine, fresh_prefix())
    store.create()
    yield store
    store.drop()


@dataclass
class SinkUnderTest:
    """A sink consumer's parts and its store (the tables the test reads)."""

    sink: Sink
    store: SinkStore

    @property
    def prefix(self) -> str:
        return self.store.tables.offsets.name.removesuffix(f"{self.sink.mapper.name}_offsets")

    def run(
        self,
        settings: Settings,
        catalog: Catalog,
        serde: AvroSerde,
        batch_size: int = 500,
        max_idle_s: float = 1.5,
    ) -> SinkStats:
        """Consume to the topics' end (tests/integration/consumers/to_end.py)."""
        options = SinkOptions(batch_size=batch_size)
        runner = SinkRunner(settings, catalog, serde, self.sink.mapper, self.store, options)
        stats: SinkStats = run_to_end(runner, self.store, settings, max_idle_s)
        return stats


@pytest.fixture
def sink_store(engine: Engine) -> Iterator[Callable[..., SinkUnderTest]]:
    """``sink_store("intel", prefix=None)`` -> that sink consumer with its created store
    (its own apply hook included); the tables are dropped afterwards."""
    made: list[SinkStore] = []

    def make(name: str, prefix: str | None = None) -> SinkUnderTest:
        sink = sink_entry(name).load(prefix or fresh_prefix())
        store = SinkStore(engine, sink.tables, sink.apply)
        store.create()
        made.append(store)
        return SinkUnderTest(sink, store)

    yield make
    for store in made:
        store.drop()


# Same length, so the Avro string around it stays well formed once the NUL is in.
NUL_MARK, NUL_BYTES = "MARK-0-NUL", b"MARK-\x00-NUL"


def with_nul(serde: AvroSerde, artifact: Artifact) -> bytes:
    """``artifact``'s bytes with a NUL character where its strings held NUL_MARK: what a
    writer that skips the contract (or a record accepted before the rule) puts on a topic."""
    value = serde.encode(artifact)
    assert NUL_MARK.encode() in value
    return value.replace(NUL_MARK.encode(), NUL_BYTES)


def without_offsets(dump: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
    return {name: rows for name, rows in dump.items() if name != "offsets"}


def consume_worker(
    settings: Settings,
    store_url: str,
    worker: str,
    prefix: str,
    batch_size: int = 40,
    max_idle_s: float = 3,
) -> subprocess.Popen[bytes]:
    """``velocity-stream consume WORKER`` as a subprocess on this test's Kafka and topics (no
    registry: it builds the same fixed id table as the ``serde`` fixture)."""
    env = {k: v for k, v in os.environ.items() if k != "SCHEMA_REGISTRY_URL"}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
            "VELOCITY_TOPIC_PREFIX": settings.topic_prefix,
            "VELOCITY_SESSION_TIMEOUT_MS": str(settings.session_timeout_ms),
            "VELOCITY_FETCH_WAIT_MAX_MS": str(settings.fetch_wait_max_ms),
        }
    )
    command = [
        sys.executable,
        "-m",
        "velocity_stream.cli.consumers_cmd",
        "consume",
        worker,
        "--store-url",
        store_url,
        "--table-prefix",
        prefix,
        "--batch-size",
        str(batch_size),
        "--max-idle",
        str(max_idle_s),
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def kill_then_restart(
    settings: Settings,
    store_url: str,
    worker: str,
    store: OffsetsStore[Any],
    prefix: str,
    ends: dict[tuple[str, int], int],
    batch_size: int = 40,
) -> None:
    """Run ``consume WORKER`` on the topics' backlog (``ends``: their end offsets), kill -9 it
    as soon as it has committed a batch, check the kill landed mid-backlog, then run it again
    to the end and check it stored every end offset.

    The worker goes through hundreds of records between two looks at its offsets, so the kill
    comes at the first commit seen, looked for every few milliseconds: waiting for a share of
    the backlog would leave a fast machine time to finish it first."""
    total = sum(ends.values())

    def consumed() -> int:
        return sum(store.offsets().values())

    process = consume_worker(settings, store_url, worker, prefix, batch_size=batch_size)
    try:
        assert wait_until(lambda: consumed() > 0, timeout=120, interval=0.002), "no progress"
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    at_kill = consumed()
    assert 0 < at_kill < total, f"the kill did not land mid-backlog ({at_kill} of {total})"
    restarted = consume_worker(settings, store_url, worker, prefix)
    output, _ = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, output.decode()
    assert store.offsets() == ends


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()
