"""The one place confluent-kafka clients are built, and where what they read becomes a record.

Every role that talks to Kafka through librdkafka (the tools, the review app, the registry,
the consumers, the gateway's output producer) gets its consumer or producer here, so each one
has the same configuration (``config.py``: bootstrap servers, security, client id, timeouts),
logs through the thinned librdkafka logger (``client_logs.py``), relays client errors to a
callback, and turns a refused configuration into a :class:`ConfigError` naming the client.
What a consumer returns becomes the one record type, :class:`InboundMessage`, through
:func:`to_record`. The faust/aiokafka side of the gateway is configured in ``config.py`` too
(``async_client_options``) but built by faust.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Protocol, Self, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from velocity_stream.errors import ConfigError
from velocity_stream.kafka.client_logs import librdkafka_logger
from velocity_stream.kafka.config import consumer_config, producer_config
from velocity_stream.protocol.records import InboundMessage, normalize_headers
from velocity_stream.settings import Settings

ErrorCallback = Callable[[KafkaError], None]
Overrides = Mapping[str, str | int | float | bool]
C = TypeVar("C", Consumer, Producer)

# How long a metadata request (which partitions a topic has) may take.
METADATA_TIMEOUT_S = 10.0


class OwnedConsumer:
    """A class that owns one consumer: it closes it once, and is a context manager."""

    def __init__(self, consumer: Consumer) -> None:
        self._consumer = consumer
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._consumer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def new_consumer(
    settings: Settings,
    group_id: str,
    *,
    client_id: str | None = None,
    auto_offset_reset: str = "earliest",
    overrides: Overrides | None = None,
    on_error: ErrorCallback | None = None,
    logger: logging.Logger | None = None,
) -> Consumer:
    """A consumer with the project's configuration (manual commits, the settings' timeouts).

    ``group_id`` is required by librdkafka even for a consumer that only assigns partitions
    and never joins nor commits. ``on_error`` gets client-level errors (a lost broker, failed
    authentication); ``logger`` defaults to the shared, thinned librdkafka logger.
    """
    config: dict[str, object] = dict(
        consumer_config(
            settings,
            group_id,
            client_id=client_id,
            auto_offset_reset=auto_offset_reset,
            overrides=overrides,
        )
    )
    return _build(Consumer, "consumer", config, on_error, logger)


def new_producer(
    settings: Settings,
    *,
    client_id: str | None = None,
    overrides: Overrides | None = None,
    on_error: ErrorCallback | None = None,
    logger: logging.Logger | None = None,
) -> Producer:
    """An idempotent, acks=all producer with the project's configuration (``producer_config``).

    ``on_error`` should be a plain function or a method of an object that outlives the
    producer: librdkafka's handle keeps it alive.
    """
    config: dict[str, object] = dict(
        producer_config(settings, client_id=client_id, overrides=overrides)
    )
    return _build(Producer, "producer", config, on_error, logger)


def _build(
    kind: type[C],
    what: str,
    config: dict[str, object],
    on_error: ErrorCallback | None,
    logger: logging.Logger | None,
) -> C:
    config["logger"] = logger or librdkafka_logger()
    if on_error is not None:
        config["error_cb"] = on_error
    try:
        return kind(config)
    except (KafkaException, ValueError, TypeError) as error:
        # librdkafka refuses an unknown key or a bad value at construction (an override, a
        # certificate path that does not exist): one line naming the client, not a traceback.
        client = config.get("client.id", "?")
        raise ConfigError(f"cannot create the Kafka {what} {client}: {_reason(error)}") from None


def _reason(error: Exception) -> str:
    """librdkafka's own sentence for a KafkaException, the message for anything else."""
    if isinstance(error, KafkaException) and error.args and isinstance(error.args[0], KafkaError):
        return str(error.args[0].str())
    return str(error)


def to_record(message: Message) -> InboundMessage:
    """A consumed confluent-kafka message (one without an error) as the project's record."""
    _, timestamp = message.timestamp()
    return InboundMessage(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        key=message.key(),
        value=message.value(),
        headers=normalize_headers(message.headers()),
        timestamp_ms=timestamp if timestamp >= 0 else 0,
    )


def topic_partitions(
    client: Consumer | Producer, topic: str, timeout: float = METADATA_TIMEOUT_S
) -> list[int] | None:
    """The topic's partition numbers from the cluster's metadata; None when it does not exist.

    A KafkaException (no broker answered in ``timeout`` seconds) is left to the caller, which
    knows whether to retry or to fail.
    """
    metadata = client.list_topics(topic, timeout=timeout)
    found = metadata.topics.get(topic)
    if found is None or found.error is not None or not found.partitions:
        return None
    return sorted(found.partitions)


class WatermarkSource(Protocol):
    """What :func:`cached_high_watermark` needs of a confluent-kafka Consumer."""

    def get_watermark_offsets(
        self, partition: TopicPartition, timeout: float = ..., cached: bool = ...
    ) -> tuple[int, int]: ...


def cached_high_watermark(consumer: WatermarkSource, topic: str, partition: int) -> int | None:
    """librdkafka's high watermark from the last fetch response, with no request to the broker.

    ``cached=True`` reads the value librdkafka stored from the FetchResponse; without it the
    client sends ListOffsets, which is what must be avoided.
    """
    found: tuple[int, int] | None = consumer.get_watermark_offsets(
        TopicPartition(topic, partition), cached=True
    )
    if found is None:  # older clients answer None when nothing is known
        return None
    high = int(found[1])
    return high if high >= 0 else None
