"""Registry benchmark: schema-id lookups per second with a warm vs a cold client cache, and
register latency, against the registry served over HTTP with its state in Kafka.

Baseline beside each figure: confluent-kafka's own SchemaRegistryClient doing the same against
the same registry. Kafka is KAFKA_BOOTSTRAP_SERVERS, else the embedded Tansu broker.

    python bench/registry.py [--runs 5] [--schemas 50] [--lookups 20000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from collections.abc import Callable

from confluent_kafka.schema_registry import SchemaRegistryClient

from velocity_stream.kafka.broker import EmbeddedBroker
from velocity_stream.registry.client import RegistryClient, RegistrySchemaResolver
from velocity_stream.registry.server import BackgroundRegistry, ServeOptions, build_service
from velocity_stream.registry.store import StoreOptions
from velocity_stream.settings import Settings, load_settings


def schema(n: int, tag: str) -> str:
    return json.dumps(
        {
            "type": "record",
            "name": f"bench.S{tag}{n}",
            "fields": [{"name": f"f{i}", "type": "string", "default": ""} for i in range(12)],
        }
    )


def rate(count: int, action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--schemas", type=int, default=50)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--cold-lookups", type=int, default=500)
    args = parser.parse_args()

    settings = load_settings()
    broker = None
    if not settings.kafka_bootstrap_servers:
        broker = EmbeddedBroker().start()
        settings = Settings.model_validate(
            {"kafka_bootstrap_servers": broker.bootstrap_servers, "fetch_wait_max_ms": 10}
        )
    options = ServeOptions(store=StoreOptions(topic=f"_bench_schemas_{uuid.uuid4().hex[:8]}"))
    registry = BackgroundRegistry(build_service(settings, options)).start()
    try:
        run(registry.url, args)
    finally:
        registry.stop()
        if broker is not None:
            broker.stop()


def run(url: str, args: argparse.Namespace) -> None:
    client = RegistryClient(url)
    # --- register latency: each run registers fresh schemas, one subject per schema --------
    register_ms: list[float] = []
    ids: list[int] = []
    for run_index in range(args.runs):
        samples = []
        for n in range(args.schemas):
            text = schema(n, f"r{run_index}")
            start = time.perf_counter()
            ids.append(client.register(f"bench-{run_index}-{n}-value", text))
            samples.append((time.perf_counter() - start) * 1000)
        register_ms.append(statistics.median(samples))
    again_ms = []
    for n in range(args.schemas):  # the same schema again: no write, answered from state
        start = time.perf_counter()
        client.register(f"bench-0-{n}-value", schema(n, "r0"))
        again_ms.append((time.perf_counter() - start) * 1000)

    # --- lookups -------------------------------------------------------------------------
    resolver = RegistrySchemaResolver(client)
    confluent = SchemaRegistryClient({"url": url})
    warm, cold, c_warm, c_cold = [], [], [], []
    for _ in range(args.runs):
        for i in ids:
            resolver.schema_by_id(i)
            confluent.get_schema(i)

        def ours_warm() -> None:
            for k in range(args.lookups):
                resolver.schema_by_id(ids[k % len(ids)])

        def theirs_warm() -> None:
            for k in range(args.lookups):
                confluent.get_schema(ids[k % len(ids)])

        def ours_cold() -> None:
            for k in range(args.cold_lookups):
                resolver.clear()
                resolver.schema_by_id(ids[k % len(ids)])

        def theirs_cold() -> None:
            for k in range(args.cold_lookups):
                confluent.clear_caches()  # type: ignore[no-untyped-call]
                confluent.get_schema(ids[k % len(ids)])

        warm.append(rate(args.lookups, ours_warm))
        c_warm.append(rate(args.lookups, theirs_warm))
        cold.append(rate(args.cold_lookups, ours_cold))
        c_cold.append(rate(args.cold_lookups, theirs_cold))

    med = statistics.median
    print(f"registry at {url}, state in Kafka; medians of {args.runs} runs")
    print(f"register (new schema, new subject)  {med(register_ms):8.2f} ms")
    print(f"register (already registered)       {med(again_ms):8.2f} ms")
    print(
        f"lookups/s warm cache   ours {med(warm):>12,.0f}   confluent-kafka {med(c_warm):>12,.0f}"
    )
    print(
        f"lookups/s cold (HTTP)  ours {med(cold):>12,.0f}   confluent-kafka {med(c_cold):>12,.0f}"
    )
    client.close()


if __name__ == "__main__":
    main()
