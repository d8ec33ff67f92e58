"""SQL plumbing shared by the consumers: engines, table names, LWW upserts, the offsets table,
the table shapes both stores use and the base of both stores.

Only SQLite and PostgreSQL are supported: both have ``INSERT ... ON CONFLICT DO UPDATE ...
WHERE``, which is what makes applying a fact idempotent and order-independent in one statement.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.schema import SchemaItem
from sqlalchemy.sql.selectable import Select

from velocity_stream.errors import ConfigError, ReasonCode

SUPPORTED_DIALECTS = ("sqlite", "postgresql")
# Keys per lookup statement (they travel as one array parameter, see one_of).
IN_CHUNK = 5000
_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
T = TypeVar("T")


def open_engine(url: str) -> Engine:
    """An engine for a supported store URL, tuned for a single writer.

    SQLite gets WAL journaling (readers such as the review app do not block the writer) and
    ``synchronous=NORMAL`` (durable at each checkpoint; a power cut can lose the last
    transactions but never corrupt the file, and the lost offsets go with the lost rows).
    """
    # The dialect is checked on the URL, before SQLAlchemy imports the URL's driver (an
    # unsupported one is often not installed: that would be a traceback, not this line).
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ConfigError(f"store URL {url!r}: {error}") from None
    if parsed.get_backend_name() not in SUPPORTED_DIALECTS:
        raise ConfigError(
            f"store {parsed.render_as_string(hide_password=True)}: dialect "
            f"{parsed.get_backend_name()!r} is not supported (use sqlite or postgresql)"
        )
    engine = create_engine(parsed, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine, "connect", _binary_arrays)
    return engine


def _binary_arrays(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    """Send Python lists (our array parameters) in binary: psycopg's text format escapes
    every quote and backslash through a regex callback, ten times slower for JSON text."""
    from psycopg.types.array import ListBinaryDumper

    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def check_prefix(prefix: str) -> str:
    """A table-name prefix (lower-case, starts with a letter); '' means none."""
    if prefix and not _PREFIX.match(prefix):
        raise ConfigError(f"table prefix {prefix!r}: use lower-case letters, digits and _")
    return prefix


def insert_for(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT (the one with ``on_conflict_do_*``) for ``table``.

    Returned as Any because SQLite's and PostgreSQL's Insert classes share the methods used
    here but no common type that declares them.
    """
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def one_of(
    conn: Connection, column: ColumnElement[str], values: Sequence[str]
) -> ColumnElement[bool]:
    """SQL ``column IN values`` with the values as ONE parameter: a PostgreSQL array
    (``= ANY``), a JSON array on SQLite (``IN (SELECT value FROM json_each(...))``).

    An IN list of N bound parameters makes SQLAlchemy expand and the driver parse a new
    statement text for every N; one parameter keeps the text, and its cached plan, fixed.
    """
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(String)))
    listed: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(list(values)), type_=String))
    )
    return column.in_(listed.scalar_subquery())


def later(current: ColumnElement[Any], incoming: ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL: ``incoming`` is set and newer than ``current`` (NULL counts as oldest)."""
    return and_(incoming.is_not(None), or_(current.is_(None), incoming > current))


def pick_later(
    condition: ColumnElement[bool], incoming: ColumnElement[Any], current: ColumnElement[Any]
) -> ColumnElement[Any]:
    """SQL CASE: ``incoming`` when ``condition`` holds, else keep ``current``."""
    return case((condition, incoming), else_=current)


OnConflict = Callable[[Any], Any]  # the dialect's Insert in, with its ON CONFLICT clause out


@dataclass(frozen=True, slots=True)
class _Prepared:
    """An INSERT compiled once for one table, clause and set of columns: its SQL text, the
    row keys in the order of its parameters, and the columns' bind processors (None where a
    value goes to the driver as it is; the tuple is empty when none needs one)."""

    sql: str
    get: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    processors: tuple[Callable[[Any], Any] | None, ...]


# Per table (dropped with it), per (dialect, clause name, columns): the compiled statement.
_PREPARED: WeakKeyDictionary[Table, dict[tuple[str, Hashable, tuple[str, ...]], _Prepared]] = (
    WeakKeyDictionary()
)


def _prepared(
    conn: Connection,
    table: Table,
    columns: tuple[str, ...],
    on_conflict: OnConflict,
    clause: Hashable,
) -> _Prepared:
    key = (conn.dialect.name, clause, columns)
    known = _PREPARED.setdefault(table, {}).get(key)
    if known is not None:
        return known
    compiled = on_conflict(insert_for(conn, table)).compile(
        dialect=conn.dialect, column_keys=list(columns)
    )
    names = tuple(compiled.positiontup or ())
    processors = [compiled.binds[name].type.bind_processor(conn.dialect) for name in names]
    if set(names) <= set(columns):
        getter = itemgetter(*names)
        get = getter if len(names) > 1 else (lambda row: (getter(row),))
    else:  # the clause binds values of its own: constants, processed here once
        constants: dict[str, Any] = {}
        for at, name in enumerate(names):
            if name not in columns:
                value, process = compiled.binds[name].effective_value, processors[at]
                constants[name] = value if process is None else process(value)
                processors[at] = None
        get = lambda row: tuple(  # noqa: E731
            row[name] if name in columns else constants[name] for name in names
        )
    found = _Prepared(
        compiled.string, get, tuple(processors) if any(p is not None for p in processors) else ()
    )
    _PREPARED[table][key] = found
    return found


def write_rows(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    on_conflict: OnConflict,
    clause: Hashable,
) -> None:
    """INSERT ``rows`` (all with the same keys) with an ON CONFLICT clause, in one statement.

    On PostgreSQL the rows travel as one array per column (``INSERT ... SELECT FROM
    unnest(...)``): one statement for the whole batch, about twice as fast as psycopg's
    row-by-row executemany. SQLite gets the driver's own executemany of a statement compiled
    once per table, ``clause`` and set of columns (``clause`` names what ``on_conflict``
    adds: the same name must always mean the same clause for a table), with plain tuples
    sent to the cursor of the connection's transaction: SQLAlchemy's executemany costs more
    per row than SQLite's insert itself.
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        columns = list(rows[0])
        arrays = [
            bindparam(None, [row[c] for row in rows], type_=postgresql.ARRAY(table.c[c].type))
            for c in columns
        ]
        source = func.unnest(*arrays).table_valued(*columns).render_derived(name="incoming")
        statement = postgresql.insert(table).from_select(
            columns, select(*(source.c[c] for c in columns))
        )
        conn.execute(on_conflict(statement))
        return
    prepared = _prepared(conn, table, tuple(rows[0]), on_conflict, clause)
    get = prepared.get
    if prepared.processors:
        processors = prepared.processors
        values: list[tuple[Any, ...]] = [
            tuple(v if p is None else p(v) for v, p in zip(get(row), processors, strict=True))
            for row in rows
        ]
    else:
        values = [get(row) for row in rows]
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(prepared.sql, values)
    finally:
        cursor.close()


def lww_upsert(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], stamp: str = "stamp"
) -> None:
    """Insert ``rows``; on a key conflict overwrite only when the row's ``stamp`` is newer.

    Last-writer-wins by a deterministic stamp (event time + artifact id), not by arrival, so
    the result does not depend on the order in which partitions interleave.
    """
    keys = [c.name for c in table.primary_key.columns]

    def newer_wins(statement: Any) -> Any:
        excluded = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=keys,
            set_={c.name: excluded[c.name] for c in table.columns if c.name not in keys},
            where=excluded[stamp] > table.c[stamp],
        )

    write_rows(conn, table, rows, newer_wins, ("lww", stamp))


def replace_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows``; on a key conflict overwrite the columns the rows carry."""
    keys = [c.name for c in table.primary_key.columns]

    def overwrite(statement: Any) -> Any:
        excluded = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=keys,
            set_={name: excluded[name] for name in rows[0] if name not in keys},
        )

    write_rows(conn, table, rows, overwrite, "replace")


def insert_ignore(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows``, skipping any whose key already exists."""
    write_rows(conn, table, rows, lambda statement: statement.on_conflict_do_nothing(), "ignore")


def plain_rows(conn: Connection, query: Select[*tuple[Any, ...]]) -> Sequence[Any]:
    """The rows of ``query`` (which must use no expanding IN list; see one_of), as tuples.

    On SQLite the statement goes to the driver's cursor of the connection's transaction and
    its rows come back as the driver returns them, without SQLAlchemy's result processing
    (booleans stay 0 or 1: the caller converts what it needs). That per-row processing costs
    more than SQLite's own fetch for the tens of thousands of rows a refresh reads.
    PostgreSQL's driver returns typed values already: there the query goes through
    SQLAlchemy.
    """
    if conn.dialect.name != "sqlite":
        return conn.execute(query).all()
    compiled = query.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    values = []
    for name in compiled.positiontup or ():
        process = compiled.binds[name].type.bind_processor(conn.dialect)
        values.append(params[name] if process is None else process(params[name]))
    cursor = conn.connection.cursor()
    try:
        cursor.execute(compiled.string, values)
        return cursor.fetchall()
    finally:
        cursor.close()


def delete_in(conn: Connection, table: Table, column: str, keys: Iterable[str]) -> int:
    """DELETE the rows of ``table`` whose ``column`` is one of ``keys``, a chunk of keys per
    statement (see one_of); returns how many rows went."""
    removed = 0
    for part in chunks(sorted(set(keys))):
        gone = conn.execute(delete(table).where(one_of(conn, table.c[column], part)))
        removed += gone.rowcount or 0
    return removed


def chunks(items: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size`` (for IN lists)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- table shapes ----------------------------------------------------------------------


def table_names(prefix: str, worker: str) -> tuple[MetaData, Callable[[str], str]]:
    """A MetaData for one worker's tables and the function naming them
    (``<prefix><worker>_<table>``); the prefix is checked."""
    head = f"{check_prefix(prefix)}{worker}_"
    return MetaData(), lambda table: f"{head}{table}"


def position_columns(*, primary_key: bool = False) -> list[Column[Any]]:
    """Where a consumed record was read: topic, partition and offset."""
    return [
        Column("topic", String(249), primary_key=primary_key, nullable=False),
        Column("partition", Integer, primary_key=primary_key, nullable=False),
        Column("offset", BigInteger, primary_key=primary_key, nullable=False),
    ]


def edges_table(metadata: MetaData, name: str, *columns: SchemaItem) -> Table:
    """Graph edges keyed by (from_ref, to_ref, relation), also indexed by ``to_ref`` so an edge
    is found from either end."""
    return Table(
        name,
        metadata,
        Column("from_ref", String, primary_key=True),
        Column("to_ref", String, primary_key=True),
        Column("relation", String, primary_key=True),
        *columns,
        Index(f"ix_{name}_to", "to_ref"),
    )


def merges_table(metadata: MetaData, name: str, *columns: SchemaItem) -> Table:
    """Which ref was merged into which: one row per merged ref."""
    return Table(
        name,
        metadata,
        Column("merged_ref", String, primary_key=True),
        Column("into_ref", String, nullable=False),
        *columns,
    )


def rejects_table(metadata: MetaData, name: str) -> Table:
    """Records a worker could not read, by position, with a reason code: kept so that a rebuild
    reports the same ones and an operator can find them."""
    return Table(
        name,
        metadata,
        *position_columns(primary_key=True),
        Column("reason", String, nullable=False),
        Column("detail", Text, nullable=False),
    )


@dataclass(frozen=True, slots=True)
class Rejection:
    """A consumed record a worker could not read; stored, and its offset still advances."""

    topic: str
    partition: int
    offset: int
    reason: ReasonCode
    detail: str


def save_rejects(conn: Connection, table: Table, rejections: Sequence[Rejection]) -> None:
    """Insert ``rejections`` into a rejects table (rejects_table); a position already there
    (a redelivered record) is kept as it is."""
    insert_ignore(
        conn,
        table,
        [
            {
                "topic": r.topic,
                "partition": r.partition,
                "offset": r.offset,
                "reason": r.reason.value,
                "detail": r.detail,
            }
            for r in rejections
        ],
    )


# --- offsets ------------------------------------------------------------------------------


def offsets_table(metadata: MetaData, name: str) -> Table:
    """The next offset to read per (topic, partition): the consumer's source of truth."""
    return Table(
        name,
        metadata,
        Column("topic", String(249), primary_key=True),
        Column("partition", Integer, primary_key=True),
        Column("next_offset", BigInteger, nullable=False),
    )


def load_offsets(conn: Connection, table: Table) -> dict[tuple[str, int], int]:
    rows = conn.execute(select(table.c.topic, table.c.partition, table.c.next_offset))
    return {(topic, partition): int(offset) for topic, partition, offset in rows}


def save_offsets(conn: Connection, table: Table, next_offsets: dict[tuple[str, int], int]) -> None:
    """Upsert next offsets; called inside the transaction that wrote the batch's rows."""
    replace_rows(
        conn,
        table,
        [
            {"topic": topic, "partition": partition, "next_offset": offset}
            for (topic, partition), offset in sorted(next_offsets.items())
        ],
    )


# --- the stores' common part --------------------------------------------------------------


@dataclass(frozen=True)
class StoreTables:
    """One worker's tables: its MetaData and offsets table, plus whatever the worker adds."""

    metadata: MetaData
    offsets: Table

    def all(self) -> tuple[Table, ...]:
        return tuple(self.metadata.sorted_tables)


TablesT = TypeVar("TablesT", bound=StoreTables)


class OffsetsStore(Generic[TablesT]):
    """A worker's tables in one database and the offsets it resumes from.

    The two stores (Client360Store, GraphStore) stay separate: each owns its tables and its
    transactions; this is only what creating, dropping, resuming and comparing them share.
    """

    def __init__(self, engine: Engine, tables: TablesT) -> None:
        self.engine = engine
        self.tables: TablesT = tables

    def create(self) -> None:
        self.tables.metadata.create_all(self.engine)

    def drop(self) -> None:
        self.tables.metadata.drop_all(self.engine)

    def offsets(self) -> dict[tuple[str, int], int]:
        """The stored next offset per (topic, partition)."""
        with self.engine.connect() as conn:
            return load_offsets(conn, self.tables.offsets)

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's rows, sorted, by unprefixed name: for comparing two runs."""
        prefix_len = len(self.tables.offsets.name) - len("offsets")
        found: dict[str, list[tuple[Any, ...]]] = {}
        with self.engine.connect() as conn:
            for table in self.tables.all():
                rows = conn.execute(select(table)).all()
                found[table.name[prefix_len:]] = sorted((tuple(r) for r in rows), key=repr)
        return found
