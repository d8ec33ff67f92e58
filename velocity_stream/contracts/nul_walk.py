"""The walk that names every string holding U+0000 in a value: what the contract's NUL rule
reports (docs/reason-codes.md), and the definition the fast checks in nul_check.py answer to.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel

NUL = "\x00"

# Values of exactly these types hold no string the walk would look into: the fast checks
# pass them by without asking the walk.
INERT_TYPES: frozenset[type] = frozenset(
    {type(None), bool, int, float, bytes, datetime, date, time, timedelta, Decimal, UUID}
)


def nul_paths(value: object, path: str) -> Iterator[str]:
    """The path of every string in ``value`` (a model, its nested records, arrays and maps)
    holding U+0000; a map whose key holds it is named by the map's path."""
    if isinstance(value, str):
        if NUL in value:
            yield path
        return
    if isinstance(value, BaseModel):
        items: Iterator[tuple[object, object]] = iter(value.__dict__.items())
    elif isinstance(value, tuple | list):
        items = enumerate(value)
    elif isinstance(value, dict):
        items = iter(value.items())
        if any(isinstance(key, str) and NUL in key for key in value):
            yield path  # a map key
    else:
        return
    for name, item in items:
        yield from nul_paths(item, f"{path}.{name}" if path else str(name))


def walk_holds_nul(value: object) -> bool:
    """Whether :func:`nul_paths` names anything in ``value``."""
    return next(nul_paths(value, ""), None) is not None
