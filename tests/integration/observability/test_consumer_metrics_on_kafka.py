"""The Client360 read model on a real broker reports its applied events, skipped duplicates and
fetch-based lag; a scrape of the process's endpoint shows them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from consumers.client360.runner import CLIENT_ID, Client360Runner, RunnerOptions
from consumers.client360.store import Client360Store
from consumers.partitions import PartitionSource
from consumers.storage import open_engine
from tests.integration.consumers.conftest import Gateway
from tests.unit.consumers import events as ev
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.observability import serve_metrics
from velocity_stream.registry.resolvers import preregistered_resolver
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import Settings

# The consumers report once the observability wiring is applied to them (docs/metrics.md,
# "Wiring"); until then this says so instead of failing.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not hasattr(PartitionSource, "high_watermark"),
        reason="observability wiring not applied to the consumers",
    ),
]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _scrape(url: str) -> Samples:
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def _counter(samples: Samples, name: str) -> float:
    return samples.get((name, (("consumer", CLIENT_ID),)), 0.0)


def test_read_model_reports_applied_duplicates_and_lag(
    provisioned: Settings, catalog: Catalog, tmp_path: Path
):
    prefix = provisioned.topic_prefix
    serde = AvroSerde(catalog, preregistered_resolver(catalog, prefix), prefix)
    history = ev.client_history(3)
    with ArtifactProducer(provisioned, catalog, serde, producer_name="it-obs") as producer:
        gateway = Gateway(producer, catalog, serde)
        gateway.publish(history)
        again = history[::4]
        gateway.publish(again)  # redelivered: the read model skips them
    engine = open_engine(f"sqlite:///{tmp_path / 'read_models.db'}")
    store = Client360Store(engine, "obs_")
    store.create()
    try:
        with serve_metrics("127.0.0.1", 0) as server:  # the process-wide registry
            before = _scrape(server.url)
            runner = Client360Runner(provisioned, catalog, serde, store, None, RunnerOptions())
            stats = runner.run(max_idle_s=1.5)
            after = _scrape(server.url)
    finally:
        engine.dispose()

    applied = "velocity_consumer_events_applied_total"
    duplicate = "velocity_consumer_events_duplicate_total"
    assert stats.applied == len(history) and stats.duplicates == len(again)
    assert _counter(after, applied) - _counter(before, applied) == len(history)
    assert _counter(after, duplicate) - _counter(before, duplicate) == len(again)
    lag = {
        dict(labels)["topic"]: value
        for (name, labels), value in after.items()
        if name == "velocity_consumer_lag"
        and dict(labels)["group"] == CLIENT_ID
        and dict(labels)["topic"].startswith(prefix + ".")
    }
    assert lag and all(value == 0 for value in lag.values()), lag
