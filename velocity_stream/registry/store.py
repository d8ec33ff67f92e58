"""Kafka-backed registry state: a single-partition compacted topic, tailed into memory.

How writes are serialized (docs/registry.md says the same):
1. Within a process, one lock lets one write in at a time (the service holds it per request).
2. The writer appends its record to partition 0 and waits for the producer's acknowledgement,
   which gives the record's offset.
3. A tail thread reads the topic from the start and folds every record, in offset order, into
   :class:`RegistryState`; the writer waits until the fold has passed its own offset and reads
   back whether its claim was accepted (read-your-own-write through the topic).
4. Across processes the single partition is the sequencer: two claims for one id or version are
   ordered by the log and the fold rejects the later one in every process alike; its writer
   withdraws it (a tombstone), catches up and retries.

On start the store writes a marker record and reads until it sees it, so it has read everything
written before it started. This does not depend on ListOffsets, which is wrong on Tansu
(docs/embedded-broker.md).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from velocity_stream.errors import RegistryError
from velocity_stream.registry.records import LogRecord, Marker, UnreadableRecord, decode, encode
from velocity_stream.registry.state import RegistryState
from velocity_stream.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_TOPIC = "_velocity_schemas"
_OUTCOMES_KEPT = 10_000

Apply = Callable[[int, bytes | None, bytes | None], None]


class StoreError(RegistryError):
    """The registry topic could not be created, written or read in time."""


class Log(Protocol):
    """An append-only, totally ordered log of (key, value) records, replayed into ``apply``."""

    def start(self, apply: Apply) -> None:
        """Begin delivering every record, from the first, to ``apply`` (one thread, in order)."""
        ...

    def append(self, key: bytes, value: bytes | None, timeout: float) -> int:
        """Append a record and return its offset once the log has acknowledged it."""
        ...

    def close(self) -> None: ...


class MemoryLog:
    """A process-local log: appends are applied at once, in the caller's thread."""

    def __init__(self) -> None:
        self._records: list[tuple[bytes, bytes | None]] = []
        self._apply: Apply | None = None
        self._lock = threading.Lock()

    def start(self, apply: Apply) -> None:
        self._apply = apply
        for offset, (key, value) in enumerate(self._records):
            apply(offset, key, value)

    def append(self, key: bytes, value: bytes | None, timeout: float) -> int:
        with self._lock:
            offset = len(self._records)
            self._records.append((key, value))
            if self._apply is not None:
                self._apply(offset, key, value)
        return offset

    def close(self) -> None:
        self._apply = None


@dataclass(frozen=True)
class StoreOptions:
    topic: str = DEFAULT_TOPIC
    replication_factor: int = 1
    write_timeout_s: float = 10.0
    startup_timeout_s: float = 30.0


class RegistryStore:
    """The state as the log says, with writes that report whether their claim won."""

    def __init__(self, log: Log, options: StoreOptions | None = None) -> None:
        self.options = options or StoreOptions()
        self._log = log
        self._state = RegistryState()
        # Readers take this lock briefly; the tail thread takes it to apply a record.
        self.state_lock = threading.RLock()
        # One writer at a time in this process (step 1 above).
        self.write_lock = threading.RLock()
        self._applied = threading.Condition()
        self._applied_offset = -1
        self._outcomes: OrderedDict[int, bool] = OrderedDict()
        self._started = False

    @property
    def state(self) -> RegistryState:
        """The current state; hold ``state_lock`` while reading more than one thing from it."""
        return self._state

    def start(self) -> RegistryStore:
        self._log.start(self._apply)
        self._started = True
        self.sync(self.options.startup_timeout_s)
        return self

    def close(self) -> None:
        self._log.close()

    def __enter__(self) -> RegistryStore:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, record: LogRecord, timeout: float | None = None) -> bool:
        """Append ``record``, wait until it is folded in, and say whether it was accepted."""
        key, value = encode(record)
        timeout = timeout or self.options.write_timeout_s
        try:
            offset = self._log.append(key, value, timeout)
        except StoreError:
            raise
        except Exception as error:  # the Kafka client's failures all mean "not written"
            raise StoreError(f"cannot write to the registry topic: {error}") from error
        return self._wait_for(offset, timeout)

    def sync(self, timeout: float | None = None) -> None:
        """Return once every record written before this call has been folded in."""
        self.write(Marker(uuid.uuid4().hex), timeout)

    def _wait_for(self, offset: int, timeout: float) -> bool:
        with self._applied:
            if not self._applied.wait_for(lambda: self._applied_offset >= offset, timeout):
                raise StoreError(
                    f"record at offset {offset} was written but not read back within {timeout}s"
                )
            return self._outcomes.pop(offset, True)

    def _apply(self, offset: int, key: bytes | None, value: bytes | None) -> None:
        try:
            record = decode(key, value)
        except UnreadableRecord as error:
            log.warning("skipping registry record at offset %d: %s", offset, error)
            accepted = False
        else:
            with self.state_lock:
                accepted = self._state.apply(record)
        with self._applied:
            self._applied_offset = offset
            self._outcomes[offset] = accepted
            while len(self._outcomes) > _OUTCOMES_KEPT:
                self._outcomes.popitem(last=False)
            self._applied.notify_all()


class KafkaLog:
    """Partition 0 of a compacted topic: a producer appends, a tail thread reads from the start."""

    def __init__(self, settings: Settings, options: StoreOptions | None = None) -> None:
        self._settings = settings
        self._options = options or StoreOptions()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._producer: object | None = None
        self._error: str | None = None

    def start(self, apply: Apply) -> None:
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        from velocity_stream.kafka.clients import new_consumer, new_producer

        self.ensure_topic()
        self._producer = new_producer(
            self._settings,
            client_id=f"{self._settings.client_id}-registry",
            # A registry write is one small record someone waits for: send it at once.
            overrides={"linger.ms": 0, "compression.type": "none"},
        )
        consumer = new_consumer(
            self._settings,
            # Never joins the group (assign, not subscribe) and never commits: every
            # process reads the whole topic; the id only satisfies librdkafka.
            group_id=f"velocity-registry-{uuid.uuid4().hex[:12]}",
            client_id=f"{self._settings.client_id}-registry-tail",
        )
        consumer.assign([TopicPartition(self._options.topic, 0, OFFSET_BEGINNING)])

        def tail() -> None:
            try:
                while not self._stop.is_set():
                    message = consumer.poll(0.1)
                    if message is None:
                        continue
                    if message.error():
                        log.warning("registry topic read error: %s", message.error())
                        continue
                    offset = message.offset()
                    if offset is not None:
                        apply(offset, message.key(), message.value())
            finally:
                consumer.close()

        self._thread = threading.Thread(target=tail, name="registry-tail", daemon=True)
        self._thread.start()

    def ensure_topic(self) -> None:
        """Create the topic (1 partition, compacted) or check that the existing one has 1."""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient, NewTopic

        from velocity_stream.kafka.client_logs import librdkafka_logger
        from velocity_stream.kafka.config import admin_config

        admin = AdminClient(admin_config(self._settings), logger=librdkafka_logger())
        topic = self._options.topic
        new = NewTopic(
            topic,
            num_partitions=1,
            replication_factor=self._options.replication_factor,
            config={"cleanup.policy": "compact"},
        )
        future = admin.create_topics([new], operation_timeout=10)[topic]
        try:
            future.result(timeout=15)
        except KafkaException as error:
            if error.args[0].code() != _topic_exists_code():
                raise StoreError(f"cannot create registry topic {topic}: {error}") from error
        metadata = admin.list_topics(topic=topic, timeout=10).topics.get(topic)
        partitions = len(metadata.partitions) if metadata is not None else 0
        if partitions != 1:
            # Ordering across partitions is undefined, and ids rely on one total order.
            raise StoreError(
                f"registry topic {topic} has {partitions} partitions; it must have exactly 1"
            )

    def append(self, key: bytes, value: bytes | None, timeout: float) -> int:
        from confluent_kafka import KafkaError, Message

        producer = self._producer
        if producer is None:
            raise StoreError("the registry log is not started")
        outcome: dict[str, object] = {}
        done = threading.Event()

        def delivered(error: KafkaError | None, message: Message) -> None:
            outcome["error"] = error
            outcome["offset"] = None if error else message.offset()
            done.set()

        producer.produce(  # type: ignore[attr-defined]
            self._options.topic, value=value, key=key, partition=0, on_delivery=delivered
        )
        producer.flush(timeout)  # type: ignore[attr-defined]
        if not done.is_set():
            raise StoreError(f"registry write not acknowledged within {timeout}s")
        if outcome["error"] is not None:
            raise StoreError(f"registry write failed: {outcome['error']}")
        offset = outcome["offset"]
        assert isinstance(offset, int)
        return offset

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._producer is not None:
            self._producer.flush(5)  # type: ignore[attr-defined]
            self._producer = None


def _topic_exists_code() -> int:
    from confluent_kafka import KafkaError

    return int(KafkaError.TOPIC_ALREADY_EXISTS)


def kafka_store(settings: Settings, options: StoreOptions | None = None) -> RegistryStore:
    """A started store over the registry topic of the Kafka in ``settings``."""
    options = options or StoreOptions()
    return RegistryStore(KafkaLog(settings, options), options).start()


def memory_store() -> RegistryStore:
    """A started store that lives in this process only (unit tests, throwaway registries)."""
    return RegistryStore(MemoryLog()).start()
