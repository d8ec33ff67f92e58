"""Fixtures for the consumer unit tests: an in-memory SQLite read-model store fed through the
real committer (also in memory), no broker."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import fastavro
import pytest

from consumers.client360.facts import Projection
from consumers.client360.projector import project
from consumers.client360.store import Client360Store
from consumers.reading import ArtifactReader
from consumers.storage import open_engine
from tests.unit.consumers.events import MemoryCommitter
from velocity_stream.contracts.catalog import Catalog, Family, load_catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver, frame
from velocity_stream.settings import Settings

PREFIX = "unit"  # the topic prefix of the offline serde and reader


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(Settings().schemas_dir)


@pytest.fixture
def serde(catalog: Catalog) -> AvroSerde:
    """Schema ids from an in-memory resolver, topics under PREFIX."""
    return AvroSerde(catalog, InMemorySchemaResolver(), PREFIX)


@pytest.fixture
def reader(catalog: Catalog, serde: AvroSerde) -> ArtifactReader:
    return ArtifactReader(catalog, serde, PREFIX)


def written_with(serde: AvroSerde, family: Family, version: str, record: dict[str, Any]) -> bytes:
    """``record`` encoded with an older ``version`` of ``family``'s schema, framed with that
    version's id (what a producer on that version sends)."""
    schema = family.version(version)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema.schema), record)
    return frame(serde.schema_id(schema), buffer.getvalue())


def fresh_store() -> Client360Store:
    store = Client360Store(open_engine("sqlite://"), "unit_")
    store.create()
    return store


@pytest.fixture
def store() -> Iterator[Client360Store]:
    made = fresh_store()
    yield made
    made.engine.dispose()


def projection_of(item: Artifact) -> Projection:
    """An artifact the read model projects (an interaction, a signal, an applied record)."""
    made = project(item)
    assert made is not None, item
    return made


@pytest.fixture
def committer() -> MemoryCommitter:
    return MemoryCommitter()


ApplyAll = Callable[[Sequence[Any]], Client360Store]


@pytest.fixture
def apply_all(store: Client360Store, committer: MemoryCommitter) -> ApplyAll:
    """Raw items (events.py) through the test's committer, then into the read model."""

    def run(items: Sequence[Any]) -> Client360Store:
        store.apply([projection_of(item) for item in committer.commit(items)], {})
        store.refresh_all()
        return store

    return run
