"""The gateway on a real broker: a worker subprocess, a publisher of framed bytes, an output reader.

The worker runs as ``python -m velocity_stream.cli.gateway_cmd`` so a test can ``kill -9`` it.
Every harness gets its own topic prefix (so its own topics, consumer group and changelogs) and a
copy of the catalog with a short hold time, so early inputs expire within seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests import signing
from tests.integration.processes import terminate
from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.contracts.catalog import Catalog, Family, Route, load_catalog
from velocity_stream.contracts.commit_record import CommitRecord
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.kafka.topics import TopicAdmin, apply
from velocity_stream.protocol import headers as h
from velocity_stream.registry.resolvers import preregistered_resolver
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR, Settings

HOLD_MS = 3000
READY_TIMEOUT_S = 90.0


@pytest.fixture(scope="session")
def short_hold_schemas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real catalog and schemas, with ``decision_hold_ms`` cut to a few seconds."""
    root = tmp_path_factory.mktemp("schemas") / "avro_schemas"
    shutil.copytree(DEFAULT_SCHEMAS_DIR, root)
    catalog = root / "catalog.toml"
    text, n = re.subn(
        r"(?m)^decision_hold_ms\s*=\s*\d+", f"decision_hold_ms = {HOLD_MS}", catalog.read_text()
    )
    assert n == 1, "catalog.toml has no decision_hold_ms to shorten"
    catalog.write_text(text)
    return root


@dataclass(frozen=True)
class Output:
    """One record the gateway produced."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> bytes | None:
        found = [v for k, v in self.headers if k == name]
        return found[-1] if found else None

    def text(self, name: str) -> str | None:
        value = self.header(name)
        return None if value is None else value.decode()


def variant(artifact: Artifact, **changes: Any) -> Artifact:
    """A validated copy of ``artifact`` with ``changes``."""
    return type(artifact).model_validate({**artifact.model_dump(), **changes})


def unchecked(artifact: Artifact, **changes: Any) -> Artifact:
    """A copy with ``changes`` and no validation: for artifacts that break their contract."""
    return artifact.model_copy(update=changes)


class GatewayHarness:
    """Topics, a worker process, a publisher and a reader for one test (or one module)."""

    def __init__(self, bootstrap: str, schemas_dir: Path, work: Path) -> None:
        self.settings = Settings(
            kafka_bootstrap_servers=bootstrap,
            topic_prefix=f"gw{uuid.uuid4().hex[:10]}",
            schemas_dir=schemas_dir,
            client_id="velocity-gateway-tests",
            session_timeout_ms=6000,
            fetch_wait_max_ms=10,
        )
        self.prefix = self.settings.topic_prefix
        self.catalog: Catalog = load_catalog(schemas_dir)
        self.serde = AvroSerde(
            self.catalog, preregistered_resolver(self.catalog, self.prefix), self.prefix
        )
        self.work = work
        report = apply(TopicAdmin(self.settings), self.catalog.topic_specs(self.prefix), 1)
        assert report.ok, report
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "partitioner": "murmur2_random",
                "linger.ms": 5,
                "batch.size": 262144,
                "queue.buffering.max.messages": 1_000_000,
                "message.max.bytes": 20_000_000,
            }
        )
        self.process: subprocess.Popen[bytes] | None = None
        # Every worker this harness started, so close() reaps them all even when a test
        # fails between starting a second worker and stopping the first.
        self.started: list[subprocess.Popen[bytes]] = []
        self.registry_url: str | None = None
        # Variables a test adds to the worker's environment (e.g. the shutdown grace).
        self.extra_env: dict[str, str] = {}
        self.starts = 0
        self._reader: Consumer | None = None
        self.outputs: list[Output] = []

    variant = staticmethod(variant)
    unchecked = staticmethod(unchecked)

    # --- topics ------------------------------------------------------------------------------

    def family(self, name: str) -> Family:
        return self.catalog.family(name)

    def ingress(self, family: str, major: int | None = None) -> str:
        return self.family(family).ingress_topic(self.prefix, major)

    def accepted(self, family: str, major: int | None = None) -> str:
        return self.family(family).accepted_topic(self.prefix, major)

    @property
    def approvals(self) -> str:
        return self.catalog.approvals_topic(self.prefix)

    @property
    def commits(self) -> str:
        return self.catalog.commits_topic(self.prefix)

    def commit_record(self, value: bytes | None) -> CommitRecord:
        """A commit record the gateway wrote, decoded with the catalog's contract."""
        record = self.serde.decode(value, self.catalog.commits)
        assert isinstance(record, CommitRecord)
        return record

    @property
    def dead_letters(self) -> str:
        return self.catalog.dead_letter_topic(self.prefix)

    def output_topics(self) -> list[str]:
        topics = [self.approvals, self.commits, self.dead_letters]
        for family in self.catalog:
            topics += [family.accepted_topic(self.prefix, m) for m in family.majors()]
        return topics

    # --- the worker --------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VELOCITY_", "KAFKA_"))}
        env.pop("SCHEMA_REGISTRY_URL", None)
        if self.registry_url:
            env["SCHEMA_REGISTRY_URL"] = self.registry_url
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.settings.kafka_bootstrap_servers or "",
                "VELOCITY_TOPIC_PREFIX": self.prefix,
                "VELOCITY_SCHEMAS_DIR": str(self.settings.schemas_dir),
                "VELOCITY_CLIENT_ID": self.settings.client_id,
                "VELOCITY_SESSION_TIMEOUT_MS": str(self.settings.session_timeout_ms),
                "VELOCITY_FETCH_WAIT_MAX_MS": str(self.settings.fetch_wait_max_ms),
                # Plain text: the worker logs are read by tests and by people debugging them.
                "VELOCITY_LOG_FORMAT": "text",
                # Several workers run at once in some tests: no metrics port to fight over.
                "VELOCITY_METRICS_ENABLED": "false",
                # the test keys: verify keys for both signers and the rules' signing key
                **signing.env(),
            }
        )
        env.update(self.extra_env)
        return env

    @property
    def log_path(self) -> Path:
        return self.work / f"worker-{self.prefix}-{self.starts}.log"

    def start(
        self, *, wait: bool = True, command: list[str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a worker (by default ``velocity_stream.cli.gateway_cmd``, or ``command``)."""
        self.starts += 1
        command = command or [
            sys.executable,
            "-m",
            "velocity_stream.cli.gateway_cmd",
            "--log-level",
            "info",
            "--expire-interval",
            "0.25",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, env=self.env(), stdout=log, stderr=subprocess.STDOUT
            )
        self.started.append(self.process)
        if wait:
            self.wait_ready()
        return self.process

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"gateway worker exited ({self.process.returncode}):\n{self.log()}")
            if "Worker]: Ready" in self.log():
                return
            time.sleep(0.1)
        pytest.fail(f"gateway worker not ready within {timeout} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """``kill -9``: no flush, no commit, no goodbye."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> int:
        if self.process is None:
            return 0
        if not terminate(self.process, 60):
            pytest.fail("gateway worker did not stop on SIGTERM within 60 s")
        return self.process.returncode

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # --- publishing --------------------------------------------------------------------------

    def key_of(self, artifact: Artifact) -> bytes:
        family = self.family(artifact.FAMILY)
        return str(getattr(artifact, family.key_field)).encode()

    def encode(self, artifact: Artifact) -> bytes:
        return self.serde.encode(artifact)

    def digest_of(self, proposal: Artifact) -> str:
        """The ``proposal_digest`` of ``proposal`` as published (its framed bytes)."""
        return proposal_digest(self.encode(proposal))

    def publish(
        self,
        artifact: Artifact,
        *,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        flush: bool = True,
        signed: bool = True,
    ) -> bytes:
        """Send ``artifact`` framed to its ingress topic; returns the bytes sent.

        A decision is signed over exactly what is sent by the test key of its
        ``source_system`` (tests/signing.py); ``signed=False`` sends it as it is."""
        major = int(artifact.SCHEMA_VERSION.split(".")[0])
        topic = self.ingress(artifact.FAMILY, major)
        value = self.encode(artifact)
        key = self.key_of(artifact) if key is None else key
        if signed and self.family(artifact.FAMILY).route is Route.DECISION:
            headers = list(
                signing.with_signature(headers or [], topic, key, value, artifact.source_system)
            )
        self.publish_raw(topic, value, key=key, headers=headers, flush=flush)
        return value

    def publish_raw(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = b"k",
        headers: list[tuple[str, bytes]] | None = None,
        flush: bool = True,
    ) -> None:
        while True:
            try:
                self.producer.produce(topic, value=value, key=key, headers=headers)
                break
            except BufferError:
                self.producer.poll(0.05)
        if flush:
            self.flush()

    def flush(self) -> None:
        assert self.producer.flush(60) == 0, "inputs were not delivered"

    # --- reading outputs ---------------------------------------------------------------------

    def _consumer(self) -> Consumer:
        if self._reader is None:
            self._reader = Consumer(
                {
                    "bootstrap.servers": self.settings.kafka_bootstrap_servers,
                    "group.id": f"reader-{uuid.uuid4().hex[:8]}",
                    "enable.auto.commit": False,
                    "fetch.wait.max.ms": 10,
                }
            )
            metadata = self._reader.list_topics(timeout=10)
            assignment = [
                TopicPartition(topic, p, 0)
                for topic in self.output_topics()
                for p in metadata.topics[topic].partitions
            ]
            self._reader.assign(assignment)
        return self._reader

    def read(self, timeout: float = 0.2, *, until: int | None = None) -> list[Output]:
        """Everything new on the output topics (also appended to ``self.outputs``).

        Reading goes on while outputs keep coming; with ``until`` it stops as soon as
        ``self.outputs`` would hold that many, so a caller can act while a worker is midway."""
        consumer = self._consumer()
        found: list[Output] = []
        deadline = time.monotonic() + timeout
        while True:
            want = 10_000 if until is None else until - len(self.outputs) - len(found)
            if want <= 0:
                break
            batch = consumer.consume(min(want, 10_000), 0.05)
            for m in batch:
                if m.error():
                    continue
                found.append(
                    Output(
                        m.topic(),
                        m.partition(),
                        m.offset(),
                        m.key(),
                        m.value(),
                        tuple(m.headers() or ()),
                    )
                )
            if not batch and time.monotonic() >= deadline:
                break
        self.outputs.extend(found)
        return found

    def wait_for(
        self,
        predicate: Callable[[Output], bool],
        count: int = 1,
        timeout: float = 30.0,
    ) -> list[Output]:
        """Read until ``count`` outputs (seen so far) satisfy ``predicate``; those outputs."""
        deadline = time.monotonic() + timeout
        while True:
            matched = [o for o in self.outputs if predicate(o)]
            if len(matched) >= count:
                return matched
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{len(matched)}/{count} expected outputs within {timeout} s; worker alive: "
                    f"{self.alive()}; log tail:\n{self.log()[-2000:]}"
                )
            self.read(0.2)

    def for_artifact(self, artifact_id: str) -> list[Output]:
        return [o for o in self.outputs if o.text(h.ARTIFACT_ID) == artifact_id]

    def category(self, output: Output) -> str:
        """Which route an output took: dead, pending, commit or accepted."""
        if output.topic == self.dead_letters:
            return "dead"
        if output.topic == self.approvals:
            return "pending"
        if output.topic == self.commits:
            return "commit"
        return "accepted"

    def artifact_id_of(self, output: Output) -> str | None:
        """The artifact an output is about: its header, or for a dead letter the decoded input."""
        if output.topic != self.dead_letters:
            return output.text(h.ARTIFACT_ID)
        family, _ = self.catalog.ingress_topics(self.prefix)[output.text(h.DLQ_SOURCE_TOPIC)]
        record = self.serde.decode_record(output.value, family).record
        return str(record["artifact_id"])

    def dead_letters_for(self, key: bytes) -> list[Output]:
        return [o for o in self.outputs if o.topic == self.dead_letters and o.key == key]

    def settle(self, seconds: float = 1.0) -> None:
        """Read for a while so late (unexpected) outputs would show up."""
        self.read(seconds)

    def close(self) -> None:
        self.stop()
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait(30)
        if self._reader is not None:
            self._reader.close()
        self.producer.flush(10)
        # Tansu keeps every topic in memory: drop ours and the worker's changelogs.
        admin = TopicAdmin(self.settings)
        mine = [t for t in admin.topic_names() if t.startswith(self.prefix)]
        if mine:
            admin.delete(mine)


@pytest.fixture(scope="module")
def gateway(
    kafka_bootstrap: str, short_hold_schemas: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayHarness]:
    """One running worker shared by a module's tests (each test uses its own ids)."""
    harness = GatewayHarness(kafka_bootstrap, short_hold_schemas, tmp_path_factory.mktemp("gw"))
    harness.start()
    try:
        yield harness
        assert harness.alive(), f"the worker died during the module:\n{harness.log()[-3000:]}"
        assert harness.stop() == 0, (
            f"SIGTERM did not stop the worker cleanly:\n{harness.log()[-3000:]}"
        )
    finally:
        harness.close()


@pytest.fixture
def fresh_gateway(
    kafka_bootstrap: str, short_hold_schemas: Path, tmp_path: Path
) -> Iterator[GatewayHarness]:
    """A harness of its own (topics, group) whose worker the test starts and kills itself."""
    harness = GatewayHarness(kafka_bootstrap, short_hold_schemas, tmp_path)
    try:
        yield harness
    finally:
        harness.close()
