"""Fixtures for the observability integration tests: catalog topics on the session's Kafka, a
serde whose in-memory resolver stands in for the registry, and a fresh metrics registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from tests import signing
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.kafka import topics
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.kafka.topics import TopicAdmin
from velocity_stream.observability import VelocityMetrics
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR, Settings


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(DEFAULT_SCHEMAS_DIR)


@pytest.fixture
def serde(catalog: Catalog, kafka_settings: Settings) -> AvroSerde:
    return AvroSerde(catalog, InMemorySchemaResolver(), kafka_settings.topic_prefix)


@pytest.fixture
def admin(kafka_settings: Settings) -> TopicAdmin:
    return TopicAdmin(kafka_settings)


@pytest.fixture
def provisioned(
    kafka_settings: Settings, catalog: Catalog, admin: TopicAdmin
) -> Iterator[Settings]:
    """The test's catalog topics, created; deleted afterwards (Tansu holds them in memory)."""
    report = topics.apply(admin, catalog.topic_specs(kafka_settings.topic_prefix), 1)
    assert report.ok, report
    yield kafka_settings
    mine = [n for n in admin.topic_names() if n.startswith(kafka_settings.topic_prefix + ".")]
    admin.delete(mine)


@pytest.fixture
def producer(
    provisioned: Settings, catalog: Catalog, serde: AvroSerde
) -> Iterator[ArtifactProducer]:
    # signs decisions like the review app does, with a key the tests' gateways trust
    with ArtifactProducer(
        provisioned, catalog, serde, producer_name="it-observability", signer=signing.REVIEW_KEY
    ) as made:
        yield made


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> VelocityMetrics:
    return VelocityMetrics(registry)
