"""Kafka at the edge: client configuration, the embedded broker, topics, producer and consumer.

May import contracts and serde; nothing below the CLI and gateway imports this package's clients.
"""

from __future__ import annotations

from velocity_stream.kafka.broker import MEMORY_ONLY_WARNING, BrokerStartError, EmbeddedBroker
from velocity_stream.kafka.config import (
    AsyncClientOptions,
    ClientConfig,
    admin_config,
    async_client_options,
    consumer_config,
    producer_config,
    redact,
)

__all__ = [
    "MEMORY_ONLY_WARNING",
    "AsyncClientOptions",
    "BrokerStartError",
    "ClientConfig",
    "EmbeddedBroker",
    "admin_config",
    "async_client_options",
    "consumer_config",
    "producer_config",
    "redact",
]
