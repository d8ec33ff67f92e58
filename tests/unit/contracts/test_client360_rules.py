"""Client360Snapshot is derived only: it names the sources it was built from."""

from __future__ import annotations

import pytest

from tests.unit.contracts.conftest import changed, violations
from velocity_stream.contracts.client360 import Client360Snapshot
from velocity_stream.contracts.examples import example

SNAPSHOT = example("Client360Snapshot")


def test_a_derived_snapshot_with_sources_is_valid() -> None:
    assert violations(Client360Snapshot, changed(SNAPSHOT)) == set()


@pytest.mark.parametrize("origin", ["HUMAN", "SYSTEM", "AI", "UPLOAD"])
def test_a_snapshot_of_any_other_origin_is_refused(origin: str) -> None:
    data = changed(SNAPSHOT, {"provenance.origin": origin})
    assert ("contract.client360.not_derived", "provenance.origin") in violations(
        Client360Snapshot, data
    )


def test_a_derived_snapshot_without_sources_is_refused() -> None:
    data = changed(SNAPSHOT, {"provenance.source_refs": []})
    assert violations(Client360Snapshot, data) == {
        ("contract.provenance_refs_required", "provenance.source_refs")
    }


def test_risk_severity_is_an_enum() -> None:
    data = changed(SNAPSHOT, {"risk_flags.0.severity": "CRITICAL"})
    assert violations(Client360Snapshot, data) == {
        ("contract.invalid_field", "risk_flags.0.severity")
    }


def test_an_empty_read_model_is_still_a_snapshot() -> None:
    data = changed(
        SNAPSHOT,
        {
            "account_links": [],
            "active_opportunities": [],
            "recent_interactions": [],
            "property_interests": [],
            "tasks": [],
            "qd_overview": [],
            "risk_flags": [],
        },
    )
    assert violations(Client360Snapshot, data) == set()
