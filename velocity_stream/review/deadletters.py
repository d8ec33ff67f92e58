"""Recent dead letters: the last few hundred records the gateway refused, with their reasons.

Every field comes from the ``velocity.dlq.*`` headers the gateway appends (reason, stage,
message, field, where the record came from); the producer's own envelope headers, kept on
the dead letter, are shown as hints only. A refused decision is decoded to learn its
decision id, so the app can tell a reviewer that the gateway turned their decision down.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime

from velocity_stream.contracts.catalog import Catalog, Family
from velocity_stream.errors import RegistryError, SerdeError
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.decisions import DECISION_ID
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.review.queue import decision_families
from velocity_stream.serde.avro import AvroSerde

DEFAULT_CAPACITY = 500


@dataclass(frozen=True, slots=True)
class DeadLetterEntry:
    """One refused record: why, where it came from, and what it claimed to be."""

    reason: str
    stage: str
    message: str
    field: str | None
    source_topic: str
    source_partition: int | None
    source_offset: int | None
    refused_at: datetime | None
    artifact_type: str | None
    artifact_id: str | None
    producer: str | None
    key: str | None
    value_bytes: int
    dlq_partition: int
    dlq_offset: int
    decision_id: str | None = None

    @property
    def source(self) -> str:
        where = self.source_topic or "?"
        if self.source_partition is not None and self.source_offset is not None:
            where += f"[{self.source_partition}]@{self.source_offset}"
        return where


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def dead_letter_entry(record: InboundMessage, decision_id: str | None = None) -> DeadLetterEntry:
    """Read one dead-letter record's headers. Pure; never raises on odd headers."""
    found = record.header_text()
    refused_ms = _int(found.get(h.DLQ_TIME))
    if refused_ms is None:
        refused_ms = record.timestamp_ms or None
    key = record.key.decode("utf-8", "replace") if record.key is not None else None
    return DeadLetterEntry(
        reason=found.get(h.DLQ_REASON, "unknown"),
        stage=found.get(h.DLQ_STAGE, "unknown"),
        message=found.get(h.DLQ_MESSAGE, ""),
        field=found.get(h.DLQ_FIELD) or None,
        source_topic=found.get(h.DLQ_SOURCE_TOPIC, ""),
        source_partition=_int(found.get(h.DLQ_SOURCE_PARTITION)),
        source_offset=_int(found.get(h.DLQ_SOURCE_OFFSET)),
        refused_at=(
            datetime.fromtimestamp(refused_ms / 1000, tz=UTC) if refused_ms is not None else None
        ),
        artifact_type=found.get(h.ARTIFACT_TYPE),
        artifact_id=found.get(h.ARTIFACT_ID),
        producer=found.get(h.PRODUCER),
        key=key,
        value_bytes=len(record.value or b""),
        dlq_partition=record.partition,
        dlq_offset=record.offset,
        decision_id=decision_id,
    )


class DeadLetterLog:
    """The newest ``capacity`` dead letters, counts by reason, and refusals by decision id."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._lock = threading.Lock()
        self._entries: deque[DeadLetterEntry] = deque(maxlen=capacity)
        self._by_reason: Counter[str] = Counter()
        self._refused_decisions: dict[str, DeadLetterEntry] = {}
        self.total = 0

    def add(self, entry: DeadLetterEntry) -> None:
        with self._lock:
            self._entries.append(entry)
            self._by_reason[entry.reason] += 1
            self.total += 1
            if entry.decision_id is not None:
                self._refused_decisions.setdefault(entry.decision_id, entry)

    def recent(self, limit: int = 100, reason: str | None = None) -> list[DeadLetterEntry]:
        """Newest first, optionally only one reason code."""
        with self._lock:
            entries = list(reversed(self._entries))
        if reason:
            entries = [e for e in entries if e.reason == reason]
        return entries[:limit]

    def counts(self) -> list[tuple[str, int]]:
        """Every reason seen since the start of the topic, most frequent first."""
        with self._lock:
            return self._by_reason.most_common()

    def refusal_of(self, decision_id: str) -> DeadLetterEntry | None:
        with self._lock:
            return self._refused_decisions.get(decision_id)


class DeadLetterFeed:
    """Turns dead-letter-topic records into log entries."""

    def __init__(
        self, catalog: Catalog, serde: AvroSerde, topic_prefix: str, log: DeadLetterLog
    ) -> None:
        self.log = log
        self._serde = serde
        self.topic = catalog.dead_letter_topic(topic_prefix)
        self._decision_topics: dict[str, tuple[Family, int]] = {
            family.ingress_topic(topic_prefix, major): (family, major)
            for family in decision_families(catalog)
            for major in family.majors()
        }

    @property
    def topics(self) -> list[str]:
        return [self.topic]

    def handle(self, record: InboundMessage) -> None:
        entry = dead_letter_entry(record)
        target = self._decision_topics.get(entry.source_topic)
        if target is not None:
            entry = dead_letter_entry(record, self._decision_id(record, *target))
        self.log.add(entry)

    def _decision_id(self, record: InboundMessage, family: Family, major: int) -> str | None:
        # The body, not the producer's header, says which decision this was; a decision
        # refused at decode has no readable body and no id.
        try:
            decoded = self._serde.decode_record(record.value, family, major)
        except (SerdeError, RegistryError):
            return None
        value = decoded.record.get(DECISION_ID)
        return str(value) if value is not None else None
