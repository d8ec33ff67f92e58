"""The client layer: one record type out of a confluent-kafka Message, one header normalizer,
and a configuration librdkafka refuses reported as a ConfigError naming the client."""

from __future__ import annotations

import logging

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, Message

from velocity_stream.errors import ConfigError
from velocity_stream.kafka.client_logs import LIBRDKAFKA_LOGGER, RepeatFilter
from velocity_stream.kafka.clients import new_consumer, new_producer, to_record
from velocity_stream.protocol.records import InboundMessage, normalize_headers
from velocity_stream.settings import Settings


def _settings() -> Settings:
    # Nothing connects: librdkafka only contacts the broker once the client is used.
    return Settings(kafka_bootstrap_servers="127.0.0.1:1", client_id="unit")


def test_a_message_becomes_the_one_record_type_with_its_headers_as_bytes():
    message = Message(
        topic="t.x.v1",
        partition=3,
        offset=41,
        key=b"k",
        value=b"\x00\x01",
        headers=[("a", b"1"), ("empty", None), ("a", b"2")],
        timestamp=(TIMESTAMP_CREATE_TIME, 1_700_000_000_123),
    )
    record = to_record(message)
    assert record == InboundMessage(
        "t.x.v1",
        3,
        41,
        b"k",
        b"\x00\x01",
        (("a", b"1"), ("empty", b""), ("a", b"2")),
        1_700_000_000_123,
    )
    assert record.coordinates == ("t.x.v1", 3, 41)
    assert record.header_text() == {"a": "2", "empty": ""}


def test_a_message_without_timestamp_headers_or_value_reads_as_zero_and_empty():
    record = to_record(Message(topic="t", partition=0, offset=0, timestamp=(0, -1)))
    assert (record.key, record.value, record.headers, record.timestamp_ms) == (None, None, (), 0)


def test_headers_normalize_from_pairs_or_a_mapping_text_or_bytes():
    assert normalize_headers(None) == ()
    assert normalize_headers({"a": "é", "b": None}) == (("a", "é".encode()), ("b", b""))
    assert normalize_headers([("x", b"\xff"), ("y", "z")]) == (("x", b"\xff"), ("y", b"z"))


def test_clients_log_through_the_thinned_librdkafka_logger():
    consumer = new_consumer(_settings(), "unit-group")
    producer = new_producer(_settings())
    try:
        logger = logging.getLogger(LIBRDKAFKA_LOGGER)
        assert any(isinstance(f, RepeatFilter) for f in logger.filters)
    finally:
        consumer.close()
        producer.flush(0)


@pytest.mark.parametrize("build", [new_consumer, new_producer])
def test_a_refused_configuration_is_a_config_error_naming_the_client(build):
    overrides = {"no.such.librdkafka.key": 1}
    expected = r'the Kafka (consumer|producer) unit-x: No such configuration property: "no\.such'
    with pytest.raises(ConfigError, match=expected):
        if build is new_consumer:
            build(_settings(), "g", client_id="unit-x", overrides=overrides)
        else:
            build(_settings(), client_id="unit-x", overrides=overrides)
