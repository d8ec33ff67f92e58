"""Fixtures for the imports consumer's unit tests: its tables in an in-memory SQLite database,
and the demo import (a batch, six rows, a manifest) at a fixed time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from consumers.imports.tables import ImportTables, import_tables
from consumers.storage import open_engine

START = datetime(2026, 4, 18, 9, 0, tzinfo=UTC)


@pytest.fixture
def tables() -> ImportTables:
    return import_tables("unit_")


@pytest.fixture
def engine(tables: ImportTables) -> Iterator[Engine]:
    made = open_engine("sqlite://")
    tables.metadata.create_all(made)
    yield made
    made.dispose()
