"""Kafka at the edge: client configuration, the one builder of confluent-kafka clients, the
group-less topic reader, the validating producer, topics, ACLs and the embedded broker.

Imports contracts, protocol and settings (serde and trust for type hints only); every role
that talks to Kafka imports this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from velocity_stream.lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from velocity_stream.kafka.broker import MEMORY_ONLY_WARNING, BrokerStartError, EmbeddedBroker
    from velocity_stream.kafka.clients import new_consumer, new_producer, to_record
    from velocity_stream.kafka.config import (
        AsyncClientOptions,
        ClientConfig,
        admin_config,
        async_client_options,
        consumer_config,
        producer_config,
        redact,
    )
    from velocity_stream.kafka.producer import (
        ArtifactProducer,
        BatchProgress,
        BatchResult,
        Delivery,
        DeliveryError,
    )
    from velocity_stream.kafka.stage_topics import TopicStage, family_topics

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
    "new_consumer": "velocity_stream.kafka.clients",
    "new_producer": "velocity_stream.kafka.clients",
    "to_record": "velocity_stream.kafka.clients",
    "TopicStage": "velocity_stream.kafka.stage_topics",
    "family_topics": "velocity_stream.kafka.stage_topics",
    "ArtifactProducer": "velocity_stream.kafka.producer",
    "BatchProgress": "velocity_stream.kafka.producer",
    "BatchResult": "velocity_stream.kafka.producer",
    "Delivery": "velocity_stream.kafka.producer",
    "DeliveryError": "velocity_stream.kafka.producer",
}


__getattr__ = _lazy_exports(__name__, _EXPORTS)


__all__ = [
    "MEMORY_ONLY_WARNING",
    "ArtifactProducer",
    "AsyncClientOptions",
    "BatchProgress",
    "BatchResult",
    "BrokerStartError",
    "ClientConfig",
    "Delivery",
    "DeliveryError",
    "EmbeddedBroker",
    "TopicStage",
    "admin_config",
    "async_client_options",
    "consumer_config",
    "family_topics",
    "new_consumer",
    "new_producer",
    "producer_config",
    "redact",
    "to_record",
]
