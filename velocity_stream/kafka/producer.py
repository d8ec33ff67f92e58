"""ArtifactProducer: the service layer's way onto Kafka. Validate, encode, route, send.

An artifact that breaks its contract raises ContractError before anything is produced; a
valid one is Avro-encoded in the Confluent wire format and sent to its family's ingress
topic, keyed by the catalog's key field, with the envelope headers. Delivery reports come
back as `concurrent.futures.Future` objects or to a callback. They are served inline after
each produce while the caller is publishing, by `result()` while a caller waits, and by an
idle thread otherwise, so futures complete without the caller ever polling. docs/producer.md
has the whole path and its figures.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, NamedTuple, overload

from confluent_kafka import KafkaError, KafkaException, Message

from velocity_stream.contracts.catalog import Route
from velocity_stream.contracts.metadata import Artifact, ensure_valid
from velocity_stream.errors import ConfigError, ContractError, VelocityError
from velocity_stream.kafka.clients import new_producer
from velocity_stream.protocol import headers as hdr
from velocity_stream.protocol.headers import (
    HeaderInput,
    KafkaHeaders,
    new_trace_id,
    to_kafka_headers,
)
from velocity_stream.settings import Settings

if TYPE_CHECKING:
    from velocity_stream.contracts.catalog import Catalog, Family
    from velocity_stream.serde.avro import AvroSerde
    from velocity_stream.trust import SigningKey

log = logging.getLogger(__name__)

# How long publish waits for room when librdkafka's local queue is full before giving up.
QUEUE_FULL_TIMEOUT_S = 60.0
METADATA_TIMEOUT_S = 10.0
# How long delivery reports may wait for someone to serve them when nobody publishes.
IDLE_POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where the broker stored a message."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


class DeliveryError(VelocityError):
    """The broker did not take a message (or the producer could not queue it)."""

    def __init__(self, topic: str, error: KafkaError | str) -> None:
        self.topic = topic
        if isinstance(error, KafkaError):
            self.error_name: str = error.name()
            self.retriable = bool(error.retriable())
            self.fatal = bool(error.fatal())
            detail = error.str()
        else:
            self.error_name, self.retriable, self.fatal, detail = "LOCAL", False, False, error
        super().__init__(f"delivery to {topic} failed: {self.error_name}: {detail}")


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """A snapshot of a bulk publish, handed to the progress callback."""

    submitted: int
    delivered: int
    rejected: int
    failed: int
    total: int | None

    @property
    def done(self) -> int:
        return self.delivered + self.rejected + self.failed


@dataclass(frozen=True)
class BatchResult:
    """What a bulk publish did: counts, and every rejection and failure with its input index."""

    delivered: int
    rejected: tuple[tuple[int, ContractError], ...]
    failed: tuple[tuple[int, DeliveryError], ...]
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.failed


ProgressCallback = Callable[[BatchProgress], None]
# on_delivery(error, delivery): exactly one of the two is None.
DeliveryCallback = Callable[[DeliveryError | None, Delivery | None], None]


class Outgoing(NamedTuple):
    """One message as it goes to Kafka."""

    topic: str
    key: bytes
    value: bytes
    headers: KafkaHeaders


@dataclass(frozen=True, slots=True)
class _Route:
    """What publishing one model class needs, looked up once per class."""

    family: Family
    topic: str
    artifact_type: bytes
    schema_version: bytes
    # Records of the catalog's decision family are signed when the producer has a signer.
    signed: bool


class DeliveryFuture(Future[Delivery]):
    """A Future that serves the producer's delivery reports while someone waits on it."""

    def __init__(self, serve: Callable[[float], object]) -> None:
        super().__init__()
        self._serve = serve

    def _wait(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done():
            remaining = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if remaining <= 0:
                return
            self._serve(remaining)

    def result(self, timeout: float | None = None) -> Delivery:
        self._wait(timeout)
        return super().result(0 if self.done() else timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._wait(timeout)
        return super().exception(0 if self.done() else timeout)


def _outcome(
    topic: str, key: bytes | None, error: KafkaError | None, message: Message
) -> Delivery | DeliveryError:
    if error is not None:
        return DeliveryError(topic, error)
    partition, offset = message.partition(), message.offset()
    assert partition is not None and offset is not None  # set on a delivered message
    return Delivery(message.topic() or topic, partition, offset, key)


def _settle_future(
    future: Future[Delivery], topic: str, key: bytes | None
) -> Callable[[KafkaError | None, Message], None]:
    def on_delivery(error: KafkaError | None, message: Message) -> None:
        outcome = _outcome(topic, key, error, message)
        if isinstance(outcome, DeliveryError):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    return on_delivery


def _report_to(
    callback: DeliveryCallback, topic: str, key: bytes | None
) -> Callable[[KafkaError | None, Message], None]:
    def on_delivery(error: KafkaError | None, message: Message) -> None:
        outcome = _outcome(topic, key, error, message)
        try:
            if isinstance(outcome, DeliveryError):
                callback(outcome, None)
            else:
                callback(None, outcome)
        except Exception:
            # Reports are served inside later produce and poll calls: a failing callback
            # must not surface there, in code that has nothing to do with it.
            log.exception("delivery callback for a message to %s failed", topic)

    return on_delivery


class ArtifactProducer:
    """Publishes validated artifacts (and raw bytes for the gateway) with delivery futures.

    ``producer_name`` goes into every message's producer header (default: the client id).
    With a ``signer``, every record of the catalog's decision family (route ``decision``)
    also gets the signature headers over exactly the topic, key and value sent
    (velocity_stream/trust); other families are never signed.
    Use as a context manager, or call `close()`: both flush what is still queued.
    """

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        serde: AvroSerde,
        *,
        producer_name: str | None = None,
        client_id: str | None = None,
        overrides: dict[str, str | int | float | bool] | None = None,
        signer: SigningKey | None = None,
    ) -> None:
        self._settings = settings
        self._signer = signer
        self._catalog = catalog
        self._serde = serde
        self._prefix = settings.topic_prefix
        self.producer_name = producer_name or settings.client_id
        self._producer = new_producer(
            settings, client_id=client_id, overrides=overrides, on_error=self._on_error
        )
        self._producer_header = self.producer_name.encode()
        self._routes: dict[type[Artifact], _Route] = {}
        self._known_topics: set[str] = set()
        self._topic_lock = threading.Lock()
        self._fatal: KafkaError | None = None
        self._closed = False
        self._last_served = time.monotonic()
        self._stop_polling = threading.Event()
        self._poller = threading.Thread(
            target=self._serve_when_idle, name="velocity-producer-poll", daemon=True
        )
        self._poller.start()

    # --- publishing ----------------------------------------------------------------------

    @overload
    def publish(
        self,
        artifact: Artifact,
        *,
        trace_id: str | None = None,
        headers: HeaderInput | None = None,
        on_delivery: None = None,
    ) -> Future[Delivery]: ...

    @overload
    def publish(
        self,
        artifact: Artifact,
        *,
        trace_id: str | None = None,
        headers: HeaderInput | None = None,
        on_delivery: DeliveryCallback,
    ) -> None: ...

    def publish(
        self,
        artifact: Artifact,
        *,
        trace_id: str | None = None,
        headers: HeaderInput | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> Future[Delivery] | None:
        """Validate, encode and send one artifact; ContractError (nothing sent) if invalid.

        Returns a future of the delivery, or, given ``on_delivery``, makes no future and
        calls ``on_delivery(error, delivery)`` once the broker answers (a future costs about
        a third of a publish). Callbacks run in whichever thread serves delivery
        reports: the publishing thread while it publishes or flushes, otherwise the
        producer's idle thread. Extra ``headers`` are appended after the envelope headers.
        """
        message = self.prepare(artifact, trace_id=trace_id, headers=headers)
        if on_delivery is not None:
            self._produce(*message, _report_to(on_delivery, message.topic, message.key))
            return None
        future = DeliveryFuture(self.poll)
        self._produce(*message, _settle_future(future, message.topic, message.key))
        return future

    def publish_raw(
        self,
        topic: str,
        key: bytes | str | None,
        value: bytes | None,
        headers: HeaderInput | None = None,
    ) -> Future[Delivery]:
        """Send bytes as they are (no validation): for the gateway's outputs and for tests."""
        raw_key = key.encode() if isinstance(key, str) else key
        future = DeliveryFuture(self.poll)
        self._produce(
            topic, raw_key, value, to_kafka_headers(headers), _settle_future(future, topic, raw_key)
        )
        return future

    def publish_many(
        self,
        artifacts: Iterable[Artifact],
        *,
        progress: ProgressCallback | None = None,
        progress_every: int = 1000,
        total: int | None = None,
        trace_id: str | None = None,
        flush_timeout: float | None = None,
    ) -> BatchResult:
        """Publish a bulk import: invalid artifacts are rejected (never sent), the rest are sent.

        Waits until every message is acknowledged or failed. ``progress`` is called every
        ``progress_every`` artifacts and once at the end. One ``trace_id`` (default: a new one)
        ties the whole batch together.
        """
        started = time.monotonic()
        batch_trace = trace_id or new_trace_id()
        rejected: list[tuple[int, ContractError]] = []
        failed: list[tuple[int, DeliveryError]] = []
        delivered = 0
        submitted = 0
        lock = threading.Lock()

        # One plain callback per message instead of a Future: bulk imports send many
        # messages, and per-message Futures (a Condition each) cost more than the produce.
        def settled(index: int, topic: str, error: KafkaError | None, _message: Message) -> None:
            nonlocal delivered
            with lock:
                if error is None:
                    delivered += 1
                else:
                    failed.append((index, DeliveryError(topic, error)))

        def report() -> None:
            if progress is not None:
                with lock:
                    snapshot = BatchProgress(
                        submitted, delivered, len(rejected), len(failed), total
                    )
                progress(snapshot)

        for index, artifact in enumerate(artifacts):
            try:
                topic, key, value, kafka_headers = self.prepare(artifact, trace_id=batch_trace)
            except ContractError as error:
                rejected.append((index, error))
            else:
                self._produce(
                    topic, key, value, kafka_headers, functools.partial(settled, index, topic)
                )
            submitted += 1
            if progress is not None and submitted % progress_every == 0:
                report()
        remaining = self.flush(flush_timeout)
        if remaining:
            raise DeliveryError("<batch>", f"{remaining} messages still queued after flush")
        report()
        elapsed = time.monotonic() - started
        return BatchResult(delivered, tuple(rejected), tuple(sorted(failed)), elapsed)

    # --- lifecycle -----------------------------------------------------------------------

    def poll(self, timeout: float = 0.0) -> int:
        """Serve delivery reports (completing futures); returns how many were served."""
        self._last_served = time.monotonic()
        return int(self._producer.poll(timeout))

    def flush(self, timeout: float | None = None) -> int:
        """Wait for every queued message to be acknowledged or failed; returns how many remain."""
        if timeout is None:
            return int(self._producer.flush())
        return int(self._producer.flush(timeout))

    def close(self, timeout: float = 30.0) -> None:
        """Flush, then stop accepting messages. Messages still queued after ``timeout`` are lost."""
        if self._closed:
            return
        self._closed = True
        remaining = self.flush(timeout)
        self._stop_polling.set()
        self._poller.join(timeout=5)
        if remaining:
            log.error("producer closed with %d messages undelivered", remaining)

    def __enter__(self) -> ArtifactProducer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- internals -----------------------------------------------------------------------

    @staticmethod
    def key_of(family: Family, artifact: Artifact) -> bytes:
        """The message key: the catalog's key field of the artifact, as UTF-8."""
        try:
            value = getattr(artifact, family.key_field)
        except AttributeError:
            raise ConfigError(
                f"{family.name}: key field {family.key_field!r} is not a field of the model"
            ) from None
        return str(value).encode()

    def _route(self, model: type[Artifact]) -> _Route:
        family = self._catalog.family(model.FAMILY)
        version = family.version(model.SCHEMA_VERSION)
        route = _Route(
            family=family,
            topic=family.ingress_topic(self._prefix, version.major),
            artifact_type=family.name.encode(),
            schema_version=model.SCHEMA_VERSION.encode(),
            signed=self._signer is not None and family.route is Route.DECISION,
        )
        self._routes[model] = route
        return route

    def prepare(
        self,
        artifact: Artifact,
        *,
        trace_id: str | None = None,
        headers: HeaderInput | None = None,
    ) -> Outgoing:
        """The message ``publish`` would send for ``artifact``: validated, encoded, routed.

        Raises ContractError if the artifact breaks its contract. Extra ``headers`` come
        after the envelope headers, and the signature headers (decision family, with a
        signer) last.
        """
        route = self._routes.get(type(artifact)) or self._route(type(artifact))
        # The service-layer check: an artifact made with model_construct or changed with
        # model_copy(update=...) is rebuilt through validation; a validated one is immutable.
        valid = ensure_valid(artifact)
        kafka_headers: KafkaHeaders = [
            (hdr.ARTIFACT_TYPE, route.artifact_type),
            (hdr.SCHEMA_VERSION, route.schema_version),
            (hdr.ARTIFACT_ID, valid.artifact_id.encode()),
            (hdr.PRODUCER, self._producer_header),
            (hdr.SOURCE_SYSTEM, valid.source_system.encode()),
            (hdr.TRACE_ID, (trace_id or new_trace_id()).encode()),
        ]
        if headers:
            kafka_headers += to_kafka_headers(headers)
        key = self.key_of(route.family, valid)
        value = self._serde.encode(valid)
        if route.signed:
            assert self._signer is not None
            kafka_headers += self._signer.headers(route.topic, key, value)
        return Outgoing(route.topic, key, value, kafka_headers)

    def _produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: KafkaHeaders,
        on_delivery: Callable[[KafkaError | None, Message], None],
    ) -> None:
        if self._closed:
            raise DeliveryError(topic, "the producer is closed")
        if self._fatal is not None:
            raise DeliveryError(topic, self._fatal)
        if topic not in self._known_topics:
            self._require_topic(topic)
        deadline: float | None = None
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=on_delivery
                )
                break
            except BufferError:
                # librdkafka's local queue is full: serve delivery reports to make room.
                now = time.monotonic()
                deadline = deadline or now + QUEUE_FULL_TIMEOUT_S
                if now > deadline:
                    raise DeliveryError(topic, "the local queue stayed full") from None
                self.poll(0.05)
            except KafkaException as error:
                raise DeliveryError(topic, error.args[0]) from None
        self._producer.poll(0)
        self._last_served = time.monotonic()

    def _serve_when_idle(self) -> None:
        # Publishing serves reports inline; this thread only covers quiet periods, so it
        # never competes with a busy publisher for the GIL (that contention cost ~10 us a
        # message when a thread polled continuously).
        while not self._stop_polling.wait(IDLE_POLL_S):
            if time.monotonic() - self._last_served >= IDLE_POLL_S:
                self.poll(0)

    def _require_topic(self, topic: str) -> None:
        """Fail fast on a missing topic; auto-creation is off, so it would only time out."""
        if topic in self._known_topics:
            return
        with self._topic_lock:
            if topic in self._known_topics:
                return
            try:
                metadata = self._producer.list_topics(topic, timeout=METADATA_TIMEOUT_S)
            except KafkaException as error:
                raise DeliveryError(topic, error.args[0]) from None
            found = metadata.topics.get(topic)
            if found is None or found.error is not None:
                raise ConfigError(
                    f"topic {topic} does not exist: run `velocity-stream topics apply` "
                    "(topics are never auto-created, so they always match the catalog)"
                )
            self._known_topics.add(topic)

    def _on_error(self, error: KafkaError) -> None:
        # Fatal errors (idempotence broken) end the producer; the rest librdkafka retries.
        if error.fatal():
            self._fatal = error
            log.error("producer fatal error: %s", error)
        else:
            log.warning("producer error: %s", error)
