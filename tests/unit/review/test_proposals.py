"""The reviewer's view of a proposal comes from its fields, whatever its family."""

from __future__ import annotations

from velocity_stream.contracts import example
from velocity_stream.review.proposals import FieldChangeView, proposal_view


def test_writeback_proposal_shows_its_change_reasoning_and_evidence():
    artifact = example("OracleWritebackProposal")
    view = proposal_view("OracleWritebackProposal", "proposal:writeback:acme-stage", artifact)
    assert view.target_ref == "opportunity:acme-3bhk"
    assert view.target_kind == "OPPORTUNITY"
    assert view.operation == "UPDATE"
    assert view.changes[0] == FieldChangeView("stage", "QUALIFYING", "SITE_VISITS")
    assert view.reasoning.startswith("The client confirmed budget")
    assert view.evidence_refs == ("transcript:call:7781", "signal:acme:intent:2026-04-18")
    assert view.confidence == 0.81
    assert view.model == "oracle-2026-04"


def test_entity_proposal_shows_its_payload_and_merge_candidates():
    artifact = example("NormalizedEntityProposal")
    view = proposal_view("NormalizedEntityProposal", "proposal:entity:priya-raman", artifact)
    assert view.target_ref == "person:priya-raman"
    assert view.target_kind == "PERSON"
    assert view.operation == "MERGE"
    assert view.merge_refs == ("person:p-raman-2025",)
    assert FieldChangeView("given_name", None, "Priya") in view.changes
    # no reasoning_summary or evidence_refs field: the provenance speaks for it
    assert "manifest-apply+entity-resolution" in view.reasoning
    assert view.evidence_refs == artifact.provenance.source_refs
