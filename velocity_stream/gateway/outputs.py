"""Builders for every record the gateway produces: accepted, proposal, commit, dead letter.

Outputs are pure functions of the input message (and of state the input already determines):
no wall-clock time, no random ids. A message redelivered after a crash therefore produces
byte-identical outputs, which downstream consumers deduplicate.
"""

from __future__ import annotations

from dataclasses import replace

from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import headers as h
from velocity_stream.gateway.commits import CommitRecord
from velocity_stream.gateway.messages import (
    Headers,
    InboundMessage,
    OutboundMessage,
    Outcome,
    RouteKind,
)
from velocity_stream.gateway.routes import GatewayRoutes


def _forwardable(message: InboundMessage) -> Headers:
    """The input's headers minus any the gateway itself sets (a producer cannot forge them)."""
    original = message.headers
    if not any(name in h.RESERVED for name, _ in original):
        return tuple(original)
    return tuple((name, value) for name, value in original if name not in h.RESERVED)


class OutputBuilder:
    """Makes :class:`OutboundMessage` values with the gateway's headers."""

    def __init__(self, routes: GatewayRoutes, gateway_version: str) -> None:
        self.routes = routes
        self.version = gateway_version.encode("utf-8")
        self._route_values = {kind: kind.value.encode("ascii") for kind in RouteKind}
        # Topic and family names repeat on every message: encode each once.
        self._names: dict[str, bytes] = {}

    def _name(self, text: str) -> bytes:
        encoded = self._names.get(text)
        if encoded is None:
            if len(self._names) > 10_000:  # any topic name can arrive; never grow unbounded
                self._names.clear()
            encoded = self._names[text] = text.encode("utf-8")
        return encoded

    def gateway_headers(
        self, message: InboundMessage, route: RouteKind, artifact_id: str, family: str
    ) -> Headers:
        """Route, version, and the input's coordinates, id and family (read from its body)."""
        return (
            (h.ROUTE, self._route_values[route]),
            (h.GATEWAY_VERSION, self.version),
            (h.SOURCE_TOPIC, self._name(message.topic)),
            (h.SOURCE_PARTITION, b"%d" % message.partition),
            (h.SOURCE_OFFSET, b"%d" % message.offset),
            (h.ARTIFACT_ID, artifact_id.encode("utf-8")),
            (h.FAMILY, self._name(family)),
        )

    def forward(
        self,
        message: InboundMessage,
        topic: str,
        route: RouteKind,
        artifact_id: str,
        family: str,
        extra: Headers = (),
        value: bytes | None = None,
    ) -> OutboundMessage:
        """The input's key, bytes and headers to ``topic``, with the gateway's headers added.

        ``value`` replaces the original bytes only for a record upgraded to a newer major.
        """
        return OutboundMessage(
            topic=topic,
            key=message.key,
            value=message.value if value is None else value,
            headers=_forwardable(message)
            + self.gateway_headers(message, route, artifact_id, family)
            + extra,
        )

    def commit(
        self,
        message: InboundMessage,
        record: CommitRecord,
        decision_artifact_id: str,
        decision_family: str,
    ) -> OutboundMessage:
        """The commit record for an approval, keyed by proposal id like everything it touches."""
        extra: Headers = (
            (h.COMMIT_PROPOSAL_FAMILY, record.proposal_family.encode("utf-8")),
            (h.COMMIT_DECISION_ID, record.decision_id.encode("utf-8")),
        )
        return OutboundMessage(
            topic=self.routes.commits_topic,
            key=record.proposal_id.encode("utf-8"),
            value=record.to_bytes(),
            headers=self.gateway_headers(
                message, RouteKind.DECISION_APPLIED, decision_artifact_id, decision_family
            )
            + extra,
        )

    def dead_letter(
        self,
        message: InboundMessage,
        reason: ReasonCode,
        text: str,
        field: str = "",
        time_ms: int | None = None,
    ) -> OutboundMessage:
        """The input unchanged (key, value, headers) plus the reason headers.

        ``time_ms`` defaults to the input's own timestamp rather than the wall clock, so the
        dead letter of a redelivered input is byte-identical to the first one.
        """
        human = text.encode("utf-8", "replace")
        if len(human) > h.MAX_MESSAGE_BYTES:
            human = human[: h.MAX_MESSAGE_BYTES - 3] + b"..."
        added: list[tuple[str, bytes]] = [
            (h.DLQ_REASON, reason.value.encode("ascii")),
            (h.DLQ_STAGE, reason.stage.encode("ascii")),
            (h.DLQ_MESSAGE, human),
        ]
        if field:
            added.append((h.DLQ_FIELD, field.encode("utf-8", "replace")))
        added += [
            (h.DLQ_SOURCE_TOPIC, message.topic.encode("utf-8", "replace")),
            (h.DLQ_SOURCE_PARTITION, b"%d" % message.partition),
            (h.DLQ_SOURCE_OFFSET, b"%d" % message.offset),
            (h.GATEWAY_VERSION, self.version),
            (h.DLQ_TIME, b"%d" % (message.timestamp_ms if time_ms is None else time_ms)),
        ]
        return OutboundMessage(
            topic=self.routes.dead_letter_topic,
            key=message.key,
            value=message.value,
            headers=tuple(message.headers) + tuple(added),
        )


def dead_letter_outcome(
    out: OutputBuilder,
    message: InboundMessage,
    reason: ReasonCode,
    text: str,
    field: str = "",
    artifact_id: str | None = None,
    time_ms: int | None = None,
) -> Outcome:
    """An input refused for ``reason``: one dead letter, nothing else."""
    return Outcome(
        route=RouteKind.DEAD_LETTER,
        outputs=(out.dead_letter(message, reason, text, field, time_ms),),
        reason=reason,
        source=message,
        artifact_id=artifact_id,
        detail=text,
    )


def with_released(outcome: Outcome, released: tuple[Outcome, ...]) -> Outcome:
    """``outcome`` plus the outputs of the held messages it released."""
    if not released:
        return outcome
    extra = tuple(output for item in released for output in item.outputs)
    return replace(outcome, outputs=outcome.outputs + extra, released=outcome.released + released)
