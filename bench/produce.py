"""Validated-artifact publish rate against raw confluent-kafka produce of the same bytes.

Both sides run in the same process against the same broker and topic layout, with the same
producer configuration: the raw side produces pre-encoded bytes with the same keys, the
validated side pays for validation, Avro encoding, topic and key lookup, headers and a
delivery future per message. Each side runs several times, alternating; medians are compared.

    python bench/produce.py [--messages 20000] [--runs 5] [--size 1024]

Uses KAFKA_BOOTSTRAP_SERVERS when set, else starts the embedded Tansu broker (memory only).
Target: ratio >= 0.5 for a 1 KB artifact.
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack

from confluent_kafka import Producer

from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.metadata import Artifact, validate_artifact
from velocity_stream.kafka import topics
from velocity_stream.kafka.broker import MEMORY_ONLY_WARNING, EmbeddedBroker
from velocity_stream.kafka.config import producer_config
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import Settings, load_settings

FAMILY = "InteractionBundle"
TARGET_RATIO = 0.5
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


def run_raw(producer: Producer, topic: str, encoded: list[tuple[bytes, bytes]]) -> float:
    errors: list[object] = []

    def on_delivery(error: object, _message: object) -> None:
        if error is not None:
            errors.append(error)

    started = time.perf_counter()
    for key, value in encoded:
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    remaining = producer.flush(120)
    elapsed = time.perf_counter() - started
    if remaining or errors:
        raise RuntimeError(f"raw produce: {remaining} undelivered, {len(errors)} failed")
    return len(encoded) / elapsed


def measure(settings: Settings, catalog: Catalog, args: argparse.Namespace) -> int:
    admin = topics.TopicAdmin(settings)
    specs = catalog.topic_specs(settings.topic_prefix)
    family = catalog.family(FAMILY)
    topic = family.ingress_topic(settings.topic_prefix)
    topics.apply(admin, [s for s in specs if s.name == topic], 1)
    serde = AvroSerde(catalog, InMemorySchemaResolver(), settings.topic_prefix)
    artifacts = sized_artifacts(serde, args.messages, args.size)
    encoded = [
        (ArtifactProducer.key_of(family, artifact), serde.encode(artifact))
        for artifact in artifacts
    ]
    size = statistics.median(len(value) for _, value in encoded)
    raw = Producer(dict(producer_config(settings, client_id="bench-raw")))
    validated_rates: list[float] = []
    bulk_rates: list[float] = []
    raw_rates: list[float] = []
    # The pre-built artifacts are fixtures, not work: keep the garbage collector from
    # re-scanning them on every collection the measured loops trigger (a producer that
    # streams its input never holds them all).
    gc.collect()
    gc.freeze()
    try:
        with ArtifactProducer(settings, catalog, serde, client_id="bench-validated") as producer:
            # Warm both paths (connections, metadata, schema ids, parsed schemas).
            run_validated(producer, artifacts[:500])
            run_bulk(producer, artifacts[:500])
            run_raw(raw, topic, encoded[:500])
            for run in range(args.runs):
                sides: list[tuple[list[float], Callable[[], float]]] = [
                    (validated_rates, lambda: run_validated(producer, artifacts)),
                    (bulk_rates, lambda: run_bulk(producer, artifacts)),
                    (raw_rates, lambda: run_raw(raw, topic, encoded)),
                ]
                # Rotate the order so no side always runs first (or last) in a round.
                sides = sides[run % 3 :] + sides[: run % 3]
                for rates, side in sides:
                    rates.append(side())
        sample = artifacts[:5000]
        breakdown = {
            "validate (dump + pydantic)": cost_us(
                lambda a: validate_artifact(type(a), a.to_avro()), sample
            ),
            "encode (serde.encode: dump + fastavro + frame)": cost_us(serde.encode, sample),
        }
    finally:
        gc.unfreeze()
        admin.delete([topic])

    validated, baseline = statistics.median(validated_rates), statistics.median(raw_rates)
    bulk = statistics.median(bulk_rates)
    ratio = validated / baseline
    print(f"broker: {settings.kafka_bootstrap_servers}  family: {FAMILY}  value: {size:.0f} B")
    print(f"messages per run: {args.messages}  runs: {args.runs} (medians)")
    print(f"raw confluent-kafka produce (pre-encoded): {baseline:>10,.0f} msg/s  (baseline)")
    print(f"ArtifactProducer.publish (validated):      {validated:>10,.0f} msg/s  (a future each)")
    print(f"ArtifactProducer.publish_many (validated): {bulk:>10,.0f} msg/s  (bulk API)")
    print(f"ratio publish / raw:      {ratio:.2f}  (target >= {TARGET_RATIO})")
    print(f"ratio publish_many / raw: {bulk / baseline:.2f}")
    print("where a publish goes, per message (same process, no Kafka):")
    for step, micros in breakdown.items():
        print(f"  {step:<48} {micros:6.1f} us")
    print(f"  {'raw produce, all in (1 / raw rate)':<48} {1e6 / baseline:6.1f} us")
    print(f"  {'publish, all in (1 / publish rate)':<48} {1e6 / validated:6.1f} us")
    print("raw runs:          " + ", ".join(f"{r:,.0f}" for r in raw_rates))
    print("publish runs:      " + ", ".join(f"{r:,.0f}" for r in validated_rates))
    print("publish_many runs: " + ", ".join(f"{r:,.0f}" for r in bulk_rates))
    return 0 if ratio >= TARGET_RATIO else 1


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
