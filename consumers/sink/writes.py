"""What one consumed record asks of a sink's store, and the generic SQL that does it.

A mapper turns a record into :class:`Writes`: rows to upsert, each with a :class:`Mode`, and
optionally the rows it owns in other tables (a transcript's segments, a signal's evidence
refs). ``consumers.sink.upserts.apply_writes`` applies a batch of them inside the store's
transaction:

- ``Mode.LWW``: the copy with the greater ``stamp`` column wins, whatever the arrival order;
  a copy that is not newer than the stored one changes nothing;
- ``Mode.REPLACE``: the last copy applied wins (for rows that are the same on every copy);
- ``Mode.KEEP``: the first copy stays (immutable rows; a consumer that must notice a second,
  different copy does so in its own apply hook).

Children are replaced together with their parent: when a copy wins, every row of each child
table that carries the parent's key is deleted and the copy's children inserted; when it
loses, its children are ignored. A child row carries the parent's primary-key columns under
the same names. A child table declared with no rows still loses the old copy's rows.
Stored rows are looked up by the first primary-key column (one array parameter when it holds
text, see ``storage.one_of``), and owned rows by the child columns named like the parent's key.

Redelivering a batch changes nothing: LWW and KEEP copies lose against themselves, REPLACE
copies write the same values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Table

Row = Mapping[str, Any]
Key = tuple[Any, ...]

STAMP = "stamp"


class Mode(StrEnum):
    LWW = "lww"  # the greater stamp wins
    REPLACE = "replace"  # the last copy applied wins
    KEEP = "keep"  # the first copy stays


@dataclass(frozen=True)
class Upsert:
    """One row of ``table`` and, per child table, the rows it owns there."""

    table: Table
    row: Row
    mode: Mode = Mode.LWW
    children: Mapping[Table, Sequence[Row]] = field(default_factory=dict)

    def key(self) -> Key:
        return tuple(self.row[name] for name in key_names(self.table))


@dataclass(frozen=True)
class Writes:
    """What one consumed record asks of the store. ``upserts`` may also hold plain
    ``(table, row)`` pairs: LWW when the table has a ``stamp`` column, else REPLACE.
    ``extra`` carries anything a consumer's own apply hook needs beyond rows; the runner
    checks only the upserts' text values (no NUL), so a hook checks what it writes of it."""

    upserts: Sequence[Upsert | tuple[Table, Row]] = ()
    extra: tuple[Any, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.upserts or self.extra)

    def normalized(self) -> list[Upsert]:
        return [as_upsert(item) for item in self.upserts]


NOTHING = Writes()


@lru_cache(maxsize=1024)
def key_names(table: Table) -> tuple[str, ...]:
    """The names of ``table``'s primary-key columns, in order."""
    return tuple(column.name for column in table.primary_key.columns)


def as_upsert(item: Upsert | tuple[Table, Row]) -> Upsert:
    if isinstance(item, Upsert):
        return item
    table, row = item
    return Upsert(table, row, Mode.LWW if STAMP in table.c else Mode.REPLACE)
