"""The plain values the gateway core consumes and produces: messages in, outcomes out.

They carry bytes and coordinates only, so the Faust adapter and the in-memory runner can build
and ship them without the core knowing which Kafka client moved the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from velocity_stream.errors import ReasonCode

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One consumed Kafka record, exactly as the broker returned it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp_ms: int

    @property
    def coordinates(self) -> tuple[str, int, int]:
        return (self.topic, self.partition, self.offset)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One record the gateway wants produced. The adapter picks the partition from the key.

    ``value`` is None only for the dead letter of a null-valued input (kept as it came) or a
    dead letter too large to carry its input's bytes (``velocity.dlq.dropped`` says so).
    ``source`` is the input the record was made from (for a released input, the held
    original): when the broker refuses the record as too large, a dead letter of ``source``
    goes out instead. It is not part of the record, so it takes no part in equality.
    """

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers
    source: InboundMessage | None = field(default=None, compare=False, repr=False)


class RouteKind(StrEnum):
    """Where one input ended up. Every input ends in exactly one of these."""

    ACCEPTED = "accepted"
    PENDING_APPROVAL = "pending_approval"
    AUTO_APPROVED = "auto_approved"
    DECISION_APPLIED = "decision_applied"
    DUPLICATE = "duplicate"
    HELD = "held"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What processing one input decided, and every record to produce because of it.

    ``outputs`` is complete: it already holds the outputs of any ``released`` message (held
    messages this input unblocked, e.g. rows waiting for their batch), so an adapter only
    produces ``outputs``; ``released`` is there for metrics and tests. ``source`` is the input
    the outcome is about (for a released or expired message, the held original).
    """

    route: RouteKind
    outputs: tuple[OutboundMessage, ...]
    reason: ReasonCode | None = None
    source: InboundMessage | None = None
    artifact_id: str | None = None
    detail: str = ""
    released: tuple[Outcome, ...] = ()

    @property
    def is_dead_letter(self) -> bool:
        return self.route is RouteKind.DEAD_LETTER
