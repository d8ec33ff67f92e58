"""Rules of proposals and decisions: entity proposals, Oracle writebacks, approval decisions."""

from __future__ import annotations

import pytest

from tests.unit.contracts.conftest import changed, violations
from velocity_stream.contracts.approval import ApprovalDecision
from velocity_stream.contracts.entity_proposal import NormalizedEntityProposal
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.writeback import OracleWritebackProposal

# --- NormalizedEntityProposal -------------------------------------------------------------


def test_a_proposal_with_merge_candidates_asks_for_review() -> None:
    assert (
        violations(NormalizedEntityProposal, changed(example("NormalizedEntityProposal"))) == set()
    )
    data = changed(example("NormalizedEntityProposal"), {"review_required": False})
    assert violations(NormalizedEntityProposal, data) == {
        ("contract.entity_proposal.merge_needs_review", "review_required")
    }


def test_a_proposal_without_merge_candidates_may_skip_review() -> None:
    data = changed(
        example("NormalizedEntityProposal"),
        {"merge_candidate_refs": [], "review_required": False},
    )
    assert violations(NormalizedEntityProposal, data) == set()


def test_entity_type_is_one_of_the_graphs_kinds() -> None:
    data = changed(example("NormalizedEntityProposal"), {"entity_type": "LEAD"})
    assert violations(NormalizedEntityProposal, data) == {("contract.invalid_field", "entity_type")}


# --- OracleWritebackProposal --------------------------------------------------------------

WRITEBACK = example("OracleWritebackProposal")


def test_a_writeback_proposal_waiving_approval_is_refused() -> None:
    assert violations(OracleWritebackProposal, changed(WRITEBACK)) == set()
    data = changed(WRITEBACK, {"approval_required": False})
    assert violations(OracleWritebackProposal, data) == {
        ("contract.oracle_writeback.approval_required", "approval_required")
    }


def test_approval_required_defaults_to_true() -> None:
    data = changed(WRITEBACK)
    del data["approval_required"]
    assert OracleWritebackProposal.model_validate(data).approval_required is True


def test_a_writeback_proposal_without_evidence_is_refused() -> None:
    data = changed(WRITEBACK, {"evidence_refs": []})
    assert violations(OracleWritebackProposal, data) == {
        ("contract.oracle_writeback.evidence_required", "evidence_refs")
    }


@pytest.mark.parametrize("origin", ["HUMAN", "SYSTEM", "UPLOAD", "DERIVED"])
def test_a_writeback_proposal_comes_from_the_ai(origin: str) -> None:
    data = changed(WRITEBACK, {"provenance.origin": origin})
    assert violations(OracleWritebackProposal, data) == {
        ("contract.oracle_writeback.origin_not_ai", "provenance.origin")
    }


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            {"operation": "UPDATE", "field_changes": [], "merge_refs": []},
            "proposed_change.field_changes",
        ),
        (
            {
                "operation": "DELETE",
                "field_changes": [{"field": "stage", "from_value": "A", "to_value": None}],
                "merge_refs": [],
            },
            "proposed_change.field_changes",
        ),
        (
            {"operation": "MERGE", "field_changes": [], "merge_refs": []},
            "proposed_change.merge_refs",
        ),
        (
            {
                "operation": "UPDATE",
                "field_changes": [{"field": "stage", "from_value": "A", "to_value": "B"}],
                "merge_refs": ["opportunity:x"],
            },
            "proposed_change.merge_refs",
        ),
        (
            {
                "operation": "CREATE",
                "field_changes": [{"field": "title", "from_value": "old", "to_value": "new"}],
                "merge_refs": [],
            },
            "proposed_change.field_changes.0.from_value",
        ),
        (
            {
                "operation": "UPDATE",
                "field_changes": [
                    {"field": "stage", "from_value": "A", "to_value": "B"},
                    {"field": "stage", "from_value": "B", "to_value": "C"},
                ],
                "merge_refs": [],
            },
            "proposed_change.field_changes.1.field",
        ),
    ],
)
def test_a_change_says_what_its_operation_means(change: dict[str, object], path: str) -> None:
    data = changed(WRITEBACK, {"proposed_change": change})
    assert violations(OracleWritebackProposal, data) == {
        ("contract.oracle_writeback.change_shape", path)
    }


@pytest.mark.parametrize(
    "change",
    [
        {
            "operation": "CREATE",
            "field_changes": [{"field": "title", "to_value": "Visit"}],
            "merge_refs": [],
        },
        {"operation": "DELETE", "field_changes": [], "merge_refs": []},
        {"operation": "MERGE", "field_changes": [], "merge_refs": ["opportunity:acme-dup"]},
    ],
)
def test_well_shaped_changes_of_each_operation_are_valid(change: dict[str, object]) -> None:
    assert (
        violations(OracleWritebackProposal, changed(WRITEBACK, {"proposed_change": change}))
        == set()
    )


# --- ApprovalDecision ---------------------------------------------------------------------

DECISION = example("ApprovalDecision")


def test_an_approval_may_come_without_notes() -> None:
    assert violations(ApprovalDecision, changed(DECISION, {"decision_notes": ""})) == set()


@pytest.mark.parametrize("notes", ["", "   ", "\n"])
def test_a_rejection_says_why(notes: str) -> None:
    data = changed(DECISION, {"decision": "REJECTED", "decision_notes": notes})
    assert violations(ApprovalDecision, data) == {
        ("contract.approval_decision.notes_required", "decision_notes")
    }


def test_a_rejection_with_notes_is_valid() -> None:
    data = changed(DECISION, {"decision": "REJECTED", "decision_notes": "Wrong opportunity."})
    assert violations(ApprovalDecision, data) == set()
    assert not ApprovalDecision.model_validate(data).approved


def test_decisions_are_an_enum_not_free_text() -> None:
    data = changed(DECISION, {"decision": "approved-ish"})
    assert violations(ApprovalDecision, data) == {("contract.invalid_field", "decision")}


# --- who may decide ---------------------------------------------------------------------------


def test_a_decision_is_authored_by_its_reviewer() -> None:
    data = changed(DECISION, {"created_by": "ai:oracle"})
    assert violations(ApprovalDecision, data) == {
        ("contract.approval_decision.actor_mismatch", "created_by")
    }


def test_an_ai_decision_naming_a_human_is_refused_twice_over() -> None:
    ai = {"created_by": "ai:oracle", "provenance.origin": "AI", "provenance.source_refs": ["p:1"]}
    data = changed(DECISION, ai)
    assert violations(ApprovalDecision, data) == {
        ("contract.approval_decision.actor_mismatch", "created_by"),
        ("contract.approval_decision.provenance_mismatch", "provenance.origin"),
    }


@pytest.mark.parametrize("reviewer", ["ai:oracle", "oracle", "system:cron", "human", "rule"])
def test_only_people_and_rules_decide(reviewer: str) -> None:
    data = changed(DECISION, {"created_by": reviewer, "reviewer_ref": reviewer})
    assert violations(ApprovalDecision, data) == {
        ("contract.approval_decision.reviewer_kind", "reviewer_ref")
    }


@pytest.mark.parametrize(
    ("reviewer", "origin"),
    [("human:sayan", "SYSTEM"), ("human:sayan", "AI"), ("rule:low-risk", "HUMAN")],
)
def test_provenance_says_which_kind_of_actor_decided(reviewer: str, origin: str) -> None:
    data = changed(
        DECISION, {"created_by": reviewer, "reviewer_ref": reviewer, "provenance.origin": origin}
    )
    assert ("contract.approval_decision.provenance_mismatch", "provenance.origin") in violations(
        ApprovalDecision, data
    )


def test_a_persons_decision_names_the_proposal_bytes_and_a_rules_may() -> None:
    data = changed(DECISION, {"proposal_digest": None})
    assert violations(ApprovalDecision, data) == {
        ("contract.approval_decision.proposal_digest_required", "proposal_digest")
    }
    rule = changed(
        DECISION,
        {
            "created_by": "rule:low-risk",
            "reviewer_ref": "rule:low-risk",
            "provenance.origin": "SYSTEM",
            "proposal_digest": None,
        },
    )
    assert violations(ApprovalDecision, rule) == set()


@pytest.mark.parametrize("digest", ["", "abc", "G" * 64, "A" * 64, "0" * 65])
def test_a_proposal_digest_is_a_lowercase_hex_sha256(digest: str) -> None:
    data = changed(DECISION, {"proposal_digest": digest})
    assert violations(ApprovalDecision, data) == {
        ("contract.approval_decision.proposal_digest_required", "proposal_digest")
    }
