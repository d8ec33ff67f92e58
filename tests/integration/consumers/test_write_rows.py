"""storage.write_rows on both stores (arrays through unnest on PostgreSQL, the driver's
executemany on SQLite): awkward values come back as written, a table written twice in one
transaction keeps the second write, a rolled-back write leaves nothing behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    Text,
    select,
)

from consumers.storage import lww_upsert, replace_rows

AWKWARD = [
    "tab\there",
    "line\nbreak\r\n",
    "back\\slash \\N \\.",
    "quote ' and \" both",
    "",
    "naïve — ünïcödé 🎉",
    "comma, and | bar",
]


def _table(name: str) -> Table:
    return Table(
        name,
        MetaData(),
        Column("key", String, primary_key=True),
        Column("text", Text),
        Column("number", BigInteger),
        Column("ratio", Float(precision=53)),
        Column("flag", Boolean),
        Column("stamp", String, nullable=False),
    )


@pytest.fixture
def table(engine: Engine) -> Iterator[Table]:
    made = _table(f"w{uuid.uuid4().hex[:8]}_rows")
    made.metadata.create_all(engine)
    yield made
    made.metadata.drop_all(engine)


def _rows(engine: Engine, table: Table) -> dict[str, tuple[object, ...]]:
    with engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(select(table)).all()}


def test_awkward_values_come_back_as_written(engine: Engine, table: Table) -> None:
    rows = [
        {
            "key": f"k{at}",
            "text": text,
            "number": (-1) ** at * 2**62,
            "ratio": [0.1, -0.0, 1e300, 5e-324][at % 4],
            "flag": at % 2 == 0,
            "stamp": "s1",
        }
        for at, text in enumerate(AWKWARD)
    ]
    rows.append(
        {"key": "nulls", "text": None, "number": None, "ratio": None, "flag": None, "stamp": "s1"}
    )
    with engine.begin() as conn:
        lww_upsert(conn, table, rows)
    stored = _rows(engine, table)
    assert stored == {r["key"]: (r["text"], r["number"], r["ratio"], r["flag"], "s1") for r in rows}


def test_a_table_written_twice_in_one_transaction_keeps_the_second_write(
    engine: Engine, table: Table
) -> None:
    first = [{"key": k, "text": "first", "stamp": "s1"} for k in ("a", "b")]
    second = [{"key": k, "text": "second", "stamp": "s2"} for k in ("b", "c")]
    with engine.begin() as conn:
        replace_rows(conn, table, first)
        replace_rows(conn, table, second)  # b again: one statement per write, no clash
        lww_upsert(conn, table, [{"key": "a", "text": "older", "stamp": "s0"}])  # loses
    assert {k: v[0] for k, v in _rows(engine, table).items()} == {
        "a": "first",
        "b": "second",
        "c": "second",
    }


def test_a_rolled_back_write_leaves_nothing_and_the_next_one_lands(
    engine: Engine, table: Table
) -> None:
    class Stop(Exception):
        pass

    with pytest.raises(Stop), engine.begin() as conn:
        replace_rows(conn, table, [{"key": "gone", "text": "x", "stamp": "s"}])
        raise Stop
    with engine.begin() as conn:
        replace_rows(conn, table, [{"key": "kept", "text": "y", "stamp": "s"}])
    assert list(_rows(engine, table)) == ["kept"]
