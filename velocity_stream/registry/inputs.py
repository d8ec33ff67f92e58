"""What the registry reads from a request besides the schema: version numbers, levels, subject
names and the ``id`` / ``version`` of an import, each checked with Confluent's error code."""

from __future__ import annotations

from velocity_stream.compat import CompatibilityMode
from velocity_stream.registry.errors import ErrorCode, RegistryRequestError

MAX_VERSION = 2**31 - 1
LATEST = -1


def parse_version(text: str | int) -> int:
    """A version path segment: 1..2^31-1, or ``latest`` / ``-1`` (returned as LATEST)."""
    raw = str(text).strip()
    if raw.lower() == "latest" or raw == "-1":
        return LATEST
    if raw.isdigit() and 1 <= int(raw) <= MAX_VERSION:
        return int(raw)
    raise RegistryRequestError(
        ErrorCode.INVALID_VERSION,
        f"The specified version '{raw}' is not a valid version id. Allowed values are between "
        f'[1, {MAX_VERSION}] and the string "latest"',
    )


def check_subject(subject: str) -> None:
    """Confluent refuses subjects that are empty or hold control characters (42208)."""
    if not subject.strip() or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in subject):
        raise RegistryRequestError(
            ErrorCode.INVALID_SUBJECT, f"The specified subject {subject!r} is not valid"
        )


def parse_level(text: object) -> CompatibilityMode:
    try:
        if not isinstance(text, str):
            raise ValueError(text)  # str(None) would read as the level NONE
        return CompatibilityMode(text.strip().upper())
    except ValueError:
        allowed = ", ".join(mode.value for mode in CompatibilityMode)
        raise RegistryRequestError(
            ErrorCode.INVALID_COMPATIBILITY_LEVEL,
            f"Invalid compatibility level {text!r}. Valid values are {allowed}",
        ) from None


def requested_number(value: object, name: str) -> int | None:
    """An ``id`` or ``version`` in a registration body: None when absent or not positive
    (Confluent's "unset"); 422 when not an integer."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RegistryRequestError(
            ErrorCode.UNPROCESSABLE, f"Unprocessable entity: {name} must be an integer"
        )
    if value > MAX_VERSION:
        raise RegistryRequestError(
            ErrorCode.UNPROCESSABLE, f"Unprocessable entity: {name} {value} is over {MAX_VERSION}"
        )
    return value if value > 0 else None
