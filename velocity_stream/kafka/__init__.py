"""Kafka at the edge: client configuration, the embedded broker, topics, producer and consumer.

Imports contracts and serde; the gateway, consumers and CLI import this package.
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
from velocity_stream.kafka.consumer import (
    ArtifactConsumer,
    ConsumedArtifact,
    ConsumedRecord,
    Coordinates,
    PoisonRecord,
    TopicStage,
)
from velocity_stream.kafka.producer import (
    ArtifactProducer,
    BatchProgress,
    BatchResult,
    Delivery,
    DeliveryError,
)

__all__ = [
    "MEMORY_ONLY_WARNING",
    "ArtifactConsumer",
    "ArtifactProducer",
    "AsyncClientOptions",
    "BatchProgress",
    "BatchResult",
    "BrokerStartError",
    "ClientConfig",
    "ConsumedArtifact",
    "ConsumedRecord",
    "Coordinates",
    "Delivery",
    "DeliveryError",
    "EmbeddedBroker",
    "PoisonRecord",
    "TopicStage",
    "admin_config",
    "async_client_options",
    "consumer_config",
    "producer_config",
    "redact",
]
