"""Fixtures for the consumer unit tests: an in-memory SQLite read-model store, no broker."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest

from consumers.client360.facts import Projection
from consumers.client360.projector import project, project_commit
from consumers.client360.store import Client360Store
from consumers.storage import open_engine
from tests.unit.consumers.events import commit
from velocity_stream.contracts.metadata import Artifact

PROPOSAL_TOPIC = {
    "NormalizedEntityProposal": "velocity.normalized-entity-proposal.v1",
    "OracleWritebackProposal": "velocity.oracle-writeback-proposal.v1",
}


def fresh_store() -> Client360Store:
    store = Client360Store(open_engine("sqlite://"), "unit_")
    store.create()
    return store


@pytest.fixture
def store() -> Iterator[Client360Store]:
    made = fresh_store()
    yield made
    made.engine.dispose()


def projection_of(item: Artifact | tuple[Artifact, str, int]) -> Projection:
    """An accepted artifact, or (proposal, decision id, minute) for an approved proposal."""
    if isinstance(item, tuple):
        proposal, decision, minute = item
        record = commit(proposal, b"", PROPOSAL_TOPIC[proposal.FAMILY], decision, minute)
        made = project_commit(record, proposal)
    else:
        made = project(item)
    assert made is not None
    return made


ApplyAll = Callable[[Sequence[Artifact | tuple[Artifact, str, int]]], Client360Store]


@pytest.fixture
def apply_all(store: Client360Store) -> ApplyAll:
    def run(items: Sequence[Artifact | tuple[Artifact, str, int]]) -> Client360Store:
        store.apply([projection_of(item) for item in items], {})
        store.refresh_all()
        return store

    return run
