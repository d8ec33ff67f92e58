"""Fixtures for registry integration tests: a registry served over HTTP with its state in Kafka."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from velocity_stream.registry.server import BackgroundRegistry, ServeOptions, build_service
from velocity_stream.registry.store import StoreOptions
from velocity_stream.settings import Settings

StartRegistry = Callable[[], BackgroundRegistry]


@pytest.fixture
def registry_topic(unique_topic: Callable[[str], str]) -> str:
    return unique_topic("schemas")


@pytest.fixture
def start_registry(kafka_settings: Settings, registry_topic: str) -> Iterator[StartRegistry]:
    """Starts registry processes-in-miniature over one topic; each call is a fresh instance."""
    started: list[BackgroundRegistry] = []

    def start() -> BackgroundRegistry:
        options = ServeOptions(max_schema_bytes=64 * 1024, store=StoreOptions(topic=registry_topic))
        registry = BackgroundRegistry(build_service(kafka_settings, options)).start()
        started.append(registry)
        return registry

    yield start
    for registry in started:
        registry.stop()


@pytest.fixture
def registry(start_registry: StartRegistry) -> BackgroundRegistry:
    return start_registry()
