"""Replaying dead letters: back to their ingress topic, through the gateway, audited once each.

A replay republishes the refused input's original key, value and headers (minus the gateway's
``velocity.dlq.*`` block, plus ``velocity.replay.*`` headers naming the dead letter) to the
ingress topic it was consumed from. The gateway then judges it afresh: accepted now that its
cause is fixed, or dead-lettered again. A replay never writes to an accepted topic.

Planning is pure (:func:`plan_replay`); :class:`Replayer` is the Kafka edge. Its order, per
chunk of dead letters:

1. produce each replayed record to its ingress topic;
2. wait until every one of them is acknowledged;
3. produce one audit record per acknowledged replay;
4. wait until every audit record is acknowledged.

A crash between 2 and 4 leaves replays without audit records, so a rerun replays them again
(at-least-once). The reverse, an audit record for a replay that never happened, cannot occur.
A second replay of the same dead letter is skipped because of its audit record unless forced.
A dead letter of a replayed record (refused again) is always skipped: its input carries the
``velocity.replay.*`` headers of the replay, and replaying it would resend a copy of a copy,
for ever while the cause stands. After fixing the cause, ``--force`` replays the original.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from velocity_stream import __version__
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.dlq.audit import AuditLog, AuditRecord, audit_topic_spec, iso_millis
from velocity_stream.dlq.records import Coordinates, DeadLetter, replay_headers
from velocity_stream.errors import VelocityError
from velocity_stream.kafka.clients import new_producer
from velocity_stream.kafka.topics import TopicAdmin
from velocity_stream.protocol.headers import KafkaHeaders
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.settings import Settings

log = logging.getLogger(__name__)

CHUNK_SIZE = 500
FLUSH_TIMEOUT_S = 60.0
METADATA_TIMEOUT_S = 10.0


class ReplayError(VelocityError):
    """A replay could not start (audit topic unavailable) or its audit could not be written."""


class SkipReason(StrEnum):
    """Why a selected dead letter is not replayed."""

    ALREADY_REPLAYED = "already_replayed"
    NOT_A_DEAD_LETTER = "not_a_gateway_dead_letter"
    NO_SOURCE_TOPIC = "no_source_topic"
    NOT_AN_INGRESS_TOPIC = "not_an_ingress_topic"
    INPUT_NOT_KEPT = "input_not_kept"
    REPLAY_REFUSED_AGAIN = "replay_refused_again"


@dataclass(frozen=True, slots=True)
class Skipped:
    dead_letter: DeadLetter
    why: SkipReason
    detail: str


@dataclass(frozen=True)
class ReplayPlan:
    """What a replay would do: the dead letters to republish, and the ones it leaves alone."""

    selected: tuple[DeadLetter, ...]
    skipped: tuple[Skipped, ...]
    forced: bool = False

    def targets(self) -> dict[str, int]:
        """How many records go to each ingress topic."""
        counts: dict[str, int] = {}
        for dead_letter in self.selected:
            assert dead_letter.source_topic is not None  # plan_replay guarantees it
            counts[dead_letter.source_topic] = counts.get(dead_letter.source_topic, 0) + 1
        return counts


def plan_replay(
    dead_letters: Iterable[DeadLetter],
    audit: AuditLog,
    ingress_topics: Collection[str],
    *,
    force: bool = False,
    limit: int | None = None,
) -> ReplayPlan:
    """Choose what to replay. Pure.

    Skipped: records without the gateway's reason headers, dead letters whose source is not an
    ingress topic of the catalog (a replay never goes anywhere else), dead letters that were
    too large to keep their input, dead letters of a replayed record (even with ``force``: the
    original is what gets replayed again) and, unless ``force``, dead letters the audit log
    says were replayed already. ``limit`` caps what is selected
    (skips do not count against it); dead letters after the cap are left for a later run.
    """
    selected: list[DeadLetter] = []
    skipped: list[Skipped] = []
    seen: set[Coordinates] = set()
    for dead_letter in dead_letters:
        if limit is not None and len(selected) >= limit:
            break
        if dead_letter.coordinates in seen:
            continue
        seen.add(dead_letter.coordinates)
        if not dead_letter.is_gateway_dead_letter:
            skipped.append(
                Skipped(dead_letter, SkipReason.NOT_A_DEAD_LETTER, "no velocity.dlq.reason header")
            )
            continue
        if not dead_letter.source_topic:
            skipped.append(
                Skipped(
                    dead_letter, SkipReason.NO_SOURCE_TOPIC, "no velocity.dlq.source.topic header"
                )
            )
            continue
        if dead_letter.source_topic not in ingress_topics:
            skipped.append(
                Skipped(
                    dead_letter,
                    SkipReason.NOT_AN_INGRESS_TOPIC,
                    f"{dead_letter.source_topic} is not an ingress topic of the catalog",
                )
            )
            continue
        if dead_letter.dropped:
            # Too large to carry its input: resending it would send an empty record.
            skipped.append(
                Skipped(
                    dead_letter,
                    SkipReason.INPUT_NOT_KEPT,
                    f"the dead letter left out the input's {', '.join(dead_letter.dropped)}; "
                    f"the original is at {dead_letter.source_topic} "
                    f"{dead_letter.source_partition}:{dead_letter.source_offset}",
                )
            )
            continue
        if dead_letter.replay_of is not None:
            # Never, even forced: the original is replayed instead (it has the audit record).
            skipped.append(
                Skipped(
                    dead_letter,
                    SkipReason.REPLAY_REFUSED_AGAIN,
                    f"refused again after {_replay_text(dead_letter)}; once the cause is fixed, "
                    "replay the original (--force, as it was replayed already)",
                )
            )
            continue
        previous = audit.last_replay(dead_letter.coordinates)
        if previous is not None and not force:
            skipped.append(
                Skipped(
                    dead_letter,
                    SkipReason.ALREADY_REPLAYED,
                    f"replayed by {previous.operator} at {previous.replayed_at} "
                    f"(replay {previous.replay_id}); --force replays it again",
                )
            )
            continue
        selected.append(dead_letter)
    return ReplayPlan(tuple(selected), tuple(skipped), force)


def _replay_text(dead_letter: DeadLetter) -> str:
    run = f"replay {dead_letter.replay_id}" if dead_letter.replay_id else "a replay"
    if dead_letter.replay_of is None or dead_letter.replay_of[1] < 0:
        return run
    topic, partition, offset = dead_letter.replay_of
    return f"{run} of the dead letter {topic} {partition}:{offset}"


@dataclass(frozen=True, slots=True)
class Replayed:
    dead_letter: DeadLetter
    audit: AuditRecord

    @property
    def target(self) -> Coordinates:
        return self.audit.target


@dataclass(frozen=True, slots=True)
class ReplayFailure:
    dead_letter: DeadLetter
    error: str


@dataclass(frozen=True)
class ReplayReport:
    replay_id: str
    operator: str
    audit_topic: str
    plan: ReplayPlan
    replayed: tuple[Replayed, ...] = ()
    failed: tuple[ReplayFailure, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.failed


Progress = Callable[[int, int], None]


def now_iso() -> str:
    return iso_millis(datetime.now(UTC))


def ensure_audit_topic(
    settings: Settings, catalog: Catalog, replication_factor: int | None = None
) -> str:
    """The audit topic, created if missing (until ``topics apply`` creates it from the catalog).

    ``replication_factor`` defaults to the catalog's, as ``topics apply`` does.
    """
    spec = audit_topic_spec(catalog, settings.topic_prefix)
    admin = TopicAdmin(settings)
    if admin.describe([spec.name]):
        return spec.name
    errors = admin.create([spec], replication_factor or catalog.replication_factor)
    error = errors.get(spec.name)
    if error not in (None, "TOPIC_ALREADY_EXISTS"):
        raise ReplayError(f"cannot create the audit topic {spec.name}: {error}")
    log.info("created the replay audit topic %s", spec.name)
    return spec.name


def _on_producer_error(error: KafkaError) -> None:
    log.warning("replay producer: %s", error)


class Replayer:
    """Republishes planned dead letters and writes their audit records; a context manager."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        *,
        operator: str,
        audit_topic: str,
        serde: AvroSerde,
        client_id: str | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.operator = operator
        self.audit_topic = audit_topic
        self._serde = serde
        self._chunk_size = chunk_size
        name = client_id or f"{settings.client_id}-dlq-replay"
        # A plain function, not a bound method, for errors: the producer must not keep this
        # object alive (a cycle through librdkafka's handle would outlive close()).
        self._producer: Producer | None = new_producer(
            settings, client_id=name, on_error=_on_producer_error
        )
        self._catalog = catalog
        self._host = socket.gethostname()
        self._lock = threading.Lock()

    def run(
        self,
        plan: ReplayPlan,
        *,
        filter_text: str = "",
        progress: Progress | None = None,
        replay_id: str | None = None,
    ) -> ReplayReport:
        """Replay every selected dead letter (steps in the module docstring)."""
        run_id = replay_id or str(uuid.uuid4())
        missing = self._missing_topics(plan.targets())
        replayed: list[Replayed] = []
        failed: list[ReplayFailure] = []
        total = len(plan.selected)
        if progress is not None:
            progress(0, total)
        for start in range(0, total, self._chunk_size):
            chunk = plan.selected[start : start + self._chunk_size]
            ready = [d for d in chunk if d.source_topic not in missing]
            failed += [
                ReplayFailure(d, f"ingress topic {d.source_topic} does not exist")
                for d in chunk
                if d.source_topic in missing
            ]
            delivered, errors = self._republish(ready, run_id)
            failed += errors
            records = [
                self._audit_record(d, target, run_id, plan.forced, filter_text)
                for d, target in delivered
            ]
            self._write_audit(records)
            replayed += [Replayed(d, r) for (d, _), r in zip(delivered, records, strict=True)]
            if progress is not None:
                progress(min(start + len(chunk), total), total)
        return ReplayReport(
            run_id, self.operator, self.audit_topic, plan, tuple(replayed), tuple(failed)
        )

    # --- steps ----------------------------------------------------------------------------

    def _republish(
        self, dead_letters: Sequence[DeadLetter], run_id: str
    ) -> tuple[list[tuple[DeadLetter, Coordinates]], list[ReplayFailure]]:
        """Steps 1 and 2: produce every record, then wait for all acknowledgements."""
        results: dict[int, Coordinates | str] = {}

        def settled(index: int, error: KafkaError | None, message: Message) -> None:
            with self._lock:
                if error is not None:
                    results[index] = f"{error.name()}: {error.str()}"
                else:
                    results[index] = (
                        message.topic() or "",
                        message.partition() or 0,
                        message.offset() or 0,
                    )

        for index, dead_letter in enumerate(dead_letters):
            assert dead_letter.source_topic is not None
            record = dead_letter.record
            headers: KafkaHeaders = list(replay_headers(dead_letter, run_id, self.operator))
            try:
                self._produce(
                    dead_letter.source_topic,
                    record.key,
                    record.value,
                    headers,
                    functools.partial(settled, index),
                )
            except KafkaException as error:
                results[index] = str(error)
        remaining = self.producer.flush(FLUSH_TIMEOUT_S)
        delivered: list[tuple[DeadLetter, Coordinates]] = []
        failed: list[ReplayFailure] = []
        for index, dead_letter in enumerate(dead_letters):
            outcome = results.get(index)
            if isinstance(outcome, tuple):
                delivered.append((dead_letter, outcome))
            else:
                why = outcome or f"not acknowledged ({remaining} still queued after flush)"
                failed.append(ReplayFailure(dead_letter, why))
        return delivered, failed

    def _write_audit(self, records: Sequence[AuditRecord]) -> None:
        """Steps 3 and 4. Failing here leaves acknowledged replays unaudited: say so loudly."""
        errors: list[str] = []

        def settled(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                with self._lock:
                    errors.append(error.str())

        for record in records:
            self._produce(self.audit_topic, record.key, record.encode(self._serde), [], settled)
        remaining = self.producer.flush(FLUSH_TIMEOUT_S)
        if errors or remaining:
            raise ReplayError(
                f"{len(records)} records were replayed but {len(errors) + remaining} of their "
                f"audit records were not written to {self.audit_topic} ({'; '.join(errors)}); "
                "a later replay would replay them again"
            )

    def _produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: KafkaHeaders,
        on_delivery: Callable[[KafkaError | None, Message], None],
    ) -> None:
        while True:
            try:
                self.producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=on_delivery
                )
                return
            except BufferError:
                self.producer.poll(0.1)  # the local queue is full: serve deliveries first

    def _audit_record(
        self,
        dead_letter: DeadLetter,
        target: Coordinates,
        run_id: str,
        forced: bool,
        filter_text: str,
    ) -> AuditRecord:
        return AuditRecord(
            replay_id=run_id,
            operator=self.operator,
            replayed_at=now_iso(),
            dead_letter=dead_letter.coordinates,
            reason=dead_letter.reason,
            family=dead_letter.family,
            artifact_id=dead_letter.artifact_id,
            source=dead_letter.source,
            target=target,
            forced=forced,
            filter=filter_text,
            host=self._host,
            tool_version=__version__,
        )

    def _missing_topics(self, topics: Iterable[str]) -> set[str]:
        missing: set[str] = set()
        for topic in topics:
            try:
                metadata = self.producer.list_topics(topic, timeout=METADATA_TIMEOUT_S)
            except KafkaException as error:
                raise ReplayError(f"no metadata for {topic}: {error}") from error
            found = metadata.topics.get(topic)
            if found is None or found.error is not None:
                missing.add(topic)
        return missing

    @property
    def producer(self) -> Producer:
        if self._producer is None:
            raise ReplayError("the replayer is closed")
        return self._producer

    def close(self) -> None:
        """Flush, then drop the producer so librdkafka's handle is destroyed now, while the
        logging it may do on the way out still has somewhere to go."""
        if self._producer is not None:
            self.producer.flush(FLUSH_TIMEOUT_S)
            self._producer = None

    def __enter__(self) -> Replayer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
