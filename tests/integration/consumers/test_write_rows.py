"""storage.write_rows on both stores (arrays through unnest on PostgreSQL, the driver's
executemany of a statement compiled once on SQLite): each ON CONFLICT rule keeps its meaning,
a clause's own constants are bound at every call, awkward values come back as written, a table
written twice in one transaction keeps the second write, a rolled-back write leaves nothing
behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

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

from consumers.storage import insert_ignore, lww_upsert, replace_rows, write_rows

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


def _flagged(key: str, flag: bool, ratio: float, stamp: str) -> dict[str, Any]:
    return {"key": key, "flag": flag, "ratio": ratio, "stamp": stamp}


def test_upserts_ignores_and_replaces_keep_their_rules(engine: Engine, table: Table) -> None:
    with engine.begin() as conn:
        lww_upsert(conn, table, [_flagged("a", True, 1.5, "2"), _flagged("b", False, 2.0, "1")])
    with engine.begin() as conn:  # an older stamp loses, a newer one wins
        lww_upsert(conn, table, [_flagged("a", False, 9.0, "1"), _flagged("b", True, 3.0, "3")])
        insert_ignore(conn, table, [_flagged("a", False, 0.0, "9"), _flagged("c", True, 4.0, "1")])
    shown = {k: (v[3], v[2], v[4]) for k, v in _rows(engine, table).items()}
    assert shown == {"a": (True, 1.5, "2"), "b": (True, 3.0, "3"), "c": (True, 4.0, "1")}
    with engine.begin() as conn:  # columns in another order: a statement of its own
        replace_rows(conn, table, [{"stamp": "0", "ratio": 7.0, "flag": False, "key": "c"}])
    assert _rows(engine, table)["c"][2:] == (7.0, False, "0")


def test_a_clause_with_constants_of_its_own_binds_them_at_every_call(
    engine: Engine, table: Table
) -> None:
    def only_over_flagged(statement: Any) -> Any:
        excluded = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=["key"],
            set_={"ratio": excluded.ratio},
            where=(table.c.flag == True) & (excluded.stamp > "5"),  # noqa: E712
        )

    for stamp, ratio in (("1", 1.0), ("6", 2.0), ("7", 3.0)):
        with engine.begin() as conn:
            write_rows(
                conn, table, [_flagged("a", True, ratio, stamp)], only_over_flagged, "flagged"
            )
    assert _rows(engine, table)["a"][2:] == (3.0, True, "1")


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
