"""One dead letter in full, and replaying it from the page: the same code as ``velocity-stream
dlq show`` and ``dlq replay`` (velocity_stream/dlq), so a replay from the app is planned,
refused and audited exactly as one from the command line.

The record is read at its coordinates with the group-less TopicReader; the payload is decoded
with the app's serde when it can be (framing, family, contract), and shown as hex otherwise.
A replay is planned with :func:`~velocity_stream.dlq.replay.plan_replay` (already replayed,
not an ingress topic, input not kept, a replay refused again: skipped with the CLI's reason),
then sent by the :class:`~velocity_stream.dlq.replay.Replayer`, which writes the audit record
with the reviewer's ref as the operator.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Protocol

from velocity_stream.contracts.catalog import Catalog
from velocity_stream.dlq.audit import AuditLog, AuditRecord, audit_topic
from velocity_stream.dlq.payload import DecodeAttempt, attempt_decode, hex_dump
from velocity_stream.dlq.reader import read_audit_log
from velocity_stream.dlq.records import DeadLetter, dead_letter_block_start, parse_dead_letter
from velocity_stream.dlq.replay import Replayer, ensure_audit_topic, plan_replay
from velocity_stream.kafka.reader import TopicReader
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.settings import Settings

HEX_LIMIT = 4096  # bytes of a payload shown as hex on the page


@dataclass(frozen=True, slots=True)
class HeaderLine:
    name: str
    value: str
    gateway: bool  # added by the gateway (or an earlier replay): not sent again by a replay


@dataclass(frozen=True, slots=True)
class DeadLetterDetail:
    """What the detail page shows of one dead letter."""

    topic: str
    dead_letter: DeadLetter
    headers: tuple[HeaderLine, ...]
    key: str
    decode: DecodeAttempt
    decoded_json: str | None
    hex_lines: tuple[str, ...]
    replays: tuple[AuditRecord, ...]


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """What one replay from the page did: sent (with its target) or skipped (and why)."""

    replayed: bool
    text: str
    replay_id: str | None = None


class DeadLetterDesk(Protocol):
    def detail(self, partition: int, offset: int) -> DeadLetterDetail | None: ...

    def replay(
        self, partition: int, offset: int, operator: str, *, force: bool = False
    ) -> ReplayOutcome: ...


def _text(value: bytes | None) -> str:
    if value is None:
        return "(null)"
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return f"0x{value.hex()}"


class KafkaDeadLetterDesk:
    """The dead-letter topic of one deployment, read and replayed through Kafka."""

    def __init__(self, settings: Settings, catalog: Catalog, serde: AvroSerde) -> None:
        self._settings = settings
        self._catalog = catalog
        self._serde = serde
        prefix = settings.topic_prefix
        self.topic = catalog.dead_letter_topic(prefix)
        self._audit_topic = audit_topic(catalog, prefix)
        self._ingress = catalog.ingress_topics(prefix)
        self._lock = threading.Lock()  # one replay at a time: the audit check must see the last

    def _read(self, partition: int, offset: int) -> tuple[DeadLetter | None, list[AuditRecord]]:
        with TopicReader(self._settings, role="review-dlq") as reader:
            record = reader.read_one(self.topic, partition, offset)
            if record is None:
                return None, []
            audit = read_audit_log(reader, self._audit_topic, self._serde, self._catalog)
        dead_letter = parse_dead_letter(record, self._ingress)
        return dead_letter, audit.replays_of(dead_letter.coordinates)

    def detail(self, partition: int, offset: int) -> DeadLetterDetail | None:
        dead_letter, replays = self._read(partition, offset)
        if dead_letter is None:
            return None
        record = dead_letter.record
        block = dead_letter_block_start(record.headers)
        headers = tuple(
            HeaderLine(name, _text(value), index >= block or name.startswith("velocity.replay."))
            for index, (name, value) in enumerate(record.headers)
        )
        family, major = self._ingress.get(dead_letter.source_topic or "", (None, None))
        attempt = attempt_decode(record.value, family, major, self._serde)
        decoded = (
            json.dumps(attempt.to_json()["record"], indent=2, ensure_ascii=False)
            if attempt.record is not None
            else None
        )
        return DeadLetterDetail(
            topic=self.topic,
            dead_letter=dead_letter,
            headers=headers,
            key=_text(record.key),
            decode=attempt,
            decoded_json=decoded,
            hex_lines=tuple(hex_dump(record.value or b"", HEX_LIMIT)),
            replays=tuple(replays),
        )

    def replay(
        self, partition: int, offset: int, operator: str, *, force: bool = False
    ) -> ReplayOutcome:
        with self._lock:
            dead_letter, replays = self._read(partition, offset)
            if dead_letter is None:
                return ReplayOutcome(False, f"there is no dead letter at {partition}:{offset}")
            plan = plan_replay([dead_letter], AuditLog(tuple(replays)), self._ingress, force=force)
            if not plan.selected:
                skipped = plan.skipped[0]
                return ReplayOutcome(False, f"not replayed ({skipped.why.value}): {skipped.detail}")
            name = ensure_audit_topic(self._settings, self._catalog)
            with Replayer(
                self._settings,
                self._catalog,
                operator=operator,
                audit_topic=name,
                serde=self._serde,
            ) as replayer:
                report = replayer.run(plan, filter_text=f"review app: {dead_letter.position}")
        if report.failed:
            return ReplayOutcome(False, f"not replayed: {report.failed[0].error}", report.replay_id)
        target = report.replayed[0].target
        return ReplayOutcome(
            True,
            f"sent back to {target[0]} {target[1]}:{target[2]} (replay {report.replay_id}); "
            "the gateway judges it afresh",
            report.replay_id,
        )
