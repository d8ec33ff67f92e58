"""The real gateway worker (faust, in a subprocess) serves metrics; a scrape after traffic shows
every input, output, reason code, the pending gauge, decision latency and fetch-based lag."""

from __future__ import annotations

import inspect
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import signing
from tests.integration.processes import terminate
from velocity_stream.contracts import example
from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.registry.resolvers import preregistered_resolver
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import Settings


def _wired() -> bool:
    from velocity_stream.gateway.faust_app import build_app

    return "metrics" in inspect.signature(build_app).parameters


# The worker starts the endpoint once the observability wiring is applied to the gateway
# runtime (docs/metrics.md, "Wiring"); until then this says so instead of failing.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not _wired(), reason="observability wiring not applied to the gateway"),
]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Worker:
    """``python -m velocity_stream.gateway.runtime.worker`` with its metrics on a free port."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.port = _free_port()
        self.log_path = log_path
        env = dict(os.environ)
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
                "VELOCITY_TOPIC_PREFIX": settings.topic_prefix,
                "VELOCITY_SESSION_TIMEOUT_MS": str(settings.session_timeout_ms),
                "VELOCITY_FETCH_WAIT_MAX_MS": str(settings.fetch_wait_max_ms),
                "VELOCITY_METRICS_HOST": "127.0.0.1",
                "VELOCITY_METRICS_PORT": str(self.port),
                "VELOCITY_LOG_FORMAT": "json",
                **signing.env(),
            }
        )
        env.pop("SCHEMA_REGISTRY_URL", None)  # worker and test share the local schema ids
        with log_path.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "velocity_stream.gateway.runtime.worker"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def scrape(self) -> Samples:
        response = httpx.get(self.url, timeout=5)
        assert response.status_code == 200
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples
        }

    def wait_for(self, check: Callable[[Samples], bool], timeout: float = 120.0) -> Samples:
        """Scrape until ``check`` holds (the worker joins its group, recovers, routes)."""
        deadline = time.monotonic() + timeout
        samples: Samples = {}
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gateway exited:\n{self.log_tail()}"
            try:
                samples = self.scrape()
            except httpx.TransportError:
                samples = {}
            if samples and check(samples):
                return samples
            time.sleep(0.5)
        pytest.fail(f"metrics never matched; last scrape {samples}\n{self.log_tail()}")

    def stop(self) -> None:
        terminate(self.process, 30)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


@pytest.fixture
def worker_serde(catalog: Catalog, provisioned: Settings) -> AvroSerde:
    prefix = provisioned.topic_prefix
    return AvroSerde(catalog, preregistered_resolver(catalog, prefix), prefix)


@pytest.fixture
def worker_producer(
    provisioned: Settings, catalog: Catalog, worker_serde: AvroSerde
) -> Iterator[ArtifactProducer]:
    with ArtifactProducer(
        provisioned, catalog, worker_serde, producer_name="it-metrics", signer=signing.REVIEW_KEY
    ) as made:
        yield made


@pytest.fixture
def worker(provisioned: Settings, admin, tmp_path: Path) -> Iterator[Worker]:
    running = Worker(provisioned, tmp_path / "gateway.log")
    try:
        yield running
    finally:
        running.stop()
        prefix = provisioned.topic_prefix
        admin.delete([n for n in admin.topic_names() if n.startswith(prefix + "-")])


def _variant(artifact: Artifact, **changes: object) -> Artifact:
    return type(artifact).model_validate({**artifact.model_dump(), **changes})


IN = "velocity_gateway_messages_in_total"
OUT = "velocity_gateway_messages_out_total"


def test_real_worker_metrics_after_traffic(
    worker: Worker,
    worker_producer: ArtifactProducer,
    worker_serde: AvroSerde,
    catalog: Catalog,
    provisioned: Settings,
):
    prefix = provisioned.topic_prefix
    qd_topic = catalog.family("QdSignalBundle").ingress_topic(prefix)
    proposal = example("OracleWritebackProposal")
    qd = example("QdSignalBundle")
    sent = [worker_producer.publish(_variant(qd, artifact_id=f"art:qd:{n}")) for n in range(3)]
    sent += [worker_producer.publish(example("InteractionBundle"))]
    sent += [worker_producer.publish(proposal)]
    sent += [worker_producer.publish_raw(qd_topic, b"k", b"\x07not avro") for _ in range(2)]
    for future in sent:
        future.result(15)

    first = worker.wait_for(lambda s: total(s, IN) >= 7)
    assert total(first, IN) == 7
    assert value(first, IN, family="QdSignalBundle", route="accepted") == 3
    assert value(first, OUT, family="QdSignalBundle", route="accepted") == 3
    assert value(first, IN, family="InteractionBundle", route="accepted") == 1
    assert value(first, IN, family="OracleWritebackProposal", route="pending_approval") == 1
    dead = "velocity_gateway_dead_letters_total"
    assert value(first, dead, family="QdSignalBundle", reason="decode.bad_magic_byte") == 2
    assert value(first, "velocity_gateway_pending_approvals") == 1
    assert total(first, "velocity_gateway_end_to_end_latency_seconds_count") == 7

    decision = _variant(
        example("ApprovalDecision"),
        proposal_ref=proposal.proposal_id,
        decision_id=f"decision:{proposal.proposal_id}",
        proposal_digest=proposal_digest(worker_serde.encode(proposal)),
    )
    worker_producer.publish(decision).result(15)
    decided = {"family": "ApprovalDecision", "route": "decision_applied"}
    second = worker.wait_for(lambda s: value(s, IN, **decided) >= 1)
    assert value(second, OUT, **decided) == 2  # the accepted decision and its commit record
    assert value(second, "velocity_gateway_pending_approvals") == 0
    latency = "velocity_gateway_decision_latency_seconds"
    assert value(second, latency + "_count", decided_by="reviewer") == 1
    assert total(second, IN) == 8

    # Lag of the gateway's group from fetch-response watermarks, per ingress partition read.
    lag = {labels: v for (name, labels), v in second.items() if name == "velocity_consumer_lag"}
    assert lag and all(v == 0 for v in lag.values()), lag
    assert {dict(labels)["group"] for labels in lag} == {f"{prefix}-gateway"}
    assert {dict(labels)["topic"] for labels in lag} >= {qd_topic}

    # The worker logs JSON lines (its own and faust's), tagged with its role.
    text = worker.log_path.read_text(errors="replace")
    assert "\x1b[" not in text  # no terminal spinner escapes among the log lines
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(line.get("message", "").startswith("metrics at") for line in lines)
    assert all(line.get("role") == "gateway" for line in lines)
