"""A dead letter read back from the dead-letter topic: its reason, its origin, its original record.

The gateway writes the refused input's key, value and headers unchanged and appends its
``velocity.dlq.*`` reason headers (plus ``velocity.gateway.version``) at the end. Parsing here
undoes that exactly: everything before the last ``velocity.dlq.reason`` header is the original
record's, so a replay can republish what the producer sent. Pure: no Kafka client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from velocity_stream.contracts.catalog import Family
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.records import Headers, InboundMessage

DLQ_HEADER_PREFIX = "velocity.dlq."

# Headers a replay adds, naming the dead letter it came from, so the gateway's outputs (which
# keep non-gateway input headers) and anyone reading the ingress topic can trace it back.
REPLAY_HEADER_PREFIX = "velocity.replay."
REPLAY_ID = "velocity.replay.id"
REPLAY_DLQ_TOPIC = "velocity.replay.dlq.topic"
REPLAY_DLQ_PARTITION = "velocity.replay.dlq.partition"
REPLAY_DLQ_OFFSET = "velocity.replay.dlq.offset"
REPLAY_REASON = "velocity.replay.reason"
REPLAY_OPERATOR = "velocity.replay.operator"

Coordinates = tuple[str, int, int]


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value is not None else ""


def _int(value: bytes | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record of the dead-letter topic, with the gateway's reason headers parsed.

    ``record`` is the dead-letter record as the broker returned it. ``reason`` is kept as text
    (not a ReasonCode) so a dead letter written by a newer gateway with a code this version does
    not know still lists, filters and replays.
    """

    record: InboundMessage
    reason: str
    stage: str
    message: str
    field: str
    source_topic: str | None
    source_partition: int | None
    source_offset: int | None
    dead_lettered_at_ms: int | None
    gateway_version: str | None
    family: str | None
    artifact_id: str | None
    original_headers: Headers
    # What a dead letter too large for its topic left out of the input ("value", "headers",
    # "key"): the original is then only at its source coordinates.
    dropped: tuple[str, ...] = ()
    # When the refused input was itself a replay (it carried ``velocity.replay.*`` headers):
    # the dead letter that replay resent, and the replay run. ``dlq replay`` never replays such
    # a dead letter again, or a record still wrong would go round for ever.
    replay_of: Coordinates | None = None
    replay_id: str | None = None

    @property
    def is_replay_refused_again(self) -> bool:
        """True when this dead letter is a replayed record, refused again."""
        return self.replay_of is not None

    @property
    def coordinates(self) -> Coordinates:
        """Where the dead letter itself sits: (dead-letter topic, partition, offset)."""
        return self.record.coordinates

    @property
    def position(self) -> str:
        """``partition:offset``, the form ``dlq show`` takes."""
        return f"{self.record.partition}:{self.record.offset}"

    @property
    def is_gateway_dead_letter(self) -> bool:
        """True when the gateway's reason headers are present (anything else is not ours)."""
        return bool(self.reason)

    @property
    def source(self) -> Coordinates | None:
        """The refused input's coordinates on its ingress topic, when the headers name them."""
        if self.source_topic is None or self.source_partition is None:
            return None
        if self.source_offset is None:
            return None
        return (self.source_topic, self.source_partition, self.source_offset)

    @property
    def time_ms(self) -> int:
        """When it was dead-lettered: the gateway's ``velocity.dlq.time``, else the record's
        own timestamp. The gateway writes the input's timestamp there (an expired hold: its
        deadline), never its wall clock, so a redelivered dead letter carries the same time."""
        if self.dead_lettered_at_ms is not None:
            return self.dead_lettered_at_ms
        return self.record.timestamp_ms


def _last_index(headers: Headers, name: str) -> int | None:
    for index in range(len(headers) - 1, -1, -1):
        if headers[index][0] == name:
            return index
    return None


def is_replay_excluded(name: str) -> bool:
    """Headers a replay never resends: the gateway's ``velocity.dlq.*`` and old replay ones."""
    return name.startswith(DLQ_HEADER_PREFIX) or name.startswith(REPLAY_HEADER_PREFIX)


def dead_letter_block_start(headers: Headers) -> int:
    """Index of the first header the gateway appended (``len(headers)`` if there is none)."""
    start = _last_index(headers, h.DLQ_REASON)
    return len(headers) if start is None else start


def original_headers(headers: Headers) -> Headers:
    """The headers the refused input carried, without the gateway's dead-letter block.

    The block starts at the last ``velocity.dlq.reason`` (the gateway appends it after the
    input's own headers, so a producer's forged copy sits before it). Any other
    ``velocity.dlq.*`` header and any earlier replay's ``velocity.replay.*`` are dropped too:
    a replay adds fresh ones.
    """
    kept = headers[: dead_letter_block_start(headers)]
    return tuple((name, value) for name, value in kept if not is_replay_excluded(name))


def replayed_from(headers: Headers) -> tuple[Coordinates | None, str | None]:
    """The dead letter a replayed record names (its ``velocity.replay.dlq.*`` headers) and its
    replay run id; ``(None, None)`` for a record no replay sent. Only the input's own headers
    count: pass the part before the gateway's dead-letter block."""
    found = {name: value for name, value in headers if name.startswith(REPLAY_HEADER_PREFIX)}
    if not found:
        return None, None
    replay_id = _text(found[REPLAY_ID]) if REPLAY_ID in found else None
    topic = found.get(REPLAY_DLQ_TOPIC)
    partition = _int(found.get(REPLAY_DLQ_PARTITION))
    offset = _int(found.get(REPLAY_DLQ_OFFSET))
    if topic is None or partition is None or offset is None:
        # Marked as a replay but without readable coordinates: still a replay.
        return ("", -1, -1), replay_id
    return (_text(topic), partition, offset), replay_id


def parse_dead_letter(
    record: InboundMessage, ingress: Mapping[str, tuple[Family, int]]
) -> DeadLetter:
    """Read the gateway's headers off a dead-letter record. Never raises on odd headers.

    ``ingress`` (``Catalog.ingress_topics(prefix)``) names the family by the source topic; a
    source topic the catalog does not know falls back to the producer's type header, a hint.
    """
    headers = record.headers
    start = _last_index(headers, h.DLQ_REASON)
    block = headers[start:] if start is not None else ()
    found: dict[str, bytes] = {}
    for name, value in block:
        found[name] = value
    source_topic = _text(found[h.DLQ_SOURCE_TOPIC]) if h.DLQ_SOURCE_TOPIC in found else None
    originals = original_headers(headers)
    replay_of, replay_id = replayed_from(headers[: dead_letter_block_start(headers)])
    hints = {name: value for name, value in originals}
    family: str | None = None
    if source_topic is not None and source_topic in ingress:
        family = ingress[source_topic][0].name
    elif h.ARTIFACT_TYPE in hints:
        family = _text(hints[h.ARTIFACT_TYPE])
    artifact_id = _text(hints[h.ARTIFACT_ID]) if h.ARTIFACT_ID in hints else None
    version = found.get(h.GATEWAY_VERSION)
    return DeadLetter(
        record=record,
        reason=_text(found.get(h.DLQ_REASON)),
        stage=_text(found.get(h.DLQ_STAGE)),
        message=_text(found.get(h.DLQ_MESSAGE)),
        field=_text(found.get(h.DLQ_FIELD)),
        source_topic=source_topic,
        source_partition=_int(found.get(h.DLQ_SOURCE_PARTITION)),
        source_offset=_int(found.get(h.DLQ_SOURCE_OFFSET)),
        dead_lettered_at_ms=_int(found.get(h.DLQ_TIME)),
        gateway_version=_text(version) if version is not None else None,
        family=family,
        artifact_id=artifact_id,
        original_headers=originals,
        dropped=tuple(part for part in _text(found.get(h.DLQ_DROPPED)).split(",") if part),
        replay_of=replay_of,
        replay_id=replay_id,
    )


def replay_headers(
    dead_letter: DeadLetter, replay_id: str, operator: str
) -> tuple[tuple[str, bytes], ...]:
    """The original headers plus the ``velocity.replay.*`` block naming this dead letter."""
    topic, partition, offset = dead_letter.coordinates
    return (
        *dead_letter.original_headers,
        (REPLAY_ID, replay_id.encode("utf-8")),
        (REPLAY_DLQ_TOPIC, topic.encode("utf-8")),
        (REPLAY_DLQ_PARTITION, b"%d" % partition),
        (REPLAY_DLQ_OFFSET, b"%d" % offset),
        (REPLAY_REASON, dead_letter.reason.encode("utf-8")),
        (REPLAY_OPERATOR, operator.encode("utf-8")),
    )
