"""``produce``: JSON lines in, validated Avro out through ArtifactProducer, a report per line.

Every line is parsed and validated before anything is sent, so a file that cannot be read sends
nothing. Valid lines go to the family's ingress topic (one delivery callback each); refused
lines, and lines the broker did not take, are reported with their line number. Decisions (the
catalog's decision family) are signed with ``VELOCITY_REVIEW_SIGNING_KEY``; without that key they
are refused here, since the gateway dead-letters every unsigned decision.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from velocity_stream.console.lines import ParsedLine, Refusal, numbered_lines, parse_lines
from velocity_stream.contracts.catalog import Catalog, Family, Route
from velocity_stream.errors import ContractError, ReasonCode, VelocityError
from velocity_stream.kafka.producer import ArtifactProducer, Delivery, DeliveryError
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.settings import Settings
from velocity_stream.trust import SigningKey
from velocity_stream.trust.config import REVIEW_KEY_SETTING

EXIT_OK, EXIT_REFUSED, EXIT_UNUSABLE = 0, 1, 2
# How long produce waits for the broker to acknowledge what it sent.
DEFAULT_FLUSH_TIMEOUT_S = 60.0


class ProduceError(VelocityError):
    """Nothing more can be sent: Kafka, the registry or the topic is not there."""


@dataclass
class ProduceReport:
    """What a run did with each line."""

    topic: str
    lines: int = 0
    sent: int = 0
    refused: list[Refusal] = field(default_factory=list)

    @property
    def refused_lines(self) -> int:
        return len({r.line for r in self.refused})

    def summary(self) -> str:
        text = f"sent {self.sent} of {self.lines} lines to {self.topic}"
        if self.refused:
            text += f"; {self.refused_lines} refused"
        return text


def unsigned_decision(family: Family, number: int) -> Refusal:
    return Refusal(
        number,
        ReasonCode.AUTH_DECISION_UNSIGNED.value,
        "",
        f"not sent: {family.name} is the catalog's decision family and {REVIEW_KEY_SETTING} is "
        "not set, so it cannot be signed, and the gateway dead-letters unsigned decisions; set "
        "the review app's key (`velocity-stream keys generate`, docs/security.md)",
    )


def plan_lines(
    family: Family, text: str, *, can_sign: bool
) -> tuple[list[ParsedLine], list[Refusal], int]:
    """The lines to send, the refusals, and how many non-blank lines there were."""
    numbered = list(numbered_lines(text))
    valid, refused = parse_lines(family, numbered)
    if family.route is Route.DECISION and not can_sign:
        refused += [unsigned_decision(family, parsed.line) for parsed in valid]
        refused.sort(key=lambda r: r.line)
        valid = []
    return valid, refused, len(numbered)


def produce_lines(
    settings: Settings,
    catalog: Catalog,
    family: Family,
    text: str,
    *,
    signer: SigningKey | None,
    err: TextIO,
    trace_id: str | None = None,
    flush_timeout: float = DEFAULT_FLUSH_TIMEOUT_S,
    make_serde: Callable[[], AvroSerde] | None = None,
) -> tuple[int, ProduceReport]:
    """Send ``text``'s valid lines; report every refused one on ``err``; return the exit code.

    ProduceError (or another VelocityError: settings, registry) when nothing can be sent.
    """
    report = ProduceReport(family.ingress_topic(settings.topic_prefix))
    valid, refused, report.lines = plan_lines(family, text, can_sign=signer is not None)
    report.refused.extend(refused)
    if valid:
        serde = make_serde() if make_serde is not None else _serde(settings, catalog)
        _send(settings, catalog, serde, valid, report, signer, trace_id, flush_timeout)
    report.refused.sort(key=lambda r: r.line)
    for refusal in report.refused:
        err.write(refusal.text() + "\n")
    err.write(report.summary() + "\n")
    return (EXIT_REFUSED if report.refused else EXIT_OK), report


def _serde(settings: Settings, catalog: Catalog) -> AvroSerde:
    from velocity_stream.registry.resolvers import resolver_for

    return AvroSerde(catalog, resolver_for(settings, catalog), settings.topic_prefix)


def _send(
    settings: Settings,
    catalog: Catalog,
    serde: AvroSerde,
    valid: list[ParsedLine],
    report: ProduceReport,
    signer: SigningKey | None,
    trace_id: str | None,
    flush_timeout: float,
) -> None:
    lock = threading.Lock()

    def settled(number: int) -> Callable[[DeliveryError | None, Delivery | None], None]:
        def on_delivery(error: DeliveryError | None, _delivery: Delivery | None) -> None:
            with lock:
                if error is None:
                    report.sent += 1
                else:
                    code = f"delivery.{error.error_name.lower().lstrip('_')}"
                    report.refused.append(Refusal(number, code, "", str(error)))

        return on_delivery

    producer = ArtifactProducer(settings, catalog, serde, signer=signer)
    flushed = False
    try:
        for parsed in valid:
            try:
                producer.publish(
                    parsed.artifact, trace_id=trace_id, on_delivery=settled(parsed.line)
                )
            except ContractError as error:  # validated above; kept for a model that changed
                report.refused += [
                    Refusal(parsed.line, v.code.value, v.path, v.message) for v in error.violations
                ]
            except VelocityError as error:
                # Metadata, registry or a local queue that stays full: the rest cannot go either.
                raise ProduceError(str(error)) from None
        remaining = producer.flush(flush_timeout)
        flushed = True
        if remaining:
            raise ProduceError(
                f"{remaining} messages to {report.topic} were not acknowledged within "
                f"{flush_timeout:.0f} s ({report.sent} were)"
            )
    finally:
        # After a failed publish, what was queued before it still gets a chance to go.
        producer.close(timeout=0 if flushed else 10.0)
