"""The sink store's transaction and upsert semantics (tests/unit/consumers/test_sink_store.py)
on both databases: the same tests, with the store on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from consumers.sink import SinkStore
from tests.integration.consumers.conftest import fresh_prefix
from tests.unit.consumers.test_sink_store import (  # collected again, with the fixtures below
    DemoTables,
    demo_tables,
    test_a_failing_batch_leaves_rows_rejects_and_offsets_as_they_were,
    test_a_redelivered_batch_changes_nothing,
    test_an_integer_key_owns_its_rows_too,
    test_keep_holds_the_first_copy_and_replace_the_last,
    test_newest_copy_wins_whatever_the_order_and_brings_its_own_children,
    test_rebuild_drops_and_recreates_the_tables,
    test_rows_rejects_and_offsets_commit_together,
    test_within_one_batch_the_newest_copy_wins,
)

pytestmark = pytest.mark.integration

__all__ = [
    "test_a_failing_batch_leaves_rows_rejects_and_offsets_as_they_were",
    "test_a_redelivered_batch_changes_nothing",
    "test_an_integer_key_owns_its_rows_too",
    "test_keep_holds_the_first_copy_and_replace_the_last",
    "test_newest_copy_wins_whatever_the_order_and_brings_its_own_children",
    "test_rebuild_drops_and_recreates_the_tables",
    "test_rows_rejects_and_offsets_commit_together",
    "test_within_one_batch_the_newest_copy_wins",
]


@pytest.fixture
def tables() -> DemoTables:
    return demo_tables(fresh_prefix())


@pytest.fixture
def store(engine: Engine, tables: DemoTables) -> Iterator[SinkStore]:
    made = SinkStore(engine, tables)
    made.create()
    yield made
    made.drop()
