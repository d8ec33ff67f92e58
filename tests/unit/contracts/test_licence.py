"""What an approval licenses: coverage, operation by operation."""

from __future__ import annotations

from velocity_stream.contracts import example
from velocity_stream.contracts.licence import (
    Licence,
    LicensedChange,
    delete_edge,
    delete_node,
    licence_of,
    merge,
)
from velocity_stream.contracts.writeback import ChangeOperation

MERGE = Licence((merge("person:a", ["person:b", "person:c"]),))


def test_a_merge_covers_the_same_target_and_any_of_its_refs():
    assert MERGE.uncovered([merge("person:a", ["person:c", "person:b"])]) == []
    assert MERGE.uncovered([merge("person:a", ["person:b"])]) == []


def test_a_merge_does_not_stretch_to_other_refs_or_another_target():
    more = merge("person:a", ["person:b", "person:x"])
    elsewhere = merge("person:z", ["person:b"])
    assert MERGE.uncovered([more, elsewhere]) == [more, elsewhere]


def test_a_merge_does_not_license_deleting_a_node_but_covers_the_merged_nodes_edges():
    assert MERGE.uncovered([delete_node("person:b")]) == [delete_node("person:b")]
    moved = delete_edge("person:b", "client:acme", "CONTACT_OF")
    unrelated = delete_edge("person:q", "client:acme", "CONTACT_OF")
    assert MERGE.uncovered([moved, unrelated]) == [unrelated]


def test_a_delete_covers_its_node_and_its_edges_only():
    licence = Licence((delete_node("deal:1"),))
    assert licence.uncovered([delete_node("deal:1"), delete_edge("x", "deal:1", "OF")]) == []
    assert licence.uncovered([delete_node("deal:2")]) == [delete_node("deal:2")]


def test_nothing_destructive_is_covered_by_an_empty_licence():
    assert Licence().uncovered([merge("a", ["b"])]) == [merge("a", ["b"])]
    assert Licence().uncovered([]) == []


def test_licences_round_trip_through_bytes():
    licence = Licence((merge("a", ["c", "b"]), delete_edge("x", "y", "R"), delete_node("d")))
    assert Licence.decode(licence.encode()) == licence
    assert Licence.decode(Licence().encode()) == Licence()


def test_entity_proposal_licenses_folding_its_merge_candidates():
    proposal = example("NormalizedEntityProposal")
    assert licence_of(proposal) == Licence(
        (merge(proposal.entity_ref, proposal.merge_candidate_refs),)
    )
    alone = proposal.model_copy(update={"merge_candidate_refs": ()})
    assert licence_of(alone) == Licence()


def test_writeback_proposals_license_their_merge_or_delete_only():
    proposal = example("OracleWritebackProposal")
    assert proposal.proposed_change.operation is ChangeOperation.UPDATE
    assert licence_of(proposal) == Licence()
    target = proposal.target_entity_ref
    delete = proposal.model_copy(
        update={
            "proposed_change": proposal.proposed_change.model_copy(
                update={"operation": ChangeOperation.DELETE, "field_changes": ()}
            )
        }
    )
    assert licence_of(delete) == Licence((delete_node(target),))


def test_families_without_licences_grant_nothing():
    assert licence_of(example("InteractionBundle")) == Licence()


def test_edge_deletions_are_named_by_their_ends_and_relation():
    change = delete_edge("a", "b", "R")
    assert change == LicensedChange("DELETE_EDGE", "R", ("a", "b"))
    assert str(change) == "DELETE_EDGE a -[R]-> b"
