"""What the gateway core produces: the records it wants written and the outcome of one input.

They carry bytes and coordinates only, so the Faust adapter and the in-memory runner can ship
them without the core knowing which Kafka client moves the bytes. What it consumes,
``InboundMessage``, and the ``RouteKind`` of an outcome are the shared protocol's
(``velocity_stream.protocol``); they are named here too because the core's callers use them
together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from velocity_stream.errors import ReasonCode
from velocity_stream.protocol.records import Headers, InboundMessage, slot_setters
from velocity_stream.protocol.routes import RouteKind


@dataclass(frozen=True, slots=True, init=False)
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

    def __init__(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Headers,
        source: InboundMessage | None = None,
    ) -> None:
        # One per output: the slots are filled directly (protocol/records.py, slot_setters).
        put = _OUTBOUND_SLOTS
        put[0](self, topic)
        put[1](self, key)
        put[2](self, value)
        put[3](self, headers)
        put[4](self, source)


@dataclass(frozen=True, slots=True, init=False)
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

    def __init__(
        self,
        route: RouteKind,
        outputs: tuple[OutboundMessage, ...],
        reason: ReasonCode | None = None,
        source: InboundMessage | None = None,
        artifact_id: str | None = None,
        detail: str = "",
        released: tuple[Outcome, ...] = (),
    ) -> None:
        # One per input: the slots are filled directly (protocol/records.py, slot_setters).
        put = _OUTCOME_SLOTS
        put[0](self, route)
        put[1](self, outputs)
        put[2](self, reason)
        put[3](self, source)
        put[4](self, artifact_id)
        put[5](self, detail)
        put[6](self, released)

    @property
    def is_dead_letter(self) -> bool:
        return self.route is RouteKind.DEAD_LETTER


_OUTBOUND_SLOTS = slot_setters(OutboundMessage)
_OUTCOME_SLOTS = slot_setters(Outcome)

# InboundMessage is named here for the faust adapter and dlq/audit.py, which import it from
# this module; everything else imports it from velocity_stream.protocol.
__all__ = ["InboundMessage", "OutboundMessage", "Outcome"]
