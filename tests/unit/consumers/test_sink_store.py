"""The sink store's transaction: rows, rejects and offsets commit together or not at all; a
redelivered batch changes nothing; the generic upserts' modes and owned rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Column, Connection, Integer, String, Table, select

from consumers.reading import UnreadableRecord
from consumers.sink import Mode, Rejection, SinkStore, Upsert, Writes, apply_writes
from consumers.sink.runner import refuse_unstorable
from consumers.storage import StoreTables, offsets_table, open_engine, rejects_table, table_names
from velocity_stream.errors import ReasonCode


@dataclass(frozen=True)
class DemoTables(StoreTables):
    rejects: Table
    docs: Table
    lines: Table
    blobs: Table
    tags: Table
    calls: Table  # keyed by an integer, owning turns
    turns: Table


def demo_tables(prefix: str = "unit_") -> DemoTables:
    md, name = table_names(prefix, "demo")
    return DemoTables(
        metadata=md,
        offsets=offsets_table(md, name("offsets")),
        rejects=rejects_table(md, name("rejects")),
        docs=Table(
            name("docs"),
            md,
            Column("doc_id", String, primary_key=True),
            Column("body", String, nullable=False),
            Column("stamp", String, nullable=False),
        ),
        lines=Table(
            name("lines"),
            md,
            Column("doc_id", String, primary_key=True),
            Column("seq", Integer, primary_key=True),
            Column("text", String, nullable=False),
        ),
        blobs=Table(
            name("blobs"),
            md,
            Column("blob_id", String, primary_key=True),
            Column("body", String, nullable=False),
        ),
        tags=Table(name("tags"), md, Column("tag", String, primary_key=True), Column("n", Integer)),
        calls=Table(
            name("calls"),
            md,
            Column("call_no", Integer, primary_key=True),
            Column("stamp", String, nullable=False),
        ),
        turns=Table(
            name("turns"),
            md,
            Column("call_no", Integer, primary_key=True),
            Column("seq", Integer, primary_key=True),
        ),
    )


@pytest.fixture
def tables() -> DemoTables:
    return demo_tables()


@pytest.fixture
def store(tables: DemoTables) -> Iterator[SinkStore]:
    made = SinkStore(open_engine("sqlite://"), tables)
    made.create()
    yield made
    made.engine.dispose()


def doc(t: DemoTables, doc_id: str, stamp: str, *lines: str) -> Writes:
    children = [{"doc_id": doc_id, "seq": i, "text": text} for i, text in enumerate(lines)]
    row = {"doc_id": doc_id, "body": f"{doc_id}@{stamp}", "stamp": stamp}
    return Writes([Upsert(t.docs, row, children={t.lines: children})])


def rows(store: SinkStore, table: Table) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(table)))


def reject(offset: int) -> Rejection:
    return Rejection("t", 0, offset, ReasonCode.DECODE_CORRUPT_BODY, "bad bytes")


def test_rows_rejects_and_offsets_commit_together(store: SinkStore, tables: DemoTables) -> None:
    result = store.apply([doc(tables, "d1", "1", "a", "b")], [reject(1)], {("t", 0): 2})
    assert (result.records, result.unchanged, result.rejected) == (1, 0, 1)
    assert rows(store, tables.docs) == [("d1", "d1@1", "1")]
    assert rows(store, tables.lines) == [("d1", 0, "a"), ("d1", 1, "b")]
    assert rows(store, tables.rejects) == [("t", 0, 1, "decode.corrupt_body", "bad bytes")]
    assert store.offsets() == {("t", 0): 2}


def test_a_failing_batch_leaves_rows_rejects_and_offsets_as_they_were(
    store: SinkStore, tables: DemoTables
) -> None:
    def write_then_fail(conn: Connection, batch: Sequence[Writes]) -> int:
        apply_writes(conn, batch)  # the rows are written ...
        raise RuntimeError("the database went away")  # ... then the batch fails

    store.apply([doc(tables, "d1", "1", "a")], [reject(0)], {("t", 0): 2})
    before = store.dump()
    failing = SinkStore(store.engine, tables, write_then_fail)
    with pytest.raises(RuntimeError):
        failing.apply(
            [doc(tables, "d2", "2", "x"), doc(tables, "d1", "9")], [reject(3)], {("t", 0): 5}
        )
    assert store.dump() == before
    assert store.offsets() == {("t", 0): 2}


def test_a_redelivered_batch_changes_nothing(store: SinkStore, tables: DemoTables) -> None:
    batch = [
        doc(tables, "d1", "1", "a"),
        Writes([Upsert(tables.blobs, {"blob_id": "b", "body": "x"}, Mode.KEEP)]),
        Writes([(tables.tags, {"tag": "t", "n": 1})]),  # a plain pair: no stamp, REPLACE
    ]
    store.apply(batch, [reject(7)], {("t", 0): 9})
    before = store.dump()
    again = store.apply(batch, [reject(7)], {("t", 0): 9})
    assert again.unchanged == 2  # the LWW and KEEP copies lose against themselves
    assert store.dump() == before


def test_newest_copy_wins_whatever_the_order_and_brings_its_own_children(
    store: SinkStore, tables: DemoTables
) -> None:
    store.apply([doc(tables, "d1", "2", "new-a", "new-b")], [], {})
    older = store.apply([doc(tables, "d1", "1", "old-a", "old-b", "old-c")], [], {})
    assert older.unchanged == 1
    assert rows(store, tables.lines) == [("d1", 0, "new-a"), ("d1", 1, "new-b")]
    store.apply([doc(tables, "d1", "3", "only")], [], {})
    assert rows(store, tables.docs) == [("d1", "d1@3", "3")]
    assert rows(store, tables.lines) == [("d1", 0, "only")]  # the old copy's rows are gone
    store.apply([doc(tables, "d1", "4")], [], {})  # a newer copy with no children
    assert rows(store, tables.lines) == []


def test_within_one_batch_the_newest_copy_wins(store: SinkStore, tables: DemoTables) -> None:
    result = store.apply(
        [doc(tables, "d1", "5", "five"), doc(tables, "d1", "3", "three"), doc(tables, "d2", "1")],
        [],
        {},
    )
    assert result.unchanged == 1
    assert rows(store, tables.docs) == [("d1", "d1@5", "5"), ("d2", "d2@1", "1")]
    assert rows(store, tables.lines) == [("d1", 0, "five")]


def test_an_integer_key_owns_its_rows_too(store: SinkStore, tables: DemoTables) -> None:
    def call(stamp: str, turns: int) -> Writes:
        row = {"call_no": 7, "stamp": stamp}
        owned = [{"call_no": 7, "seq": i} for i in range(turns)]
        return Writes([Upsert(tables.calls, row, children={tables.turns: owned})])

    store.apply([call("1", 3)], [], {})
    store.apply([call("2", 1), call("0", 5)], [], {})
    assert rows(store, tables.calls) == [(7, "2")]
    assert rows(store, tables.turns) == [(7, 0)]


def test_keep_holds_the_first_copy_and_replace_the_last(
    store: SinkStore, tables: DemoTables
) -> None:
    def blob(body: str) -> Writes:
        return Writes([Upsert(tables.blobs, {"blob_id": "b", "body": body}, Mode.KEEP)])

    def tag(n: int) -> Writes:
        return Writes([Upsert(tables.tags, {"tag": "t", "n": n}, Mode.REPLACE)])

    store.apply([blob("first"), tag(1)], [], {})
    store.apply([blob("second"), tag(2), tag(3)], [], {})
    assert rows(store, tables.blobs) == [("b", "first")]
    assert rows(store, tables.tags) == [("t", 3)]


def test_rebuild_drops_and_recreates_the_tables(store: SinkStore, tables: DemoTables) -> None:
    store.apply([doc(tables, "d1", "1", "a")], [reject(0)], {("t", 0): 1})
    store.drop()
    store.create()
    assert all(not found for found in store.dump().values())
    assert store.offsets() == {}


def test_a_text_value_with_a_nul_character_is_refused(tables: DemoTables) -> None:
    refuse_unstorable(doc(tables, "d1", "1", "fine"))
    with pytest.raises(UnreadableRecord) as refused:
        refuse_unstorable(doc(tables, "d1", "1", "line\x00two"))
    assert refused.value.code is ReasonCode.CONTRACT_INVALID_FIELD
    assert "unit_demo_lines.text" in str(refused.value)


def test_tables_without_a_rejects_table_are_refused() -> None:
    md, name = table_names("unit_", "bare")
    bare = StoreTables(md, offsets_table(md, name("offsets")))
    with pytest.raises(TypeError, match="rejects"):
        SinkStore(open_engine("sqlite://"), bare)
