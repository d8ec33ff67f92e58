"""Publish every family through ArtifactProducer and read it back equal through the TopicReader."""

from __future__ import annotations

import time

import pytest

from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.examples import example
from velocity_stream.errors import ConfigError, ContractError, ReasonCode
from velocity_stream.kafka.producer import (
    ArtifactProducer,
    BatchProgress,
    Delivery,
    DeliveryError,
)
from velocity_stream.kafka.stage_topics import TopicStage
from velocity_stream.protocol import headers as h
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import Settings

pytestmark = pytest.mark.integration


def test_every_family_round_trips_equal_with_key_and_headers(
    producer: ArtifactProducer,
    provisioned: Settings,
    catalog: Catalog,
    serde: AvroSerde,
    read_back,
):
    sent = {family.name: example(family.name) for family in catalog}
    futures = {
        name: producer.publish(artifact, trace_id="trace-1") for name, artifact in sent.items()
    }
    assert producer.flush(10) == 0
    deliveries = {name: future.result(0) for name, future in futures.items()}

    records = read_back()

    assert len(records) == len(sent), records
    by_family = {artifact.FAMILY: (where, artifact) for where, artifact in records}
    assert set(by_family) == set(sent)
    for name, artifact in sent.items():
        where, read = by_family[name]
        family = catalog.family(name)
        assert read == artifact
        assert type(read) is type(artifact)
        assert where.topic == family.ingress_topic(provisioned.topic_prefix)
        assert where.key == str(getattr(artifact, family.key_field)).encode()
        delivery: Delivery = deliveries[name]
        assert (delivery.topic, delivery.partition, delivery.offset) == (
            where.topic,
            where.partition,
            where.offset,
        )
        text = where.header_text()
        assert text[h.ARTIFACT_TYPE] == name
        assert text[h.SCHEMA_VERSION] == artifact.SCHEMA_VERSION
        assert text[h.ARTIFACT_ID] == artifact.artifact_id
        assert text[h.PRODUCER] == "it-producer"
        assert text[h.SOURCE_SYSTEM] == artifact.source_system
        assert text[h.TRACE_ID] == "trace-1"


def test_same_key_goes_to_the_same_partition(producer: ArtifactProducer, catalog: Catalog):
    base = example("QdSignalBundle")
    deliveries = [
        producer.publish(base.model_copy(update={"artifact_id": f"art:{i}"})) for i in range(20)
    ]
    producer.flush(10)
    assert len({d.result(0).partition for d in deliveries}) == 1


def test_publish_with_a_callback_reports_every_delivery(
    producer: ArtifactProducer, catalog: Catalog, provisioned: Settings, caplog
):
    base = example("InteractionBundle")
    reports: list[tuple[DeliveryError | None, Delivery | None]] = []

    def record(error: DeliveryError | None, delivery: Delivery | None) -> None:
        reports.append((error, delivery))

    for i in range(10):
        sent = base.model_copy(update={"artifact_id": f"art:callback:{i}"})
        assert producer.publish(sent, on_delivery=record) is None

    def boom(_error: DeliveryError | None, _delivery: Delivery | None) -> None:
        raise RuntimeError("callback bug")

    producer.publish(base, on_delivery=boom)
    assert producer.flush(10) == 0
    # A failing callback is logged and stays out of later publishes.
    after = producer.publish(base).result(10)

    assert [error for error, _ in reports] == [None] * 10
    deliveries = [delivery for _, delivery in reports if delivery is not None]
    topic = catalog.family("InteractionBundle").ingress_topic(provisioned.topic_prefix)
    assert {d.topic for d in deliveries} == {topic}
    assert {d.key for d in deliveries} == {
        ArtifactProducer.key_of(catalog.family("InteractionBundle"), base)
    }
    offsets = [d.offset for d in deliveries]
    assert offsets == sorted(offsets) and len(set(offsets)) == 10
    assert after.offset > offsets[-1]
    assert "delivery callback" in caplog.text and "callback bug" in caplog.text


def test_invalid_artifact_raises_and_is_never_sent(
    producer: ArtifactProducer,
    provisioned: Settings,
    catalog: Catalog,
    serde: AvroSerde,
    read_back,
):
    valid = example("QdSignalBundle")
    # model_copy skips validation: exactly how a broken artifact reaches a producer.
    out_of_range = valid.model_copy(update={"confidence": 1.7, "artifact_id": "art:bad-1"})
    with pytest.raises(ContractError) as caught:
        producer.publish(out_of_range)
    assert caught.value.code is ReasonCode.CONTRACT_CONFIDENCE_RANGE
    wrong_type = valid.model_copy(update={"artifact_type": "ApprovalDecision"})
    with pytest.raises(ContractError):
        producer.publish(wrong_type)
    incomplete = type(valid).model_construct(artifact_id="art:bad-2")
    with pytest.raises(ContractError):
        producer.publish(incomplete)

    producer.publish(valid).result(10)
    [(_, only)] = read_back(["QdSignalBundle"])  # nothing else is on the topic
    assert only == valid


def test_publishing_to_a_topic_that_was_not_provisioned_fails_fast(
    kafka_settings: Settings, catalog: Catalog, serde: AvroSerde
):
    with (
        ArtifactProducer(kafka_settings, catalog, serde) as producer,
        pytest.raises(ConfigError, match="topics apply"),
    ):
        producer.publish(example("InteractionBundle"))


def test_publish_many_sends_the_valid_rejects_the_invalid_and_reports_progress(
    producer: ArtifactProducer,
    provisioned: Settings,
    catalog: Catalog,
    serde: AvroSerde,
    read_back,
):
    base = example("ImportRowRecord")
    artifacts = [base.model_copy(update={"artifact_id": f"art:row:{i}"}) for i in range(250)]
    artifacts[7] = artifacts[7].model_copy(update={"confidence": -1.0})
    artifacts[100] = artifacts[100].model_copy(update={"created_by": ""})
    seen: list[BatchProgress] = []

    result = producer.publish_many(artifacts, progress=seen.append, progress_every=100, total=250)

    assert result.delivered == 248
    assert [index for index, _ in result.rejected] == [7, 100]
    assert result.failed == ()
    assert not result.ok
    assert [p.submitted for p in seen] == [100, 200, 250]
    assert seen[-1] == BatchProgress(250, 248, 2, 0, 250)
    records = read_back(["ImportRowRecord"])
    assert len(records) == 248
    ids = {artifact.artifact_id for _, artifact in records}
    assert ids == {a.artifact_id for i, a in enumerate(artifacts) if i not in (7, 100)}


def test_accepted_stage_reads_the_accepted_topics(
    producer: ArtifactProducer,
    provisioned: Settings,
    catalog: Catalog,
    serde: AvroSerde,
    read_back,
):
    artifact = example("InteractionBundle")
    family = catalog.family("InteractionBundle")
    accepted = family.accepted_topic(provisioned.topic_prefix)
    producer.publish_raw(accepted, b"k", serde.encode(artifact), {"origin": "gateway"})
    producer.flush(10)
    [(record, read)] = read_back(["InteractionBundle"], TopicStage.ACCEPTED)
    assert record.topic == accepted
    assert read == artifact
    assert record.header_text() == {"origin": "gateway"}


def test_delivery_futures_complete_without_the_caller_polling(producer: ArtifactProducer):
    import threading

    called = threading.Event()
    future = producer.publish(example("QdSignalBundle"))
    future.add_done_callback(lambda _f: called.set())
    assert called.wait(5), "the idle poller never served the delivery report"
    assert future.done() and future.result(0).offset >= 0

    started = time.monotonic()
    assert producer.publish(example("QdSignalBundle")).result(5).offset >= 0
    assert time.monotonic() - started < 2  # result() serves reports itself: no idle wait
