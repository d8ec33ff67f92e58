"""Fixtures for Kafka integration tests: the catalog, a serde, and provisioned catalog topics."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.kafka import topics
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.kafka.reader import TopicReader
from velocity_stream.kafka.stage_topics import TopicStage, family_topics
from velocity_stream.kafka.topics import TopicAdmin
from velocity_stream.protocol.records import InboundMessage
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


ReadBack = Callable[..., list[tuple[InboundMessage, Artifact]]]


@pytest.fixture
def read_back(provisioned: Settings, catalog: Catalog, serde: AvroSerde) -> ReadBack:
    """``read_back(families=None, stage=INGRESS)``: every record on those families' topics as
    the tools read them (the group-less TopicReader), each with its decoded artifact."""

    def read(
        families: list[str] | None = None, stage: TopicStage = TopicStage.INGRESS
    ) -> list[tuple[InboundMessage, Artifact]]:
        found: list[tuple[InboundMessage, Artifact]] = []
        topics = family_topics(catalog, provisioned.topic_prefix, families, stage)
        with TopicReader(provisioned, role="it-read-back", stall_timeout=30) as reader:
            for topic, (family, major) in topics.items():
                for record in reader.read_all(topic):
                    found.append((record, serde.decode(record.value, family, major)))
        return found

    return read
