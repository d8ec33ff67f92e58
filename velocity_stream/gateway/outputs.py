"""Builders for every record the gateway produces: accepted, proposal, commit, dead letter.

Outputs are pure functions of the input message (and of state the input already determines):
no wall-clock time, no random ids. A message redelivered after a crash therefore produces
byte-identical outputs, which downstream consumers deduplicate.
"""

from __future__ import annotations

from dataclasses import replace

from velocity_stream.contracts.commit_record import CommitRecord
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway.messages import OutboundMessage, Outcome
from velocity_stream.gateway.routes import GatewayRoutes
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.records import Headers, InboundMessage
from velocity_stream.protocol.routes import RouteKind


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
        # The gateway headers that depend only on the route, the input's topic and the
        # family, built once per such triple: (route, version, topic) and (family,).
        self._fixed: dict[tuple[RouteKind, str, str], tuple[Headers, Headers]] = {}

    def _name(self, text: str) -> bytes:
        encoded = self._names.get(text)
        if encoded is None:
            if len(self._names) > 10_000:  # any topic name can arrive; never grow unbounded
                self._names.clear()
            encoded = self._names[text] = text.encode("utf-8")
        return encoded

    def _fixed_headers(self, route: RouteKind, topic: str, family: str) -> tuple[Headers, Headers]:
        key = (route, topic, family)
        fixed = self._fixed.get(key)
        if fixed is None:
            if len(self._fixed) > 10_000:  # as for the names: bounded whatever arrives
                self._fixed.clear()
            fixed = self._fixed[key] = (
                (
                    (h.ROUTE, self._route_values[route]),
                    (h.GATEWAY_VERSION, self.version),
                    (h.SOURCE_TOPIC, self._name(topic)),
                ),
                ((h.FAMILY, self._name(family)),),
            )
        return fixed

    def gateway_headers(
        self, message: InboundMessage, route: RouteKind, artifact_id: str, family: str
    ) -> Headers:
        """Route, version, and the input's coordinates, id and family (read from its body)."""
        before, after = self._fixed_headers(route, message.topic, family)
        return (
            *before,
            (h.SOURCE_PARTITION, b"%d" % message.partition),
            (h.SOURCE_OFFSET, b"%d" % message.offset),
            (h.ARTIFACT_ID, artifact_id.encode("utf-8")),
            *after,
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
        ours = self.gateway_headers(message, route, artifact_id, family)
        headers = (*_forwardable(message), *ours, *extra) if message.headers or extra else ours
        return OutboundMessage(
            topic=topic,
            key=message.key,
            value=message.value if value is None else value,
            headers=headers,
            source=message,
        )

    def commit(
        self,
        message: InboundMessage,
        record: CommitRecord,
        value: bytes,
        decision_artifact_id: str,
        decision_family: str,
    ) -> OutboundMessage:
        """The commit record for an approval (``value``: ``record`` encoded), keyed by
        proposal id like everything it touches."""
        extra: Headers = (
            (h.COMMIT_PROPOSAL_FAMILY, record.proposal_family.encode("utf-8")),
            (h.COMMIT_DECISION_ID, record.decision_id.encode("utf-8")),
        )
        return OutboundMessage(
            topic=self.routes.commits_topic,
            key=record.proposal_id.encode("utf-8"),
            value=value,
            headers=self.gateway_headers(
                message, RouteKind.DECISION_APPLIED, decision_artifact_id, decision_family
            )
            + extra,
            source=message,
        )

    def dead_letter(
        self,
        message: InboundMessage,
        reason: ReasonCode,
        text: str,
        field: str = "",
        time_ms: int | None = None,
        extra: Headers = (),
    ) -> OutboundMessage:
        """The input unchanged (key, value, headers) plus the reason headers (then ``extra``).

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
            headers=tuple(message.headers) + tuple(added) + extra,
            source=message,
        )

    def refused(self, output: OutboundMessage, why: str) -> OutboundMessage | None:
        """What to produce in place of ``output``, which the broker refused as too large.

        - Any output but a dead letter: a dead letter of the input it was made from, reason
          ``route.output_too_large``, naming the refused topic and size. (Other outputs of the
          same input that the broker took stay where they are.)
        - A dead letter: the same dead letter without the input's value and headers (and key,
          when above ``MAX_KEPT_KEY_BYTES``): its reason, message and the input's coordinates
          stay, ``velocity.dlq.dropped`` and the ``velocity.dlq.original.*`` sizes say what
          was left out, so an operator finds the original on its ingress topic.
        - None when nothing smaller can stand in: a dead letter already stripped, or an output
          whose input is unknown. The caller cannot place it and must fail.

        Deterministic like every output: the same refusal of a redelivered input gives the
        same bytes.
        """
        if output.topic == self.routes.dead_letter_topic:
            return _stripped(output)
        source = output.source
        if source is None:
            return None
        size = output_size(output)
        text = (
            f"the broker refused the {size}-byte output to {output.topic} as too large "
            f"({why}); the input is intact at its source coordinates"
        )
        extra: Headers = (
            (h.DLQ_REFUSED_TOPIC, output.topic.encode("utf-8", "replace")),
            (h.DLQ_REFUSED_BYTES, b"%d" % size),
        )
        return self.dead_letter(source, ReasonCode.ROUTE_OUTPUT_TOO_LARGE, text, extra=extra)


def output_size(output: OutboundMessage) -> int:
    """Bytes of a record's key, value, header names and header values (framing aside)."""
    return (
        len(output.key or b"")
        + len(output.value or b"")
        + sum(len(name) + len(value) for name, value in output.headers)
    )


def _stripped(dead: OutboundMessage) -> OutboundMessage | None:
    """``dead`` without the input's value and headers (and an oversized key); None if none."""
    headers = dead.headers
    start = _last_index(headers, h.DLQ_REASON)
    if start is None or any(name == h.DLQ_DROPPED for name, _ in headers[start:]):
        return None  # not a gateway dead letter, or stripped already: nothing left to drop
    dropped: list[str] = []
    if dead.value:
        dropped.append("value")
    if start > 0:
        dropped.append("headers")
    key = dead.key
    if key is not None and len(key) > h.MAX_KEPT_KEY_BYTES:
        dropped.append("key")
        key = None
    if not dropped:
        return None
    input_headers = headers[:start]
    sizes: Headers = (
        (h.DLQ_DROPPED, ",".join(dropped).encode("ascii")),
        (h.DLQ_ORIGINAL_VALUE_BYTES, b"%d" % len(dead.value or b"")),
        (h.DLQ_ORIGINAL_KEY_BYTES, b"%d" % len(dead.key or b"")),
        (h.DLQ_ORIGINAL_HEADERS_BYTES, b"%d" % sum(len(n) + len(v) for n, v in input_headers)),
    )
    return OutboundMessage(
        topic=dead.topic, key=key, value=None, headers=headers[start:] + sizes, source=dead.source
    )


def _last_index(headers: Headers, name: str) -> int | None:
    # The gateway's block starts at the last reason header: a producer's forged copy of it
    # sits among the input's own headers, before it (as velocity_stream.dlq reads it).
    for index in range(len(headers) - 1, -1, -1):
        if headers[index][0] == name:
            return index
    return None


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
