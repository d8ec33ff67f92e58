"""Producer and consumer behaviour that needs no broker: validation first, topics, headers."""

from __future__ import annotations

import pytest

from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.examples import example
from velocity_stream.errors import ContractError, ReasonCode
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.kafka.stage_topics import TopicStage, family_topics
from velocity_stream.protocol.headers import header_map, new_trace_id, to_kafka_headers
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import Settings


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(Settings().schemas_dir)


@pytest.fixture
def offline_producer(catalog: Catalog):
    # Nothing listens on port 9: any attempt to reach a broker would fail or hang, so a
    # ContractError proves validation happens before Kafka is touched.
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:9", topic_prefix="unit")
    serde = AvroSerde(catalog, InMemorySchemaResolver(), "unit")
    producer = ArtifactProducer(settings, catalog, serde)
    yield producer
    producer.close(timeout=0)


def test_invalid_artifact_is_refused_before_kafka_is_touched(offline_producer):
    bad = example("QdSignalBundle").model_copy(update={"confidence": 2.0})
    with pytest.raises(ContractError) as caught:
        offline_producer.publish(bad)
    assert caught.value.code is ReasonCode.CONTRACT_CONFIDENCE_RANGE
    assert offline_producer.flush(0) == 0  # nothing was queued


def test_bulk_publish_rejects_every_invalid_artifact_before_kafka(offline_producer):
    bad = example("QdSignalBundle").model_copy(update={"created_by": ""})
    result = offline_producer.publish_many([bad, bad], flush_timeout=0)
    assert [i for i, _ in result.rejected] == [0, 1]
    assert result.delivered == 0


def test_key_is_the_catalog_key_field(catalog: Catalog):
    for family in catalog:
        artifact = example(family.name)
        key = ArtifactProducer.key_of(family, artifact)
        assert key == str(getattr(artifact, family.key_field)).encode()


def test_family_topics_cover_every_major_for_ingress_and_accepted(catalog: Catalog):
    ingress = family_topics(catalog, "p", ["QdSignalBundle"])
    assert list(ingress) == ["p.qd-signal-bundle.v1"]
    accepted = family_topics(catalog, "p", ["qd-signal-bundle"], TopicStage.ACCEPTED)
    assert list(accepted) == ["p.qd-signal-bundle.accepted.v1"]
    every = family_topics(catalog, "p")
    assert len(every) == sum(len(f.majors()) for f in catalog)


def test_headers_normalize_to_bytes_and_back():
    pairs = to_kafka_headers({"a": "x", "b": b"\xff"})
    assert pairs == [("a", b"x"), ("b", b"\xff")]
    assert to_kafka_headers([("c", None), ("d", "y")]) == [("d", b"y")]
    assert header_map([("a", b"x"), ("b", b"\xff")]) == {"a": "x", "b": "\ufffd"}


def test_trace_ids_are_32_hex_digits_and_distinct():
    ids = {new_trace_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
