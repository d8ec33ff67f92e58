"""Kafka at the edge: client configuration, the embedded broker, topics, producer and consumer.

Imports contracts and serde; the gateway, consumers and CLI import this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from velocity_stream.lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
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

# Imported on first use (PEP 562), so that importing one submodule, e.g. for the CLI's start,
# does not load every other one and what they import.
_EXPORTS = {
    "MEMORY_ONLY_WARNING": "velocity_stream.kafka.broker",
    "BrokerStartError": "velocity_stream.kafka.broker",
    "EmbeddedBroker": "velocity_stream.kafka.broker",
    "AsyncClientOptions": "velocity_stream.kafka.config",
    "ClientConfig": "velocity_stream.kafka.config",
    "admin_config": "velocity_stream.kafka.config",
    "async_client_options": "velocity_stream.kafka.config",
    "consumer_config": "velocity_stream.kafka.config",
    "producer_config": "velocity_stream.kafka.config",
    "redact": "velocity_stream.kafka.config",
    "ArtifactConsumer": "velocity_stream.kafka.consumer",
    "ConsumedArtifact": "velocity_stream.kafka.consumer",
    "ConsumedRecord": "velocity_stream.kafka.consumer",
    "Coordinates": "velocity_stream.kafka.consumer",
    "PoisonRecord": "velocity_stream.kafka.consumer",
    "TopicStage": "velocity_stream.kafka.consumer",
    "ArtifactProducer": "velocity_stream.kafka.producer",
    "BatchProgress": "velocity_stream.kafka.producer",
    "BatchResult": "velocity_stream.kafka.producer",
    "Delivery": "velocity_stream.kafka.producer",
    "DeliveryError": "velocity_stream.kafka.producer",
}


__getattr__ = _lazy_exports(__name__, _EXPORTS)


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
