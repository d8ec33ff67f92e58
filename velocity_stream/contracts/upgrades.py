"""Reader mappings between major versions: how a record of major N becomes one of major N+1.

A breaking change gets a new major (and a new topic); the blueprint asks that old readers and
old data keep working during the transition, so each new major registers a mapping from the
one before it here. :func:`upgrade` chains them. Records are the plain dicts fastavro reads
and ``Artifact.to_avro`` writes; the mapped record must validate under the newer model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from velocity_stream.errors import ConfigError

AvroRecord = dict[str, Any]
UpgradeFunction = Callable[[AvroRecord], AvroRecord]


@dataclass(frozen=True, slots=True)
class ReaderMapping:
    """A registered mapping of ``family`` records from ``from_major`` to ``from_major + 1``."""

    family: str
    from_major: int
    function: UpgradeFunction

    @property
    def to_major(self) -> int:
        return self.from_major + 1


_MAPPINGS: dict[tuple[str, int], ReaderMapping] = {}


def register_upgrade(family: str, from_major: int) -> Callable[[UpgradeFunction], UpgradeFunction]:
    """Register the decorated function as the ``family`` mapping from ``from_major`` to the next."""

    def decorate(function: UpgradeFunction) -> UpgradeFunction:
        key = (family, from_major)
        if key in _MAPPINGS:
            raise ConfigError(f"{family}: a mapping from major {from_major} is already registered")
        _MAPPINGS[key] = ReaderMapping(family, from_major, function)
        return function

    return decorate


def mapping_for(family: str, from_major: int) -> ReaderMapping | None:
    """The mapping of ``family`` from ``from_major`` to ``from_major + 1``, if registered."""
    return _MAPPINGS.get((family, from_major))


def registered_upgrades() -> list[ReaderMapping]:
    """Every registered mapping, by family then major."""
    return [_MAPPINGS[key] for key in sorted(_MAPPINGS)]


def upgrade(family: str, record: AvroRecord, from_major: int, to_major: int) -> AvroRecord:
    """``record`` (of ``family``, major ``from_major``) as a record of ``to_major``.

    Applies the registered mappings one major at a time. The input is never modified.
    """
    if to_major < from_major:
        raise ConfigError(
            f"{family}: records are upgraded, never downgraded ({from_major} -> {to_major})"
        )
    current = dict(record)
    for major in range(from_major, to_major):
        mapping = _MAPPINGS.get((family, major))
        if mapping is None:
            raise ConfigError(
                f"{family}: no reader mapping from major {major} to {major + 1}; "
                "register one with @register_upgrade"
            )
        current = mapping.function(current)
    return current
