"""storage.write_rows on SQLite compiles each statement once and sends plain tuples to the
driver: the rows it writes must be those SQLAlchemy's own executemany wrote (last writer wins,
insert-ignore, replace, typed columns, a clause with constants of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, Engine, Float, MetaData, String, Table, select

from consumers.storage import insert_ignore, lww_upsert, open_engine, replace_rows, write_rows


@pytest.fixture
def engine() -> Iterator[Engine]:
    made = open_engine("sqlite://")
    yield made
    made.dispose()


def _table(engine: Engine) -> Table:
    table = Table(
        "facts",
        MetaData(),
        Column("key", String, primary_key=True),
        Column("flag", Boolean, nullable=False),
        Column("score", Float(precision=53), nullable=False),
        Column("stamp", String, nullable=False),
    )
    table.metadata.create_all(engine)
    return table


def _rows(engine: Engine, table: Table) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(table).order_by(table.c.key))]


def _row(key: str, flag: bool, score: float, stamp: str) -> dict[str, Any]:
    return {"key": key, "flag": flag, "score": score, "stamp": stamp}


def test_upserts_ignores_and_replaces_keep_their_rules(engine: Engine) -> None:
    table = _table(engine)
    with engine.begin() as conn:
        lww_upsert(conn, table, [_row("a", True, 1.5, "2"), _row("b", False, 2.0, "1")])
    with engine.begin() as conn:  # an older stamp loses, a newer one wins
        lww_upsert(conn, table, [_row("a", False, 9.0, "1"), _row("b", True, 3.0, "3")])
        insert_ignore(conn, table, [_row("a", False, 0.0, "9"), _row("c", True, 4.0, "1")])
    assert _rows(engine, table) == [
        ("a", True, 1.5, "2"),
        ("b", True, 3.0, "3"),
        ("c", True, 4.0, "1"),
    ]
    with engine.begin() as conn:  # columns in another order: its own statement
        replace_rows(conn, table, [{"stamp": "0", "score": 7.0, "flag": False, "key": "c"}])
    assert _rows(engine, table)[2] == ("c", False, 7.0, "0")


def test_a_clause_with_constants_of_its_own_binds_them_at_every_call(engine: Engine) -> None:
    table = _table(engine)

    def only_over_flagged(statement: Any) -> Any:
        excluded = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=["key"],
            set_={"score": excluded.score},
            where=(table.c.flag == True) & (excluded.stamp > "5"),  # noqa: E712
        )

    for stamp, score in (("1", 1.0), ("6", 2.0), ("7", 3.0)):
        with engine.begin() as conn:
            write_rows(conn, table, [_row("a", True, score, stamp)], only_over_flagged, "flagged")
    assert _rows(engine, table) == [("a", True, 3.0, "1")]
