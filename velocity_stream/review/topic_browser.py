"""The topic browser: any topic of the catalog, its records decoded with their contract.

A record's family comes from where it is: an ingress or accepted topic carries one family and
major; the approvals topic names the ingress topic its proposal came from
(``velocity.source.topic``), a dead letter the one it was refused on; anything else is decoded
by its ``velocity.artifact_type`` header, and shown as text or hex when it is not Avro.
Decoding never raises: a record that does not decode says why (a dead letter often does not).

A browse is a snapshot read with the group-less TopicReader, newest records first, searched
by key or artifact id; it reads at most ``scan`` records of the topic (from its start) and
says when it stopped there.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from velocity_stream.contracts.catalog import Catalog, Family
from velocity_stream.errors import VelocityError
from velocity_stream.kafka.reader import TopicReader
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.settings import Settings

DEFAULT_SCAN = 20_000
DEFAULT_LIMIT = 50
JSON_LIMIT = 20_000  # characters of a decoded record shown


@dataclass(frozen=True, slots=True)
class RecordView:
    """One record as the browser shows it."""

    partition: int
    offset: int
    timestamp_ms: int
    key: str
    headers: tuple[tuple[str, str], ...]
    family: str | None
    artifact_id: str | None
    decoded: str | None  # the record as JSON, when it decoded
    note: str  # how it was decoded, or why it was not
    refs: frozenset[str] = frozenset()  # top-level text values (ids and refs it names)


@dataclass(frozen=True, slots=True)
class TopicPage:
    topic: str
    records: tuple[RecordView, ...]  # newest first
    scanned: int
    matched: int
    stopped_early: bool  # the scan limit was reached before the topic's end


def topic_families(catalog: Catalog, prefix: str) -> dict[str, tuple[Family, int]]:
    """Every ingress and accepted topic with the family and major it carries."""
    found = dict(catalog.ingress_topics(prefix))
    for family in catalog:
        for major in family.majors():
            found[family.accepted_topic(prefix, major)] = (family, major)
    return found


def _text(value: bytes | None) -> str:
    if value is None:
        return "(null)"
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return f"0x{value.hex()}"


class RecordDecoder:
    """Decodes records of one deployment's topics; never raises."""

    def __init__(self, catalog: Catalog, prefix: str, serde: AvroSerde | None) -> None:
        self._catalog = catalog
        self._serde = serde
        self._topics = topic_families(catalog, prefix)

    def family_of(self, record: InboundMessage) -> tuple[Family, int] | None:
        if record.topic in self._topics:
            return self._topics[record.topic]
        found = record.header_text()
        for name in (h.SOURCE_TOPIC, h.DLQ_SOURCE_TOPIC):
            topic = found.get(name)
            if topic and topic in self._topics:
                return self._topics[topic]
        named = found.get(h.ARTIFACT_TYPE)
        if named:
            try:
                family = self._catalog.family(named)
            except VelocityError:
                return None
            return family, family.latest.major
        return None

    def view(self, record: InboundMessage) -> RecordView:
        target = self.family_of(record)
        header_id = record.header_text().get(h.ARTIFACT_ID)
        decoded: str | None = None
        artifact_id = header_id
        refs: frozenset[str] = frozenset()
        if target is None:
            note = "no contract names this record: shown as text"
            decoded = _text(record.value)[:JSON_LIMIT] if record.value else None
        elif self._serde is None:
            note = "no schema source to decode with"
        else:
            family, major = target
            try:
                body = self._serde.decode_record(record.value, family, major)
            except VelocityError as error:
                note = f"does not decode as {family.name} v{major}: {error}"
            except Exception as error:  # an unreachable registry must not break the page
                note = f"not decoded: {type(error).__name__}: {error}"
            else:
                note = f"{family.name} v{major}, schema id {body.schema_id}"
                decoded = json.dumps(body.record, indent=2, default=str, ensure_ascii=False)
                decoded = decoded[:JSON_LIMIT]
                if body.record.get("artifact_id") is not None:
                    artifact_id = str(body.record["artifact_id"])
                refs = _refs(body.record)
        return RecordView(
            partition=record.partition,
            offset=record.offset,
            timestamp_ms=record.timestamp_ms,
            key=_text(record.key),
            headers=tuple((name, _text(value)) for name, value in record.headers),
            family=target[0].name if target else None,
            artifact_id=artifact_id,
            decoded=decoded,
            note=note,
            refs=refs,
        )


def _refs(record: dict[str, object]) -> frozenset[str]:
    found: set[str] = set()
    for value in record.values():
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list | tuple):
            found.update(item for item in value if isinstance(item, str))
    return frozenset(found)


def names(view: RecordView, ref: str) -> bool:
    """The record is the one ``ref`` refers to, or cites it: its artifact id or key equals
    it, or one of its top-level text fields (or list items) holds it."""
    return ref in (view.artifact_id, view.key) or ref in view.refs


def matches(view: RecordView, query: str) -> bool:
    """A key containing ``query``, or an artifact id equal to it (any case)."""
    if not query:
        return True
    wanted = query.lower()
    return wanted in view.key.lower() or (view.artifact_id or "").lower() == wanted


def browse(
    records: Iterable[InboundMessage],
    topic: str,
    decoder: RecordDecoder,
    query: str = "",
    *,
    limit: int = DEFAULT_LIMIT,
    scan: int = DEFAULT_SCAN,
) -> TopicPage:
    """The newest ``limit`` records that match ``query`` among the first ``scan`` read."""
    kept: deque[RecordView] = deque(maxlen=limit)
    scanned = matched = 0
    stopped = False
    for record in records:
        if scanned >= scan:
            stopped = True
            break
        scanned += 1
        view = decoder.view(record)
        if matches(view, query):
            matched += 1
            kept.append(view)
    newest = sorted(kept, key=lambda v: (v.timestamp_ms, v.offset), reverse=True)
    return TopicPage(topic, tuple(newest), scanned, matched, stopped)


class TopicBrowser(Protocol):
    topics: list[str]

    def browse(self, topic: str, query: str = "", *, limit: int = DEFAULT_LIMIT) -> TopicPage: ...

    def find(self, ref: str, *, limit: int = 10) -> list[tuple[str, RecordView]]: ...


class KafkaTopicBrowser:
    """Browses the deployment's topics through Kafka."""

    def __init__(self, settings: Settings, catalog: Catalog, serde: AvroSerde | None) -> None:
        self._settings = settings
        self.decoder = RecordDecoder(catalog, settings.topic_prefix, serde)
        self.topics = [spec.name for spec in catalog.topic_specs(settings.topic_prefix)]
        self.accepted = [
            family.accepted_topic(settings.topic_prefix, major)
            for family in catalog
            for major in family.majors()
        ]

    def browse(self, topic: str, query: str = "", *, limit: int = DEFAULT_LIMIT) -> TopicPage:
        with TopicReader(self._settings, role="review-topics") as reader:
            return browse(reader.read_all(topic), topic, self.decoder, query, limit=limit)

    def find(self, ref: str, *, limit: int = 10) -> list[tuple[str, RecordView]]:
        """The accepted records that ``ref`` names (an evidence or source ref), across every
        family's accepted topics, each read up to ``DEFAULT_SCAN`` records."""
        found: list[tuple[str, RecordView]] = []
        with TopicReader(self._settings, role="review-topics") as reader:
            for topic in self.accepted:
                if not reader.exists(topic):
                    continue
                for n, record in enumerate(reader.read_all(topic)):
                    if n >= DEFAULT_SCAN:
                        break
                    view = self.decoder.view(record)
                    if names(view, ref):
                        found.append((topic, view))
                        if len(found) >= limit:
                            return found
        return found
