"""The eight metadata fields hold on every family: confidence range, aware timestamps, type and
version, structured provenance."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.unit.contracts.conftest import changed, violations
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.registry import MODELS, model_for

FAMILIES = list(MODELS)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("confidence", [-0.01, 1.0001, 7.0])
def test_confidence_outside_zero_to_one_is_refused(family: str, confidence: float) -> None:
    data = changed(example(family), {"confidence": confidence})
    assert violations(model_for(family), data) == {("contract.confidence_range", "confidence")}


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("confidence", [0.0, 1.0])
def test_confidence_bounds_are_inclusive(family: str, confidence: float) -> None:
    assert (
        violations(model_for(family), changed(example(family), {"confidence": confidence})) == set()
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_naive_created_at_is_refused(family: str) -> None:
    data = changed(example(family), {"created_at": datetime(2026, 4, 18, 9, 30)})
    assert violations(model_for(family), data) == {("contract.naive_timestamp", "created_at")}


@pytest.mark.parametrize(
    ("family", "path"),
    [
        ("ApprovalDecision", "decided_at"),
        ("QdSignalBundle", "time_window.start"),
        ("Client360Snapshot", "as_of"),
        ("Client360Snapshot", "recent_interactions.0.occurred_at"),
        ("Client360Snapshot", "tasks.0.due_at"),
        ("Client360Snapshot", "qd_overview.0.window_end"),
    ],
)
def test_naive_timestamps_inside_the_body_are_refused_where_they_are(
    family: str, path: str
) -> None:
    data = changed(example(family), {path: datetime(2026, 4, 1, 12, 0)})
    found = violations(model_for(family), data)
    assert ("contract.naive_timestamp", path) in found
    assert {code for code, _ in found} <= {
        "contract.naive_timestamp",
        "contract.qd_signal.time_window",
    }


@pytest.mark.parametrize("family", FAMILIES)
def test_artifact_type_must_name_the_family(family: str) -> None:
    data = changed(example(family), {"artifact_type": "SomethingElse"})
    assert violations(model_for(family), data) == {
        ("contract.artifact_type_mismatch", "artifact_type")
    }


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("version", ["9.0.0", "1.0", "latest"])
def test_schema_version_must_be_a_semver_of_the_models_major(family: str, version: str) -> None:
    data = changed(example(family), {"schema_version": version})
    assert violations(model_for(family), data) == {
        ("contract.schema_version_mismatch", "schema_version")
    }


@pytest.mark.parametrize("family", FAMILIES)
def test_a_later_minor_of_the_same_major_is_accepted(family: str) -> None:
    model = model_for(family)
    major = model.SCHEMA_VERSION.split(".")[0]
    assert violations(model, changed(example(family), {"schema_version": f"{major}.7.3"})) == set()


@pytest.mark.parametrize("family", FAMILIES)
def test_metadata_fields_are_required(family: str) -> None:
    data = changed(example(family))
    del data["created_by"]
    assert violations(model_for(family), data) == {("contract.invalid_field", "created_by")}


@pytest.mark.parametrize("family", FAMILIES)
def test_provenance_is_structured_not_a_string(family: str) -> None:
    data = changed(example(family), {"provenance": "from the importer"})
    assert violations(model_for(family), data) == {("contract.invalid_field", "provenance")}


def test_inferred_content_names_its_sources() -> None:
    data = changed(example("TranscriptBundle"), {"provenance.source_refs": []})
    assert violations(model_for("TranscriptBundle"), data) == {
        ("contract.provenance_refs_required", "provenance.source_refs")
    }


def test_unknown_fields_are_refused() -> None:
    data = changed(example("RawImportBatch"), {"committed": True})
    assert violations(model_for("RawImportBatch"), data) == {
        ("contract.invalid_field", "committed")
    }
