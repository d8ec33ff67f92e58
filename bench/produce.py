"""Validated-artifact publish rate against raw confluent-kafka produce of the same bytes.

All sides run in the same process against the same broker and topic, with the same producer
configuration. The baseline produces the very messages publish sends (topic, key, encoded
value and envelope headers, built before the clock starts); a second raw side drops the
headers. The validated sides pay for the contract check, Avro encoding, topic and key lookup
and building the headers, then for how the delivery comes back: a Future per message
(publish), a callback (publish with on_delivery) or the bulk API's counters (publish_many).
Each round runs every side once, in a rotating order; a ratio is the median over rounds of
the round's ratio.

    python bench/produce.py [--messages 20000] [--runs 5] [--size 1024]

Uses KAFKA_BOOTSTRAP_SERVERS when set, else starts the embedded Tansu broker (memory only).
Target: ratio >= 0.5 for a 1 KB artifact against the same messages; the exit status is 0 when
at least one of the validated ways of publishing reaches it.
"""

from __future__ import annotations

import argparse
import gc
import io
import random
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack

import fastavro
from confluent_kafka import Producer

from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.metadata import Artifact, ensure_valid, validate_artifact
from velocity_stream.kafka import topics
from velocity_stream.kafka.broker import MEMORY_ONLY_WARNING, EmbeddedBroker
from velocity_stream.kafka.config import producer_config
from velocity_stream.kafka.producer import ArtifactProducer, Delivery, DeliveryError, Outgoing
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver, frame
from velocity_stream.serde.compiled import compile_writer
from velocity_stream.settings import Settings, load_settings

FAMILY = "InteractionBundle"
TARGET_RATIO = 0.5
SIDES = {
    "raw": "raw confluent-kafka produce, same messages (baseline)",
    "raw_bare": "raw confluent-kafka produce, key and value only",
    "publish": "ArtifactProducer.publish (validated, a future each)",
    "publish_callback": "ArtifactProducer.publish (validated, on_delivery callback)",
    "publish_many": "ArtifactProducer.publish_many (validated, bulk API)",
}
VALIDATED = ("publish", "publish_callback", "publish_many")
# Words for realistic summaries: prose compresses about 2x; identical padding would
# compress to nothing and flatter the raw side.
_VOCABULARY = re.findall(
    r"\S+",
    """client call follow-up proposal budget site visit salt lake tower apartment 3BHK loan
    approval broker viewing parking school metro family discussed wants prefers price
    negotiation possession date floor east-facing amenities gym pool clubhouse Kolkata
    Rajarhat Newtown sector agreement token advance registration documents""",
)


def prose(rng: random.Random, length: int) -> str:
    """Text of about ``length`` characters made of random words."""
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(_VOCABULARY))
    return " ".join(words)[:length]


def sized_artifacts(serde: AvroSerde, count: int, size: int) -> list[Artifact]:
    """``count`` distinct InteractionBundles whose encoded form is about ``size`` bytes.

    Every artifact is rebuilt through validation, so each one is a real, valid model with its
    own summary text (identical padding would compress away and flatter the raw side).
    """
    rng = random.Random(42)
    base = example(FAMILY)
    overhead = len(serde.encode(base.model_copy(update={"summary": ""})))
    data = base.to_avro()
    model = type(base)
    artifacts: list[Artifact] = []
    for i in range(count):
        data.update(
            artifact_id=f"art:bench:{i}",
            client_ref=f"client:bench-{i % 997}",
            summary=prose(rng, max(0, size - overhead - 8)),
        )
        artifacts.append(validate_artifact(model, data))
    return artifacts


def run_validated(producer: ArtifactProducer, artifacts: list[Artifact]) -> float:
    started = time.perf_counter()
    for artifact in artifacts:
        producer.publish(artifact)
    remaining = producer.flush(120)
    elapsed = time.perf_counter() - started
    if remaining:
        raise RuntimeError(f"{remaining} validated messages not delivered")
    return len(artifacts) / elapsed


def run_callback(producer: ArtifactProducer, artifacts: list[Artifact]) -> float:
    failures: list[DeliveryError] = []

    def on_delivery(error: DeliveryError | None, _delivery: Delivery | None) -> None:
        if error is not None:
            failures.append(error)

    started = time.perf_counter()
    for artifact in artifacts:
        producer.publish(artifact, on_delivery=on_delivery)
    remaining = producer.flush(120)
    elapsed = time.perf_counter() - started
    if remaining or failures:
        raise RuntimeError(f"{remaining} undelivered, {len(failures)} failed")
    return len(artifacts) / elapsed


def run_bulk(producer: ArtifactProducer, artifacts: list[Artifact]) -> float:
    started = time.perf_counter()
    result = producer.publish_many(artifacts, flush_timeout=120)
    elapsed = time.perf_counter() - started
    if not result.ok or result.delivered != len(artifacts):
        raise RuntimeError(f"bulk publish: {result.delivered} of {len(artifacts)} delivered")
    return len(artifacts) / elapsed


def cost_us(work: Callable[[Artifact], object], artifacts: list[Artifact]) -> float:
    """Median over three passes of the per-artifact cost of ``work``, in microseconds."""
    passes = []
    for _ in range(3):
        started = time.perf_counter()
        for artifact in artifacts:
            work(artifact)
        passes.append((time.perf_counter() - started) / len(artifacts) * 1e6)
    return statistics.median(passes)


def run_raw(producer: Producer, messages: list[Outgoing], with_headers: bool) -> float:
    errors: list[object] = []

    def on_delivery(error: object, _message: object) -> None:
        if error is not None:
            errors.append(error)

    started = time.perf_counter()
    for topic, key, value, headers in messages:
        while True:
            try:
                if with_headers:
                    producer.produce(
                        topic, value=value, key=key, headers=headers, on_delivery=on_delivery
                    )
                else:
                    producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    remaining = producer.flush(120)
    elapsed = time.perf_counter() - started
    if remaining or errors:
        raise RuntimeError(f"raw produce: {remaining} undelivered, {len(errors)} failed")
    return len(messages) / elapsed


def other_encoders(serde: AvroSerde, catalog: Catalog) -> dict[str, Callable[[Artifact], bytes]]:
    """The encoders serde.encode's native writer stands in for, framed the same way."""
    version = catalog.family(FAMILY).version(example(FAMILY).SCHEMA_VERSION)
    parsed = fastavro.parse_schema(version.schema)
    header = frame(serde.schema_id(version), b"")
    python_writer = compile_writer(version.schema, native=False)

    def with_fastavro(artifact: Artifact) -> bytes:
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, parsed, artifact.to_avro())
        return header + buffer.getvalue()

    return {
        "encode: Python writer": lambda artifact: python_writer(artifact, header),
        "encode: model_dump + fastavro": with_fastavro,
    }


def measure(settings: Settings, catalog: Catalog, args: argparse.Namespace) -> int:
    admin = topics.TopicAdmin(settings)
    specs = catalog.topic_specs(settings.topic_prefix)
    topic = catalog.family(FAMILY).ingress_topic(settings.topic_prefix)
    topics.apply(admin, [s for s in specs if s.name == topic], 1)
    serde = AvroSerde(catalog, InMemorySchemaResolver(), settings.topic_prefix)
    artifacts = sized_artifacts(serde, args.messages, args.size)
    raw = Producer(dict(producer_config(settings, client_id="bench-raw")))
    rates: dict[str, list[float]] = {side: [] for side in SIDES}
    try:
        with ArtifactProducer(settings, catalog, serde, client_id="bench-validated") as producer:
            # The raw sides send exactly what publish sends: same topic, key, value, headers.
            messages = [producer.prepare(artifact) for artifact in artifacts]
            # The pre-built artifacts and messages are fixtures, not work: keep the garbage
            # collector from re-scanning them on every collection the measured loops trigger
            # (a producer that streams its input never holds them all). Sides that allocate
            # more, like a Future per message, would otherwise pay for the fixtures' size.
            gc.collect()
            gc.freeze()
            runs: dict[str, Callable[[int], float]] = {
                "publish": lambda n: run_validated(producer, artifacts[:n]),
                "publish_callback": lambda n: run_callback(producer, artifacts[:n]),
                "publish_many": lambda n: run_bulk(producer, artifacts[:n]),
                "raw": lambda n: run_raw(raw, messages[:n], with_headers=True),
                "raw_bare": lambda n: run_raw(raw, messages[:n], with_headers=False),
            }
            for run in runs.values():  # warm up: connections, metadata, schema ids, writers
                run(500)
            order = list(SIDES)
            for run_index in range(args.runs):
                # Rotate the order so no side always runs first (or last) in a round.
                shift = run_index % len(order)
                for side in order[shift:] + order[:shift]:
                    rates[side].append(runs[side](len(artifacts)))
        sample = artifacts[:5000]
        unvalidated = [a.model_copy(update={"artifact_id": a.artifact_id}) for a in sample]
        breakdown = {
            "contract check of a validated artifact": cost_us(ensure_valid, sample),
            "contract check of an unvalidated one (rebuild)": cost_us(ensure_valid, unvalidated),
            "encode: native writer (serde.encode)": cost_us(serde.encode, sample),
        }
        for label, encode in other_encoders(serde, catalog).items():
            breakdown[label] = cost_us(encode, sample)
    finally:
        gc.unfreeze()
        admin.delete([topic])

    median = {side: statistics.median(values) for side, values in rates.items()}

    def ratio(fast: str, base: str) -> float:
        # Paired: each round's sides ran back to back, so a round's ratio cancels most of
        # what other load on the machine did to it; the median is over rounds.
        return statistics.median(f / b for f, b in zip(rates[fast], rates[base], strict=True))

    best = max(ratio(side, "raw") for side in VALIDATED)
    size = statistics.median(len(m.value) for m in messages)
    print(f"broker: {settings.kafka_bootstrap_servers}  family: {FAMILY}  value: {size:.0f} B")
    print(f"messages per run: {args.messages}  runs: {args.runs} (medians)")
    for side, label in SIDES.items():
        print(f"{label:<58} {median[side]:>10,.0f} msg/s")
    for fast in VALIDATED:
        for base, against in (("raw", "same messages"), ("raw_bare", "key and value only")):
            value = ratio(fast, base)
            verdict = "met" if value >= TARGET_RATIO else "not met"
            target = f"  (target >= {TARGET_RATIO}: {verdict})" if base == "raw" else ""
            print(f"ratio {fast} / raw, {against}:".ljust(50) + f"{value:.2f}{target}")
    print("where a publish goes, per message (same process, no Kafka):")
    for step, micros in breakdown.items():
        print(f"  {step:<52} {micros:6.1f} us")
    for side in SIDES:
        print(f"  {'all in: ' + side:<52} {1e6 / median[side]:6.1f} us")
    for side, values in rates.items():
        print(f"{side + ' runs:':<18}" + ", ".join(f"{r:,.0f}" for r in values))
    return 0 if best >= TARGET_RATIO else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=1024, help="encoded artifact size in bytes")
    args = parser.parse_args()
    settings = load_settings()
    catalog = load_catalog(settings.schemas_dir)
    with ExitStack() as stack:
        if not settings.kafka_bootstrap_servers:
            broker = stack.enter_context(EmbeddedBroker())
            print(f"note: {MEMORY_ONLY_WARNING}", file=sys.stderr)
            settings = settings.model_copy(
                update={"kafka_bootstrap_servers": broker.bootstrap_servers}
            )
        settings = settings.model_copy(update={"topic_prefix": f"bench{uuid.uuid4().hex[:8]}"})
        return measure(settings, catalog, args)


if __name__ == "__main__":
    sys.exit(main())
