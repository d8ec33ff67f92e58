"""Fixtures for Kafka integration tests: the catalog, a serde, and provisioned catalog topics."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.kafka import topics
from velocity_stream.kafka.consumer import ArtifactConsumer, ConsumedRecord
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.kafka.topics import TopicAdmin
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import Settings


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(Settings().schemas_dir)


@pytest.fixture
def serde(catalog: Catalog, kafka_settings: Settings) -> AvroSerde:
    # One resolver shared by producer and consumer stands in for the schema registry.
    return AvroSerde(catalog, InMemorySchemaResolver(), kafka_settings.topic_prefix)


@pytest.fixture
def provisioned(kafka_settings: Settings, catalog: Catalog) -> Iterator[Settings]:
    """The test's catalog topics, created; deleted afterwards (Tansu holds them in memory)."""
    admin = TopicAdmin(kafka_settings)
    report = topics.apply(admin, catalog.topic_specs(kafka_settings.topic_prefix), 1)
    assert report.ok, report
    yield kafka_settings
    mine = [n for n in admin.topic_names() if n.startswith(kafka_settings.topic_prefix + ".")]
    admin.delete(mine)


@pytest.fixture
def producer(
    provisioned: Settings, catalog: Catalog, serde: AvroSerde
) -> Iterator[ArtifactProducer]:
    with ArtifactProducer(provisioned, catalog, serde, producer_name="it-producer") as made:
        yield made


@pytest.fixture
def collect() -> Callable[..., list[ConsumedRecord]]:
    """``collect(consumer, n)``: the next ``n`` records, failing if they do not come in time."""

    def gather(consumer: ArtifactConsumer, n: int, timeout: float = 30.0) -> list[ConsumedRecord]:
        records: list[ConsumedRecord] = []
        deadline = time.monotonic() + timeout
        while len(records) < n and time.monotonic() < deadline:
            record = consumer.poll(0.5)
            if record is not None:
                records.append(record)
        assert len(records) == n, f"got {len(records)} of {n} records in {timeout} s"
        return records

    return gather
