"""``tail``: read a topic without a consumer group; print each record decoded, as a JSON line.

The reading is :class:`~velocity_stream.kafka.reader.TopicReader`'s (partitions assigned,
nothing committed, a partition's end taken from the fetch responses, never from ListOffsets);
this module tells each record's family, decodes it and renders it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

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
from velocity_stream.kafka.reader import DEFAULT_STALL_TIMEOUT_S, TopicReader
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.serde.wire import HEADER_SIZE, MAGIC_BYTE
from velocity_stream.settings import Settings

# Names for the gateway's own topics, besides their full names.
GATEWAY_ALIASES = ("dead-letters", "dlq", "approvals", "commits")
# Code for a value whose family cannot be told (not a family topic, no known schema).
UNKNOWN_FAMILY = ReasonCode.DECODE_UNKNOWN_TOPIC.value


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
            if name == h.ARTIFACT_TYPE:
                try:
                    return self._catalog.family(value.decode("utf-8", "replace"))
                except ConfigError:
                    return None
        return None

    @staticmethod
    def _major_of(family: Family, headers: Sequence[tuple[str, bytes]]) -> int:
        for name, value in reversed(headers):
            if name == h.SCHEMA_VERSION:
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
            timestamp_ms=record.timestamp_ms if record.timestamp_ms > 0 else None,
            key=record.key,
            headers=record.headers,
            value=record.value,
            decoded=self.decode(record.value, target),
            dead_letter=dead_letter,
        )


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
    with TopicReader(settings, role="tail", stall_timeout=stall_timeout) as reader:
        for record in reader.read(topic, from_beginning=from_beginning, follow=follow):
            obj = decoder.render(record)
            if wanted is not None and obj.get("family") != wanted:
                continue
            out.write(line(obj) + "\n")
            out.flush()
            shown += 1
            if max_records is not None and shown >= max_records:
                break
    return shown
