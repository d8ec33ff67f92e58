"""Registry modes, as Confluent defines them: who may write, globally and per subject.

* ``READWRITE`` (the default): registrations are checked for compatibility and get the next id
  and version.
* ``READONLY``: nothing under the subject (or anywhere, globally) may be registered, deleted or
  reconfigured: 42205. ``READONLY_OVERRIDE`` set globally makes every subject read-only whatever
  its own mode.
* ``IMPORT``: registrations must bring their own ``id`` (and may bring their ``version``); they
  are stored as given, without a compatibility check, so another registry's ids carry over.
  A registry or subject can only enter IMPORT while it holds no live subject (``force=true``
  overrides this).

A subject without a mode of its own follows the global one.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from velocity_stream.registry.errors import ErrorCode, RegistryRequestError

#: Confluent names the default context "."; its messages say "in context .".
CONTEXT = "."


class RegistryMode(StrEnum):
    READWRITE = "READWRITE"
    READONLY = "READONLY"
    READONLY_OVERRIDE = "READONLY_OVERRIDE"
    IMPORT = "IMPORT"

    @property
    def read_only(self) -> bool:
        return self in (RegistryMode.READONLY, RegistryMode.READONLY_OVERRIDE)


def parse_mode(text: object) -> RegistryMode:
    """A mode from a request; 42204 when it is none of Confluent's."""
    try:
        if not isinstance(text, str):
            raise ValueError(text)
        return RegistryMode(text.strip().upper())
    except ValueError:
        allowed = ", ".join(mode.value for mode in RegistryMode)
        raise RegistryRequestError(
            ErrorCode.INVALID_MODE, f"Invalid mode {text!r}. Valid values are {allowed}"
        ) from None


def mode_in_scope(modes: Mapping[str | None, RegistryMode], subject: str | None) -> RegistryMode:
    """The mode that governs ``subject`` (None: the global mode)."""
    global_mode = modes.get(None, RegistryMode.READWRITE)
    if subject is None or global_mode is RegistryMode.READONLY_OVERRIDE:
        return global_mode
    return modes.get(subject, global_mode)


def not_permitted(subject: str | None, why: str) -> RegistryRequestError:
    """42205 in Confluent's words: ``Subject s in context . is in read-only mode``."""
    who = f"Subject {subject}" if subject is not None else "The registry"
    return RegistryRequestError(
        ErrorCode.OPERATION_NOT_PERMITTED, f"{who} in context {CONTEXT} {why}"
    )


def refuse_if_read_only(modes: Mapping[str | None, RegistryMode], subject: str | None) -> None:
    """42205 when ``subject`` (or, for None, the registry) is read-only."""
    if mode_in_scope(modes, subject).read_only:
        raise not_permitted(subject, "is in read-only mode")
