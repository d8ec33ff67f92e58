"""``tail``: read a topic without a consumer group; print each record decoded, as a JSON line.

Partitions are assigned directly (no group join, nothing committed). Where a partition "ends"
comes from the fetch responses, never from ListOffsets: on Tansu ListOffsets answers the last
batch's base offset + 1, so it can name an offset inside the last batch. Concretely:

* from the beginning, without ``--follow``: each partition is read up to the high watermark of
  the first fetch response that reaches it (librdkafka's cached value, or a partition-EOF event,
  which carries the same number), then the tail stops;
* only new records (the default): the partition starts at OFFSET_END (a ListOffsets answer,
  possibly too low on Tansu) and everything below the first fetch response's high watermark is
  skipped, so records that were already there never show, even when ListOffsets was off.

Records a fetch returned after the tail started can fall on either side of that first high
watermark; that is the usual "as of start" of a console consumer.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    Consumer,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from velocity_stream.console.render import Decoded, dead_letter_json, line, record_json
from velocity_stream.contracts.catalog import Catalog, Family
from velocity_stream.contracts.metadata import validate_artifact
from velocity_stream.dlq.records import parse_dead_letter
from velocity_stream.errors import (
    ConfigError,
    ContractError,
    ReasonCode,
    RegistryError,
    SerdeError,
    VelocityError,
)
from velocity_stream.gateway.messages import InboundMessage
from velocity_stream.kafka import headers as kh
from velocity_stream.kafka.config import consumer_config
from velocity_stream.observability import cached_high_watermark
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.serde.wire import HEADER_SIZE, MAGIC_BYTE
from velocity_stream.settings import Settings

log = logging.getLogger(__name__)
librdkafka_log = logging.getLogger("velocity_stream.kafka.librdkafka")

METADATA_TIMEOUT_S = 10.0
# Without --follow: how long the tail waits with no event at all before saying it is stuck.
DEFAULT_STALL_TIMEOUT_S = 30.0
# Names for the gateway's own topics, besides their full names.
GATEWAY_ALIASES = ("dead-letters", "dlq", "approvals", "commits")
# Code for a value whose family cannot be told (not a family topic, no known schema).
UNKNOWN_FAMILY = ReasonCode.DECODE_UNKNOWN_TOPIC.value


class TailError(VelocityError):
    """The topic cannot be read: it does not exist, Kafka does not answer, or a read stalled."""


def resolve_topic(catalog: Catalog, prefix: str, name: str, *, ingress: bool = False) -> str:
    """The topic ``name`` means: a catalog topic's full name, a gateway topic's alias
    (dead-letters, dlq, approvals, commits), a family's accepted topic (its ingress topic with
    ``ingress``), or, failing all those, ``name`` itself (a topic outside the catalog)."""
    if not ingress:
        if name in {spec.name for spec in catalog.topic_specs(prefix)}:
            return name
        if name in ("dead-letters", "dlq"):
            return catalog.dead_letter_topic(prefix)
        if name == "approvals":
            return catalog.approvals_topic(prefix)
        if name == "commits":
            return catalog.commits_topic(prefix)
    try:
        family = catalog.family(name)
    except ConfigError:
        if ingress:
            raise ConfigError(
                f"--ingress takes a family name; {name!r} is none of: {', '.join(catalog.families)}"
            ) from None
        return name
    return family.ingress_topic(prefix) if ingress else family.accepted_topic(prefix)


# --- decoding -------------------------------------------------------------------------------


class RecordDecoder:
    """Tells each record's family and decodes its value; never raises on a bad record.

    The family comes from the topic when it is a family's ingress or accepted topic (or an
    internal family's topic), else from
    the writer schema the value's schema id names, else from the producer's type header.
    """

    def __init__(self, catalog: Catalog, serde: AvroSerde, prefix: str) -> None:
        self._catalog = catalog
        self._serde = serde
        self.ingress = catalog.ingress_topics(prefix)
        self._by_topic: dict[str, tuple[Family, int]] = dict(self.ingress)
        for family in catalog:
            for major in family.majors():
                self._by_topic[family.accepted_topic(prefix, major)] = (family, major)
        self._by_topic.update(catalog.internal_topics(prefix))  # commits, applied, audit
        self.dead_letter_topic = catalog.dead_letter_topic(prefix)

    def target(
        self, topic: str | None, headers: Sequence[tuple[str, bytes]], value: bytes | None
    ) -> tuple[Family, int] | None:
        if topic is not None and topic in self._by_topic:
            return self._by_topic[topic]
        family = self._family_of_writer(value) or self._family_of_header(headers)
        if family is None:
            return None
        return family, self._major_of(family, headers)

    def _family_of_writer(self, value: bytes | None) -> Family | None:
        if not value or len(value) < HEADER_SIZE or value[0] != MAGIC_BYTE:
            return None
        schema_id = int.from_bytes(value[1:HEADER_SIZE], "big")
        try:
            schema = json.loads(self._serde.resolver.schema_by_id(schema_id))
        except (VelocityError, ValueError):
            return None  # decoding says why, with the schema id
        if not isinstance(schema, dict):
            return None
        name = str(schema.get("name", ""))
        if "." not in name and schema.get("namespace"):
            name = f"{schema['namespace']}.{name}"
        return self._catalog.by_avro_name(name)

    def _family_of_header(self, headers: Sequence[tuple[str, bytes]]) -> Family | None:
        for name, value in reversed(headers):
            if name == kh.ARTIFACT_TYPE:
                try:
                    return self._catalog.family(value.decode("utf-8", "replace"))
                except ConfigError:
                    return None
        return None

    @staticmethod
    def _major_of(family: Family, headers: Sequence[tuple[str, bytes]]) -> int:
        for name, value in reversed(headers):
            if name == kh.SCHEMA_VERSION:
                head = value.decode("utf-8", "replace").split(".")[0]
                if head.isdigit() and int(head) in family.majors():
                    return int(head)
        return family.latest.major

    def decode(self, value: bytes | None, target: tuple[Family, int] | None) -> Decoded:
        if target is None:
            return Decoded(
                None,
                error_code=UNKNOWN_FAMILY,
                error_message="no family: not a family's topic, and the value names no schema "
                "of the catalog",
            )
        family, major = target
        try:
            read = self._serde.decode_record(value, family, major)
        except SerdeError as error:
            return Decoded(family.name, error_code=error.code.value, error_message=str(error))
        except RegistryError as error:
            code = ReasonCode.DECODE_REGISTRY_UNAVAILABLE.value
            return Decoded(family.name, error_code=code, error_message=str(error))
        except Exception as error:  # one odd record must not stop the tail
            return Decoded(
                family.name,
                error_code=ReasonCode.INTERNAL_ERROR.value,
                error_message=f"{type(error).__name__}: {error}",
            )
        try:
            artifact = validate_artifact(self._serde.model(family.name, read.major), read.record)
        except ContractError as error:
            return Decoded(
                family.name,
                error_code=error.code.value,
                error_message=str(error),
                violations=tuple(
                    {"code": v.code.value, "path": v.path, "message": v.message}
                    for v in error.violations
                ),
                record=read.record,
            )
        return Decoded(family.name, artifact=artifact.model_dump(mode="json"))

    def render(self, record: InboundMessage) -> dict[str, Any]:
        """The JSON object for one record; dead letters get their reason headers decoded."""
        dead_letter: dict[str, Any] | None = None
        if record.topic == self.dead_letter_topic:
            parsed = parse_dead_letter(record, self.ingress)
            target = self.ingress.get(parsed.source_topic or "") or self.target(
                None, parsed.original_headers, record.value
            )
            dead_letter = dead_letter_json(
                reason=parsed.reason,
                stage=parsed.stage,
                message=parsed.message,
                field_path=parsed.field,
                source=parsed.source,
                dead_lettered_at_ms=parsed.dead_lettered_at_ms,
                gateway_version=parsed.gateway_version,
                dropped=parsed.dropped,
            )
        else:
            target = self.target(record.topic, record.headers, record.value)
        return record_json(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            timestamp_ms=record.timestamp_ms if record.timestamp_ms >= 0 else None,
            key=record.key,
            headers=record.headers,
            value=record.value,
            decoded=self.decode(record.value, target),
            dead_letter=dead_letter,
        )


# --- reading --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Bounds:
    """What the first fetch response told about one partition."""

    learned: bool = False
    floor: int = 0  # records below it were there before the tail started
    end: int | None = None  # without --follow: where this partition's read stops


def _headers_of(raw: object) -> tuple[tuple[str, bytes], ...]:
    if not raw:
        return ()
    pairs = raw.items() if isinstance(raw, dict) else raw
    assert isinstance(pairs, Iterable)
    return tuple(
        (str(name), value.encode() if isinstance(value, str) else bytes(value or b""))
        for name, value in pairs
    )


class TopicTail:
    """The records of one topic, partition by partition in arrival order; a context manager."""

    def __init__(
        self,
        settings: Settings,
        topic: str,
        *,
        from_beginning: bool,
        follow: bool,
        stall_timeout: float = DEFAULT_STALL_TIMEOUT_S,
    ) -> None:
        self.topic = topic
        self._from_beginning = from_beginning
        self._follow = follow
        self._stall_timeout = stall_timeout
        name = f"{settings.client_id}-tail"
        config: dict[str, object] = dict(
            consumer_config(
                settings,
                # Required by librdkafka even though nothing joins or commits with it.
                f"{name}-{uuid.uuid4().hex[:8]}",
                client_id=name,
                overrides={"enable.partition.eof": True},
            )
        )
        config["logger"] = librdkafka_log
        self._consumer = Consumer(config)
        self._closed = False

    def partitions(self) -> list[int]:
        try:
            metadata = self._consumer.list_topics(self.topic, timeout=METADATA_TIMEOUT_S)
        except KafkaException as error:
            raise TailError(f"no metadata for {self.topic}: {error.args[0]}") from None
        found = metadata.topics.get(self.topic)
        if found is None or found.error is not None or not found.partitions:
            raise TailError(f"topic {self.topic} does not exist")
        return sorted(found.partitions)

    def _learn(self, bounds: _Bounds, partition: int, eof_offset: int | None) -> None:
        if bounds.learned:
            return
        known = [
            offset
            for offset in (cached_high_watermark(self._consumer, self.topic, partition), eof_offset)
            if offset is not None and offset >= 0
        ]
        if not known:
            return
        high = max(known)
        bounds.learned = True
        if not self._from_beginning:
            bounds.floor = high
        if not self._follow:
            bounds.end = high

    def records(self) -> Iterator[InboundMessage]:
        partitions = self.partitions()
        start = OFFSET_BEGINNING if self._from_beginning else OFFSET_END
        self._consumer.assign([TopicPartition(self.topic, p, start) for p in partitions])
        bounds = {p: _Bounds() for p in partitions}
        pending = set(partitions)
        last_event = time.monotonic()
        while self._follow or pending:
            message = self._consumer.poll(0.5)
            if message is None:
                if not self._follow and time.monotonic() - last_event > self._stall_timeout:
                    raise TailError(
                        f"{self.topic}: partitions {sorted(pending)} did not reach their end "
                        f"within {self._stall_timeout:.0f} s"
                    )
                continue
            last_event = time.monotonic()
            partition = message.partition() or 0
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    if partition in bounds:
                        self._learn(bounds[partition], partition, message.offset())
                    pending.discard(partition)
                    continue
                if error.fatal() or error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise TailError(f"{self.topic}: {error.str()}")
                log.warning("reading %s: %s", self.topic, error.str())
                continue
            here = bounds.get(partition)
            if here is None:
                continue
            self._learn(here, partition, None)
            offset = message.offset() or 0
            if offset < here.floor:
                continue  # there before the tail started (OFFSET_END was too low)
            if not self._follow:
                if partition not in pending:
                    continue  # past this partition's end: not part of the read
                if here.end is not None and offset >= here.end:
                    pending.discard(partition)
                    continue
            _, timestamp = message.timestamp()
            yield InboundMessage(
                topic=message.topic() or self.topic,
                partition=partition,
                offset=offset,
                key=message.key(),
                value=message.value(),
                headers=_headers_of(message.headers()),
                timestamp_ms=timestamp,
            )
            if here.end is not None and offset + 1 >= here.end:
                pending.discard(partition)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._consumer.close()

    def __enter__(self) -> TopicTail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_tail(
    settings: Settings,
    catalog: Catalog,
    serde: AvroSerde,
    topic: str,
    out: TextIO,
    *,
    from_beginning: bool,
    follow: bool,
    family: str | None = None,
    max_records: int | None = None,
    stall_timeout: float = DEFAULT_STALL_TIMEOUT_S,
) -> int:
    """Print ``topic``'s records as JSON lines on ``out``; returns how many were printed."""
    wanted = catalog.family(family).name if family else None
    decoder = RecordDecoder(catalog, serde, settings.topic_prefix)
    shown = 0
    if max_records is not None and max_records <= 0:
        return shown
    with TopicTail(
        settings,
        topic,
        from_beginning=from_beginning,
        follow=follow,
        stall_timeout=stall_timeout,
    ) as tail:
        for record in tail.records():
            obj = decoder.render(record)
            if wanted is not None and obj.get("family") != wanted:
                continue
            out.write(line(obj) + "\n")
            out.flush()
            shown += 1
            if max_records is not None and shown >= max_records:
                break
    return shown
