"""Gateway benchmark: throughput against two baselines, live latency, and memory with pending state.

In one run, on one broker (KAFKA_BOOTSTRAP_SERVERS, else the embedded Tansu broker):

1. throughput on a backlog of valid ~1 KB artifacts (InteractionBundle), from the first to the
   last output on the accepted topic, for
   - the gateway (a worker subprocess, `python -m velocity_stream.gateway.runtime.worker`),
   - a naive faust agent forwarding each message with ``await topic.send()``,
   - a raw confluent-kafka consume-produce loop;
   each the median of ``--runs`` runs, with the ratios;
2. end-to-end latency (producer send -> accepted output consumed) at ``--rate`` artifacts/s;
3. the gateway worker's peak RSS after ``--pending`` OracleWritebackProposals are pending in
   its tables;
4. the pure pipeline in this process, CPU µs per record on the accept route: as built (one pass,
   the compiled reader to the model) against the two passes it replaced (the plain record,
   then pydantic), alternating, median of ``--runs`` x 5 rounds; the same in instructions,
   immune to load: ``valgrind --tool=callgrind python bench/gateway.py --pipeline-loop
   one_pass N`` (and ``two_pass``), each for N = 0 and 2000, (I(2000) - I(0)) / 2000; and
   the routes that still decode the plain record as well (a proposal, an immutable batch);
5. scaling: one gateway worker, then ``--workers`` workers in one consumer group, on the same
   backlog (``--scale-count`` records), alternating, each the median of ``--runs`` runs, with
   the ratio and the load average before and after; the same ratio over the middle 80% of
   each run's outputs (without the group's start and end), and the ceiling of the machine
   (its cores over the cores the one-worker run kept busy).

Every run through Kafka also prints the CPU µs per record of the broker, the reader and each
process under test between the first and the last output (``/proc/<pid>/stat``): on a busy
machine these move far less than the rates do. ``BENCH_PROFILE=1`` runs each gateway worker
under cProfile (a ``.prof`` beside its log).

    python bench/gateway.py                    # everything (~15 minutes on a quiet machine)
    python bench/gateway.py --quick            # smaller, for a smoke check
    python bench/gateway.py --skip throughput --skip latency --skip memory --skip pipeline
                                               # scaling only
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import Catalog, Family, load_catalog
from velocity_stream.contracts.interaction import InteractionBundle
from velocity_stream.contracts.metadata import Artifact, validate_artifact
from velocity_stream.contracts.writeback import OracleWritebackProposal
from velocity_stream.gateway import GatewayState, InboundMessage, Pipeline
from velocity_stream.kafka.topics import TopicAdmin, apply
from velocity_stream.registry.resolvers import preregistered_resolver
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR, Settings
from velocity_stream.trust import REVIEW_APP_SIGNER, RULES_SIGNER, KeyRing, SigningKey

ROOT = Path(__file__).resolve().parent.parent
NAIVE_AGENT = Path(__file__).resolve().parent / "naive_faust_agent.py"
SENT_HEADER = "bench.sent_ns"
FAMILY = "InteractionBundle"
# The worker's VELOCITY_FETCH_WAIT_MAX_MS (the project default is 10 ms).
FETCH_WAIT_MS = int(os.environ.get("BENCH_FETCH_WAIT_MS", "10"))
GATEWAY_FLAGS: list[str] = os.environ.get("BENCH_GATEWAY_FLAGS", "").split()
TARGET_BYTES = 1024
# BENCH_PROFILE=1: every gateway worker runs under cProfile (slower; for where the time goes).
PROFILE = os.environ.get("BENCH_PROFILE") == "1"

# The baselines of issue 6, measured on the development machines (docs/gateway.md, "Measured").
EXPECTED_NAIVE = 2_500
EXPECTED_RAW = 90_000


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- broker, settings, topics -------------------------------------------------------------


# The embedded broker's pid, for its CPU time per run (None on an outside cluster).
BROKER_PID: list[int] = []


@contextmanager
def kafka() -> Iterator[str]:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    from velocity_stream.kafka.broker import EmbeddedBroker

    with EmbeddedBroker() as broker:
        if broker.pid is not None:
            BROKER_PID.append(broker.pid)
        yield broker.bootstrap_servers


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settings_for(bootstrap: str, prefix: str) -> Settings:
    return Settings(
        kafka_bootstrap_servers=bootstrap,
        topic_prefix=prefix,
        session_timeout_ms=6000,
        fetch_wait_max_ms=FETCH_WAIT_MS,
    )


def worker_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    # Decision keys made for this run (the worker does not start without them).
    review = SigningKey.generate(REVIEW_APP_SIGNER, "bench-review")
    rules = SigningKey.generate(RULES_SIGNER, "bench-rules")
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
            "VELOCITY_TOPIC_PREFIX": settings.topic_prefix,
            "VELOCITY_SESSION_TIMEOUT_MS": str(settings.session_timeout_ms),
            "VELOCITY_FETCH_WAIT_MAX_MS": str(settings.fetch_wait_max_ms),
            "VELOCITY_DECISION_VERIFY_KEYS": KeyRing([review.verify_key, rules.verify_key]).text(),
            "VELOCITY_RULE_SIGNING_KEY": rules.text(),
        }
    )
    env.pop("SCHEMA_REGISTRY_URL", None)
    return env


def provision(settings: Settings, catalog: Catalog) -> None:
    report = apply(TopicAdmin(settings), catalog.topic_specs(settings.topic_prefix), 1)
    if not report.ok:
        raise SystemExit(f"cannot provision topics for {settings.topic_prefix}")


def delete_topics(settings: Settings, catalog: Catalog, extra: list[str] = ()) -> None:  # type: ignore[assignment]
    # Tansu keeps everything in memory: drop each run's topics before the next one.
    admin = TopicAdmin(settings)
    names = [s.name for s in catalog.topic_specs(settings.topic_prefix)] + list(extra)
    existing = set(admin.topic_names())
    changelogs = [n for n in existing if n.startswith(f"{settings.topic_prefix}-")]
    admin.delete([n for n in names + changelogs if n in existing])


# --- artifacts --------------------------------------------------------------------------------


class Artifacts:
    """Valid artifacts of about 1 KB, encoded once per run (the same bytes for every system)."""

    def __init__(self, catalog: Catalog, prefix: str) -> None:
        self.catalog = catalog
        self.serde = AvroSerde(catalog, preregistered_resolver(catalog, prefix), prefix)
        self.family = catalog.family(FAMILY)
        base = example(FAMILY)
        assert isinstance(base, InteractionBundle)
        padding = TARGET_BYTES - len(self.serde.encode(base))
        self.base = base.model_copy(
            update={"summary": (base.summary or "") + " " + "x" * max(padding - 1, 0)}
        )

    def one(self, i: int) -> tuple[bytes, bytes]:
        artifact: Artifact = self.base.model_copy(
            update={
                "artifact_id": f"art:bench:{uuid.uuid4().hex}",
                # As many clients as records: the six partitions get equal shares (with 997
                # keys murmur2 split them so that two workers got 54 % and 46 %).
                "client_ref": f"client:{i}",
            }
        )
        return artifact.client_ref.encode(), self.serde.encode(artifact)  # type: ignore[attr-defined]

    @property
    def ingress(self) -> str:
        return self.family.ingress_topic(self.serde.topic_prefix)

    @property
    def accepted(self) -> str:
        return self.family.accepted_topic(self.serde.topic_prefix)


def producer(bootstrap: str, linger_ms: int = 5) -> Producer:
    """The project's producer defaults (linger 5 ms); the loops under test use the gateway's 1."""
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "partitioner": "murmur2_random",
            "linger.ms": linger_ms,
            "batch.size": 262144,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 1_000_000,
        }
    )


def publish_backlog(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    p = producer(bootstrap)
    for key, value in records:
        while True:
            try:
                p.produce(topic, key=key, value=value)
                break
            except BufferError:
                p.poll(0.01)
    if p.flush(60):
        raise SystemExit("backlog was not delivered")


def reader(bootstrap: str, topic: str, partitions: int) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    return consumer


def time_outputs(
    bootstrap: str,
    topic: str,
    partitions: int,
    expected: int,
    timeout: float,
    on_first: Callable[[], None] | None = None,
    arrivals: list[float] | None = None,
) -> float:
    """Seconds from the first to the last of ``expected`` records on ``topic``;
    ``on_first`` is called when the first arrives; ``arrivals``, when given, gets each
    record's arrival time (the time its fetch returned)."""
    consumer = reader(bootstrap, topic, partitions)
    seen = 0
    first = last = 0.0
    deadline = time.monotonic() + timeout
    try:
        while seen < expected:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {seen}/{expected} outputs on {topic} within {timeout} s")
            fetched = consumer.consume(10_000, 0.2)
            now = time.monotonic()
            for message in fetched:
                if message.error():
                    continue
                if not seen:
                    first = time.monotonic()
                    if on_first is not None:
                        on_first()
                seen += 1
                last = time.monotonic()
                if arrivals is not None:
                    arrivals.append(now)
    finally:
        consumer.close()
    return max(last - first, 1e-9)


# --- the three systems under test -------------------------------------------------------------


@contextmanager
def subprocess_running(
    command: list[str], env: dict[str, str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def gateway_command() -> list[str]:
    return [sys.executable, "-m", "velocity_stream.cli.gateway_cmd", *GATEWAY_FLAGS]


def raw_loop(bootstrap: str, source: str, target: str, partitions: int, expected: int) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-raw-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.assign([TopicPartition(source, p, 0) for p in range(partitions)])
    out = producer(bootstrap, linger_ms=1)
    done = 0
    while done < expected:
        # A short timeout: consume() waits for the full count or the timeout.
        batch = consumer.consume(5000, 0.005)
        for message in batch:
            if message.error():
                continue
            while True:
                try:
                    out.produce(
                        target, key=message.key(), value=message.value(), headers=message.headers()
                    )
                    break
                except BufferError:
                    out.poll(0.01)
            done += 1
        out.poll(0)
        if batch:
            out.flush()
            consumer.commit(asynchronous=True)
    consumer.close()


@dataclass
class Throughput:
    gateway: list[float]
    naive: list[float]
    raw: list[float]


# --- latency ----------------------------------------------------------------------------------


def measure_latency(
    bootstrap: str, catalog: Catalog, rate: int, seconds: float, work: Path, system: str
) -> list[float]:
    """End-to-end latencies (ms) through the gateway, or through the raw loop as a floor."""
    prefix = f"benchlat{system}{uuid.uuid4().hex[:6]}"
    settings = settings_for(bootstrap, prefix)
    provision(settings, catalog)
    artifacts = Artifacts(catalog, prefix)
    partitions = artifacts.family.partitions
    total = int(rate * seconds)
    records = [artifacts.one(i) for i in range(total + rate)]
    latencies: list[float] = []
    legs: list[tuple[float, float]] = []
    topics = [artifacts.ingress, artifacts.accepted, str(partitions)]
    command = (
        gateway_command()
        if system == "gateway"
        else [sys.executable, __file__, "--raw-loop", *topics, str(total + 1)]
    )
    with subprocess_running(command, worker_env(settings), work / f"{prefix}.log"):
        consumer = reader(bootstrap, artifacts.accepted, partitions)
        out = producer(bootstrap)
        # Warm up: wait until the worker has joined and routes a first record.
        key, value = records[-1]
        out.produce(artifacts.ingress, key=key, value=value, headers=[(SENT_HEADER, b"0")])
        out.flush()
        warm_deadline = time.monotonic() + 120
        while not any(not m.error() for m in consumer.consume(100, 0.5)):
            if time.monotonic() > warm_deadline:
                raise SystemExit("the gateway did not start within 120 s")
        interval = 1.0 / rate
        start = time.monotonic()
        sent = 0
        received = 0
        while received < total:
            now = time.monotonic()
            while sent < total and start + sent * interval <= now:
                key, value = records[sent]
                out.produce(
                    artifacts.ingress,
                    key=key,
                    value=value,
                    headers=[(SENT_HEADER, str(time.time_ns()).encode())],
                )
                sent += 1
            out.poll(0)
            for message in consumer.consume(1000, 0.001):
                if message.error():
                    continue
                stamp = dict(message.headers() or []).get(SENT_HEADER)
                if stamp and stamp != b"0":
                    now_ns = time.time_ns()
                    latencies.append((now_ns - int(stamp)) / 1e6)
                    # the output's CreateTime is when the gateway produced it: the split
                    # between the gateway's leg and the output's way to the reader
                    produced_ms = message.timestamp()[1]
                    legs.append((produced_ms - int(stamp) / 1e6, now_ns / 1e6 - produced_ms))
                    received += 1
            if time.monotonic() - start > seconds + 60:
                raise SystemExit(f"latency run: only {received}/{total} outputs")
        consumer.close()
    delete_topics(settings, catalog)
    into = sorted(a for a, _ in legs)
    onward = sorted(b for _, b in legs)
    log(
        f"{system} latency legs: input->output produce p50 {into[len(into) // 2]:.1f} p99 "
        f"{into[int(len(into) * 0.99)]:.1f} ms; output->reader p50 "
        f"{onward[len(onward) // 2]:.1f} p99 {onward[int(len(onward) * 0.99)]:.1f} ms"
    )
    return latencies


# --- memory with pending proposals ------------------------------------------------------------


def peak_rss_with_pending(
    bootstrap: str, catalog: Catalog, pending: int, work: Path
) -> tuple[int, int]:
    """(peak RSS in bytes after ``pending`` proposals, RSS of the idle worker before them)."""
    prefix = f"benchmem{uuid.uuid4().hex[:6]}"
    settings = settings_for(bootstrap, prefix)
    provision(settings, catalog)
    serde = AvroSerde(catalog, preregistered_resolver(catalog, prefix), prefix)
    family = catalog.family("OracleWritebackProposal")
    base = example(family.name)
    assert isinstance(base, OracleWritebackProposal)
    pad = TARGET_BYTES - len(serde.encode(base))
    base = base.model_copy(
        update={"reasoning_summary": base.reasoning_summary + " " + "y" * max(pad - 1, 0)}
    )
    with subprocess_running(
        gateway_command(), worker_env(settings), work / f"{prefix}.log"
    ) as worker:
        out = producer(bootstrap)
        approvals = catalog.approvals_topic(prefix)
        # One first proposal so the worker is up before the measurement starts.
        first = base.model_copy(
            update={"proposal_id": "proposal:bench:warm", "artifact_id": "art:warm"}
        )
        out.produce(
            family.ingress_topic(prefix), key=b"proposal:bench:warm", value=serde.encode(first)
        )
        out.flush()
        time_outputs(bootstrap, approvals, catalog.gateway.partitions, 1, 120)
        idle = rss_now(worker.pid)
        for i in range(pending):
            proposal = base.model_copy(
                update={"proposal_id": f"proposal:bench:{i}", "artifact_id": f"art:bench:{i}"}
            )
            while True:
                try:
                    out.produce(
                        family.ingress_topic(prefix),
                        key=proposal.proposal_id.encode(),
                        value=serde.encode(proposal),
                    )
                    break
                except BufferError:
                    out.poll(0.01)
        out.flush()
        time_outputs(bootstrap, approvals, catalog.gateway.partitions, pending + 1, 900)
        peak = peak_rss(worker.pid)
    delete_topics(settings, catalog)
    return peak, idle


def rss_now(pid: int) -> int:
    return _status_kb(pid, "VmRSS") * 1024


def peak_rss(pid: int) -> int:
    return _status_kb(pid, "VmHWM") * 1024


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} for pid {pid}")


# --- main ---------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="artifacts per throughput run")
    parser.add_argument(
        "--naive-count", type=int, default=20_000, help="artifacts per naive faust run"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=1000, help="artifacts/s for the latency run")
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--latency-runs", type=int, default=3)
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="small counts, one run")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=("throughput", "latency", "memory", "pipeline", "scaling"),
    )
    parser.add_argument("--workers", type=int, default=2, help="workers of the scaling run")
    parser.add_argument(
        "--scale-count", type=int, default=100_000, help="artifacts per scaling run"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.naive_count, args.runs = 20_000, 5_000, 1
        args.latency_seconds, args.latency_runs, args.pending = 5.0, 1, 10_000
        args.scale_count = 20_000
    catalog = load_catalog(DEFAULT_SCHEMAS_DIR)
    work = Path(os.environ.get("BENCH_WORK_DIR", "/tmp")) / f"velocity-bench-{uuid.uuid4().hex[:6]}"
    work.mkdir(parents=True)
    figures: dict[str, object] = {"cpus": os.cpu_count(), "load_before": load()}
    with kafka() as bootstrap:
        log(f"broker {bootstrap}; worker logs in {work}")
        if "throughput" not in args.skip:
            result = measure_throughput_split(bootstrap, catalog, args, work)
            gw, naive, raw = (
                statistics.median(v) for v in (result.gateway, result.naive, result.raw)
            )
            figures.update(
                gateway_msgs_per_s=round(gw),
                naive_faust_msgs_per_s=round(naive),
                raw_confluent_msgs_per_s=round(raw),
                gateway_over_naive=round(gw / naive, 2),
                gateway_over_raw=round(gw / raw, 3),
                runs={"gateway": result.gateway, "naive": result.naive, "raw": result.raw},
            )
            print(f"throughput (median of {args.runs}, ~1 KB {FAMILY}):")
            print(f"  gateway           {gw:10,.0f} msg/s   target >= 10,000 and >= 4x naive")
            print(
                f"  naive faust agent {naive:10,.0f} msg/s   (issue 6 measured ~{EXPECTED_NAIVE:,})"
            )
            print(f"  raw confluent     {raw:10,.0f} msg/s   (issue 6 measured ~{EXPECTED_RAW:,})")
            print(f"  gateway / naive   {gw / naive:10.2f}x")
            print(f"  gateway / raw     {gw / raw:10.3f}x")
        if "latency" not in args.skip:
            # Latency on a shared 2-core machine swings from run to run: alternate the raw
            # loop (the floor) and the gateway, and report the median run of each.
            runs: dict[str, list[tuple[float, float, float]]] = {"raw": [], "gateway": []}
            samples = 0
            for run in range(args.latency_runs):
                for system in ("raw", "gateway"):
                    values = measure_latency(
                        bootstrap, catalog, args.rate, args.latency_seconds, work, system
                    )
                    p50, p99 = percentile(values, 0.50), percentile(values, 0.99)
                    runs[system].append((p99, p50, max(values)))
                    samples = len(values)
                    log(f"latency run {run + 1} {system:8s} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
            (g99, g50, gmax), (r99, r50, _) = (
                sorted(runs[s])[len(runs[s]) // 2] for s in ("gateway", "raw")
            )
            figures.update(
                latency_ms={"p50": round(g50, 1), "p99": round(g99, 1), "max": round(gmax, 1)},
                raw_latency_ms={"p50": round(r50, 1), "p99": round(r99, 1)},
                latency_runs={s: [round(r[0], 1) for r in v] for s, v in runs.items()},
                latency_rate=args.rate,
            )
            print(
                f"end-to-end latency at {args.rate}/s, median of {args.latency_runs} runs of "
                f"{samples} artifacts:"
            )
            print(f"  gateway            p50 {g50:6.1f} ms   p99 {g99:6.1f} ms (target < 100)")
            print(f"  raw confluent loop p50 {r50:6.1f} ms   p99 {r99:6.1f} ms (the floor here)")
        if "memory" not in args.skip:
            peak, idle = peak_rss_with_pending(bootstrap, catalog, args.pending, work)
            figures.update(
                peak_rss_mb=round(peak / 2**20),
                idle_rss_mb=round(idle / 2**20),
                pending=args.pending,
            )
            print(
                f"worker RSS: {idle / 2**20:.0f} MB idle, peak {peak / 2**20:.0f} MB with "
                f"{args.pending:,} pending ~1 KB proposals (target < 500 MB)"
            )
        if "pipeline" not in args.skip:
            figures.update(measure_pipeline(catalog, args.runs))
            figures.update(measure_digesting(catalog, args.runs))
        if "scaling" not in args.skip:
            figures.update(report_scaling(measure_scaling(bootstrap, catalog, args, work), args))
    figures["load_after"] = load()
    print(f"load average (1, 5, 15 min): before {figures['load_before']}, after {load()}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


class _TwoPassSerde(AvroSerde):
    """The decode the gateway used before: the plain reader-schema record, then pydantic."""

    def decode(self, payload: bytes | None, family: Family, major: int | None = None) -> Artifact:
        decoded = self.decode_record(payload, family, major)
        return validate_artifact(self.model(family.name, decoded.major), decoded.record)


def pipelines_and_messages(
    catalog: Catalog, count: int
) -> tuple[dict[str, Pipeline], list[InboundMessage]]:
    """The pipeline as built and with the two-pass decode, and ``count`` valid inputs."""
    prefix = "benchpipe"
    artifacts = Artifacts(catalog, prefix)
    messages = [
        InboundMessage(artifacts.ingress, i % 6, i, key, value, (), 0)
        for i, (key, value) in enumerate(artifacts.one(i) for i in range(count))
    ]
    pipelines = {}
    for name, kind in (("one_pass", AvroSerde), ("two_pass", _TwoPassSerde)):
        serde = kind(catalog, artifacts.serde.resolver, prefix)
        pipelines[name] = Pipeline(catalog, serde, prefix, gateway_version="bench", clock=lambda: 0)
    return pipelines, messages


# Routes that still decode the plain record too (a content digest): a proposal, a batch.
DIGESTING = ("OracleWritebackProposal", "RawImportBatch")


def measure_digesting(catalog: Catalog, runs: int, count: int = 3_000) -> dict[str, object]:
    """µs per record of ``Pipeline.process`` on the routes that digest content, which decode
    the model and then the plain record: one pass plus that against the two passes."""
    prefix = "benchdigest"
    rules = SigningKey.generate(RULES_SIGNER, "bench-rules")
    figures: dict[str, object] = {}
    for name in DIGESTING:
        family = catalog.family(name)
        writer = AvroSerde(catalog, preregistered_resolver(catalog, prefix), prefix)
        base = example(name)
        messages = []
        for i in range(count):
            key = f"{getattr(base, family.key_field)}-{i}"
            artifact = base.model_copy(
                update={"artifact_id": f"art:bench:{uuid.uuid4().hex}", family.key_field: key}
            )
            value = writer.encode(artifact)
            topic = family.ingress_topic(prefix)
            messages.append(InboundMessage(topic, i % 6, i, key.encode(), value, (), 1))
        times: dict[str, list[float]] = {"one_pass": [], "two_pass": []}
        pipelines = {
            label: Pipeline(
                catalog,
                kind(catalog, writer.resolver, prefix),
                prefix,
                gateway_version="bench",
                clock=lambda: 0,
                verify_keys=KeyRing([rules.verify_key]),
                rule_signer=rules,
            )
            for label, kind in (("one_pass", AvroSerde), ("two_pass", _TwoPassSerde))
        }
        for _ in range(runs * 3):
            for label, pipeline in pipelines.items():
                state = GatewayState()
                started = time.process_time()
                for message in messages:
                    outcome = pipeline.process(message, state)
                times[label].append((time.process_time() - started) / count * 1e6)
        one, two = (statistics.median(times[n]) for n in ("one_pass", "two_pass"))
        print(
            f"  {name} ({outcome.route.value}): one pass + plain record {one:6.1f} µs/record, "
            f"two passes {two:6.1f}, ratio {one / two:.2f}x"
        )
        figures[name] = {"one_pass": round(one, 1), "two_pass": round(two, 1)}
    return {"digesting_us_per_record": figures}


def pipeline_loop(name: str, count: int) -> None:
    """Route the first ``count`` of 2,001 inputs (one more warms the reader): run under
    ``valgrind --tool=callgrind`` with ``count`` 0 and N, the difference / N is the
    instructions a record, whatever the load (see the module docstring)."""
    pipelines, messages = pipelines_and_messages(load_catalog(DEFAULT_SCHEMAS_DIR), 2001)
    pipeline, state = pipelines[name], GatewayState()
    pipeline.process(messages[-1], state)
    for message in messages[:count]:
        pipeline.process(message, state)


def measure_pipeline(catalog: Catalog, runs: int, count: int = 20_000) -> dict[str, object]:
    """CPU µs per record of ``Pipeline.process`` on valid ~1 KB InteractionBundles (process
    time: a busy machine descheduling this process does not count)."""
    pipelines, messages = pipelines_and_messages(catalog, count)
    times: dict[str, list[float]] = {name: [] for name in pipelines}
    for _ in range(runs * 5):
        for name, pipeline in pipelines.items():
            state = GatewayState()
            started = time.process_time()
            for message in messages:
                pipeline.process(message, state)
            times[name].append((time.process_time() - started) / count * 1e6)
    one, two = (statistics.median(times[n]) for n in ("one_pass", "two_pass"))
    print(f"pipeline in-process, CPU time, accept route, median of {runs * 5} x {count:,}:")
    print(f"  one pass (as built)   {one:6.1f} µs/record")
    print(f"  two passes (before)   {two:6.1f} µs/record   ratio {one / two:.2f}x")
    return {
        "pipeline_us_per_record": {"one_pass": round(one, 1), "two_pass": round(two, 1)},
        "pipeline_ratio": round(one / two, 2),
    }


def load() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def measure_throughput_split(
    bootstrap: str, catalog: Catalog, args: argparse.Namespace, work: Path
) -> Throughput:
    """The naive agent is ~40x slower: give it fewer records so a run stays in minutes."""
    result = Throughput([], [], [])
    for run in range(args.runs):
        for system, count in (
            ("gateway", args.count),
            ("naive", args.naive_count),
            ("raw", args.count),
        ):
            one = measure_one(bootstrap, catalog, system, count, run, args.runs, work)
            getattr(result, system).append(one)
    return result


def measure_one(
    bootstrap: str,
    catalog: Catalog,
    system: str,
    count: int,
    run: int,
    runs: int,
    work: Path,
    workers: int = 1,
) -> float:
    """Records per second through ``system`` on a backlog of ``count``, first to last output.

    ``workers`` > 1 (the gateway only) starts that many worker processes at once, with one
    environment and so one consumer group; they split the ingress partitions.
    """
    prefix = f"bench{run}{system}{workers}w{uuid.uuid4().hex[:6]}"
    settings = settings_for(bootstrap, prefix)
    provision(settings, catalog)
    artifacts = Artifacts(catalog, prefix)
    records = [artifacts.one(i) for i in range(count)]
    publish_backlog(bootstrap, artifacts.ingress, records)
    partitions = artifacts.family.partitions
    topics = [artifacts.ingress, artifacts.accepted, str(partitions)]
    commands = {
        "gateway": gateway_command(),
        "naive": [sys.executable, str(NAIVE_AGENT), *topics],
        # The raw loop runs in its own process too, so it never shares a GIL with the reader.
        "raw": [sys.executable, __file__, "--raw-loop", *topics, str(count)],
    }
    env = worker_env(settings)
    logs = [work / f"{prefix}-{n}.log" for n in range(workers)]
    pids: list[int] = [*BROKER_PID[:1]]
    at_first: list[float] = []

    def cpu_now() -> list[float]:
        # The broker, this reader, then each process under test.
        return [*(cpu_seconds(pid) for pid in pids[:1]), time.process_time()] + [
            cpu_seconds(pid) for pid in pids[1:]
        ]

    with ExitStack() as running:
        for path in logs:
            command = commands[system]
            if PROFILE and system == "gateway":
                # cProfile of each worker, written when it stops (pstats reads it).
                profile = ["-m", "cProfile", "-o", str(path.with_suffix(".prof"))]
                command = [command[0], *profile, *command[1:]]
            process = running.enter_context(subprocess_running(command, env, path))
            pids.append(process.pid)
        if not BROKER_PID:
            pids.insert(0, os.getpid())  # no broker here: a placeholder, reported as 0
        arrivals: list[float] = []
        seconds = time_outputs(
            bootstrap,
            artifacts.accepted,
            partitions,
            count,
            900,
            on_first=lambda: at_first.extend(cpu_now()),
            arrivals=arrivals,
        )
        at_last = cpu_now()  # before the stop (ExitStack stops the processes after this)
    rate = count / seconds
    LAST_STEADY[:] = [steady_rate(arrivals)]
    # CPU µs per record between the first and the last output (start-up and recovery left
    # out): the broker, this reader, each process under test. Immune to load, unlike rates.
    used = [round((b - a) / count * 1e6, 1) for a, b in zip(at_first, at_last, strict=True)]
    LAST_CPU.clear()
    LAST_CPU.update(broker=used[0] if BROKER_PID else 0.0, reader=used[1], workers=used[2:])
    label = system if workers == 1 else f"{system} x{workers}"
    extra = ""
    if system == "gateway":
        # A worker logs an assignment per rebalance: more than one each means the group
        # rebalanced during the run, and the figure includes that pause.
        joins = [_assignments(path) for path in logs]
        shares = [_inputs(path) for path in logs]
        extra = f"  (assignments per worker: {joins}, inputs per worker: {shares})"
    steady = f"{LAST_STEADY[0]:,.0f}" if LAST_STEADY[0] else "-"
    log(
        f"run {run + 1}/{runs} {label:12s} {count:7d} records {rate:10,.0f} msg/s "
        f"(middle 80%: {steady} msg/s){extra}; CPU µs/record {LAST_CPU}"
    )
    delete_topics(settings, catalog, [])
    return rate


LAST_CPU: dict[str, object] = {}
# The last run's rate over the middle of its outputs (steady_rate), if measurable.
LAST_STEADY: list[float | None] = [None]


def steady_rate(arrivals: list[float], share: float = 0.8) -> float | None:
    """Records per second over the middle ``share`` of the outputs (by arrival time): the
    rate without the start of a run (a worker still joining, the first fetches) and its end
    (a worker or a partition out of records first). None for too few outputs to tell."""
    if len(arrivals) < 100:
        return None
    ordered = sorted(arrivals)
    cut = int(len(ordered) * (1 - share) / 2)
    first, last = ordered[cut], ordered[-cut - 1]
    if last <= first:
        return None
    return (len(ordered) - 2 * cut) / (last - first)


def _inputs(path: Path) -> int:
    """How many inputs a worker routed (its stop summary; 0 when it wrote none)."""
    found = re.findall(r"(\d+) inputs in \d+ batches", path.read_text(errors="replace"))
    return int(found[-1]) if found else 0


def _assignments(path: Path) -> int:
    text = path.read_text(errors="replace")
    return text.count("newly assigned partitions")


@dataclass
class Scaling:
    one: list[float]
    many: list[float]
    loads: list[tuple[float, float, float]]
    # Per run: LAST_CPU (broker, reader, workers: CPU µs per record) and the group's size.
    cpu: list[dict[str, object]]
    # Per run, in the order of ``one`` and ``many``: the rate over the middle 80% of outputs.
    steady_one: list[float | None] = field(default_factory=list)
    steady_many: list[float | None] = field(default_factory=list)

    def one_runs(self) -> list[tuple[float, dict[str, object]]]:
        """Each one-worker run's rate with its CPU per record."""
        alone = [cpu for cpu in self.cpu if cpu["group"] == 1]
        return list(zip(self.one, alone, strict=True))


def cores_busy(rate: float, cpu: dict[str, object]) -> float:
    """Cores a run kept busy: records per second times the CPU µs per record of the broker,
    the reader and every process under test."""
    broker, reader, workers = cpu["broker"], cpu["reader"], cpu["workers"]
    assert isinstance(broker, float) and isinstance(reader, float) and isinstance(workers, list)
    return rate * (broker + reader + sum(workers)) / 1e6


def measure_scaling(
    bootstrap: str, catalog: Catalog, args: argparse.Namespace, work: Path
) -> Scaling:
    """One worker, then ``args.workers`` in one group, on equal backlogs; alternating, so a
    change in the machine's load falls on both."""
    result = Scaling([], [], [load()], [])
    for run in range(args.runs):
        for workers in (1, args.workers):
            rate = measure_one(
                bootstrap, catalog, "gateway", args.scale_count, run, args.runs, work, workers
            )
            (result.one if workers == 1 else result.many).append(rate)
            (result.steady_one if workers == 1 else result.steady_many).append(LAST_STEADY[0])
            result.cpu.append({**LAST_CPU, "group": workers})
        result.loads.append(load())
    return result


def report_scaling(result: Scaling, args: argparse.Namespace) -> dict[str, object]:
    one, many = statistics.median(result.one), statistics.median(result.many)
    per_run = [round(m / o, 2) for o, m in zip(result.one, result.many, strict=True)]
    print(
        f"scaling (median of {args.runs}, {args.scale_count:,} records, "
        f"1-min load {min(x[0] for x in result.loads)}-{max(x[0] for x in result.loads)}):"
    )
    print(f"  one gateway worker   {one:10,.0f} msg/s")
    print(f"  {args.workers} workers, one group {many:10,.0f} msg/s")
    print(f"  ratio                {many / one:10.2f}x   target >= 1.6x (runs: {per_run})")
    # The most any number of workers can give here: the machine's cores over the cores the
    # one-worker run kept busy (its rate times the CPU per record of the broker, the reader and
    # the worker), if a record cost no more CPU with more workers.
    busy = statistics.median(cores_busy(rate, cpu) for rate, cpu in result.one_runs())
    cpus = os.cpu_count() or 1
    print(
        f"  ceiling              {cpus / busy:10.2f}x   ({cpus} cores; the one-worker run kept "
        f"{busy:.2f} busy)"
    )
    # The same runs over the middle 80% of their outputs: without the group's start (one
    # worker flowing before the other) and end (one out of records first).
    pairs = [(o, m) for o, m in zip(result.steady_one, result.steady_many, strict=True) if o and m]
    steady = [round(m / o, 2) for o, m in pairs]
    if steady:
        print(f"  middle 80% of outputs {statistics.median(steady):9.2f}x   (runs: {steady})")
    return {
        "scaling": {
            "workers": args.workers,
            "one_msgs_per_s": round(one),
            "many_msgs_per_s": round(many),
            "ratio": round(many / one, 2),
            "per_run_ratio": per_run,
            "one_worker_cores_busy": round(busy, 2),
            "middle_80_per_run_ratio": steady,
            "ceiling": round(cpus / busy, 2),
            "runs": {"one": result.one, "many": result.many},
            "loads": result.loads,
            "cpu_us_per_record": result.cpu,
        }
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--pipeline-loop"]:
        pipeline_loop(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    if sys.argv[1:2] == ["--raw-loop"]:
        source, target, partitions, count = sys.argv[2:6]
        raw_loop(os.environ["KAFKA_BOOTSTRAP_SERVERS"], source, target, int(partitions), int(count))
        sys.exit(0)
    sys.exit(main())
