"""Which dead letters an operator means: by reason code, family and time range. Pure.

Reason patterns follow the codes' dotted structure: ``state`` or ``state.*`` selects every code
of the state stage, ``contract.import_row`` every import-row contract code, and a full code only
itself. Several patterns (or families) are alternatives.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from velocity_stream.contracts.catalog import Catalog
from velocity_stream.dlq.records import DeadLetter
from velocity_stream.errors import ConfigError, ReasonCode


def reason_matches(pattern: str, code: str) -> bool:
    """True when ``code`` is ``pattern`` or lies under it in the dotted hierarchy."""
    stem = pattern.strip().removesuffix(".*").removesuffix(".")
    if not stem or stem == "*":
        return True
    return code == stem or code.startswith(stem + ".")


def check_reason(pattern: str, codes: Iterable[str] | None = None) -> str:
    """``pattern`` when it names a reason code or a stage of them (``state``, ``state.*``,
    ``contract.import_row``, a full code); else a ConfigError listing the closest codes, or the
    stages. ``codes`` defaults to every :class:`ReasonCode`."""
    known = sorted(str(code) for code in (ReasonCode if codes is None else codes))
    stem = pattern.strip().removesuffix(".*").removesuffix(".")
    if stem in ("", "*") or any(reason_matches(stem, code) for code in known):
        return pattern.strip()
    prefixes = {".".join(c.split(".")[:n]) for c in known for n in range(1, c.count(".") + 1)}
    close = difflib.get_close_matches(stem, [*known, *sorted(prefixes)], n=5, cutoff=0.6)
    stages = sorted({code.split(".")[0] for code in known})
    if close:
        hint = f"closest: {', '.join(close)}; docs/reason-codes.md lists every code"
    else:
        hint = f"stages: {', '.join(stages)}; codes: {', '.join(known)}"
    raise ConfigError(f"--reason {pattern!r} is no reason code nor a stage of them ({hint})")


def parse_time(text: str) -> int:
    """An ISO 8601 time (a date alone means its midnight) as epoch ms; naive times are UTC."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise ConfigError(f"{text!r} is not an ISO 8601 time (e.g. 2025-06-01T12:00Z)") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def format_time(epoch_ms: int) -> str:
    """Epoch ms as an ISO 8601 UTC time with millisecond precision."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """Reason patterns, family names and a half-open time range ``[since, until)``.

    Empty ``reasons`` or ``families`` means any. Times are compared with
    :attr:`DeadLetter.time_ms` (when the input was refused).
    """

    reasons: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    since_ms: int | None = None
    until_ms: int | None = None

    @classmethod
    def build(
        cls,
        catalog: Catalog,
        *,
        reasons: Iterable[str] = (),
        families: Iterable[str] = (),
        since: str | None = None,
        until: str | None = None,
    ) -> DeadLetterFilter:
        """A filter from command-line text; family names in any spelling the catalog knows."""
        names = tuple(catalog.family(name).name for name in families)
        since_ms = parse_time(since) if since else None
        until_ms = parse_time(until) if until else None
        if since_ms is not None and until_ms is not None and until_ms <= since_ms:
            raise ConfigError(f"--until ({until}) must be after --since ({since})")
        checked = tuple(check_reason(r) for r in reasons if r.strip())
        return cls(checked, names, since_ms, until_ms)

    def matches(self, dead_letter: DeadLetter) -> bool:
        if self.reasons and not any(reason_matches(p, dead_letter.reason) for p in self.reasons):
            return False
        if self.families and dead_letter.family not in self.families:
            return False
        when = dead_letter.time_ms
        if self.since_ms is not None and when < self.since_ms:
            return False
        return self.until_ms is None or when < self.until_ms

    @property
    def is_empty(self) -> bool:
        return (
            not (self.reasons or self.families)
            and self.since_ms is None
            and (self.until_ms is None)
        )

    def describe(self) -> str:
        """The filter in words, for audit records and CLI output."""
        parts: list[str] = []
        if self.reasons:
            parts.append("reason " + " or ".join(self.reasons))
        if self.families:
            parts.append("family " + " or ".join(self.families))
        if self.since_ms is not None:
            parts.append("since " + format_time(self.since_ms))
        if self.until_ms is not None:
            parts.append("until " + format_time(self.until_ms))
        return ", ".join(parts) or "all dead letters"
