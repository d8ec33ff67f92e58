"""The review app signs what it publishes, and does not start without its key."""

from __future__ import annotations

import pytest

from tests import signing
from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.errors import ConfigError
from velocity_stream.review.runtime import ReviewRuntime
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR, Settings


def test_the_app_refuses_to_start_without_a_signing_key():
    catalog = load_catalog(DEFAULT_SCHEMAS_DIR)
    serde = AvroSerde(catalog, InMemorySchemaResolver(), "t")
    with pytest.raises(ConfigError, match="VELOCITY_REVIEW_SIGNING_KEY is not set"):
        ReviewRuntime(Settings(kafka_bootstrap_servers="127.0.0.1:1"), catalog, serde)
    with pytest.raises(ConfigError, match="VELOCITY_REVIEW_SIGNING_KEY: expected"):
        ReviewRuntime.from_settings(Settings(review_signing_key="nonsense"))


def test_the_validating_producer_signs_decisions_and_nothing_else():
    from velocity_stream.kafka.producer import ArtifactProducer

    catalog = load_catalog(DEFAULT_SCHEMAS_DIR)
    serde = AvroSerde(catalog, InMemorySchemaResolver(), "t")
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:1", topic_prefix="t")
    with ArtifactProducer(settings, catalog, serde, signer=signing.REVIEW_KEY) as producer:
        decision = producer.prepare(example("ApprovalDecision"))
        refusal = signing.KEYRING.verify(
            decision.topic, decision.key, decision.value, decision.headers, "review-app"
        )
        assert refusal is None
        other = producer.prepare(example("QdSignalBundle"))
        assert not [name for name, _ in other.headers if name.startswith("velocity.signature")]
