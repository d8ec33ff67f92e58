"""Fixtures for the observability unit tests: a fresh metrics registry, and the real gateway
pipeline over an in-memory runner so metrics are fed with the outcomes the gateway really makes."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tests import signing
from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import Catalog, Route, load_catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.gateway import InboundMessage, MemoryRunner, Outcome, Pipeline
from velocity_stream.observability import GatewayMetrics, VelocityMetrics
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR

PREFIX = "obs"
T_MS = 1_776_500_000_000  # record timestamps (2026-04-18T08:53:20Z)


class Sample:
    """Reads metric values from one registry; absent series read as 0."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def __call__(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


class Traffic:
    """Encodes artifacts onto their ingress topics and runs them through a MemoryRunner."""

    PREFIX = PREFIX
    T_MS = T_MS

    def __init__(self, catalog: Catalog, serde: AvroSerde, runner: MemoryRunner) -> None:
        self.catalog = catalog
        self.serde = serde
        self.runner = runner

    def message(
        self, artifact: Artifact, *, timestamp_ms: int = T_MS, headers: Any = ()
    ) -> InboundMessage:
        family = self.catalog.family(artifact.FAMILY)
        topic = family.ingress_topic(PREFIX)
        key = str(getattr(artifact, family.key_field)).encode()
        value = self.serde.encode(artifact)
        headers = tuple(headers)
        if family.route is Route.DECISION:  # signed as its producer would
            headers = signing.with_signature(headers, topic, key, value, artifact.source_system)
        return self.runner.message(topic, key, value, headers, timestamp_ms)

    def send(self, artifact: Artifact, **options: Any) -> list[Outcome]:
        """The artifact's outcome, then any fed back by it (an auto rule's decision)."""
        return self.runner.run([self.message(artifact, **options)])

    def raw(self, topic: str, value: bytes | None, key: bytes = b"k") -> Outcome:
        return self.runner.send(topic, key, value, (), T_MS)[0]

    @staticmethod
    def variant(artifact: Artifact, **changes: Any) -> Artifact:
        """A validated copy of ``artifact`` with ``changes``."""
        return type(artifact).model_validate({**artifact.model_dump(), **changes})


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(DEFAULT_SCHEMAS_DIR)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> VelocityMetrics:
    return VelocityMetrics(registry)


@pytest.fixture
def sample(registry: CollectorRegistry) -> Sample:
    return Sample(registry)


@pytest.fixture
def gateway_metrics(catalog: Catalog, metrics: VelocityMetrics) -> GatewayMetrics:
    return GatewayMetrics.for_catalog(catalog, PREFIX, metrics)


@pytest.fixture
def traffic(catalog: Catalog) -> Traffic:
    serde = AvroSerde(catalog, InMemorySchemaResolver(), PREFIX)
    pipeline = Pipeline(
        catalog,
        serde,
        PREFIX,
        gateway_version="0.0.0-test",
        clock=lambda: 0,
        verify_keys=signing.KEYRING,
        rule_signer=signing.RULE_KEY,
    )
    return Traffic(catalog, serde, MemoryRunner(pipeline))


@pytest.fixture
def examples() -> dict[str, Artifact]:
    return {name: example(name) for name in ("QdSignalBundle", "InteractionBundle")}
