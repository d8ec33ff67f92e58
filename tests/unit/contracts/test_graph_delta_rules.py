"""ClientGraphDelta: each operation's shape, and the approval ref on merges and deletes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.contracts.conftest import changed, violations
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.graph_delta import ClientGraphDelta

DELTA = example("ClientGraphDelta")
EDGE = {"from_ref": "person:a", "to_ref": "client:b", "relation": "CONTACT_OF"}


def op(kind: str, **fields: Any) -> dict[str, Any]:
    return {"op": kind, **fields}


def with_ops(*operations: dict[str, Any], decision_ref: str | None = None) -> dict[str, Any]:
    return changed(DELTA, {"operations": list(operations), "decision_ref": decision_ref})


WELL_SHAPED = [
    op("UPSERT_NODE", node_ref="person:a", node_type="PERSON", attributes={"name": "A"}),
    op("UPSERT_EDGE", edge=EDGE, attributes={"since": "2026"}),
    op("MERGE_NODES", node_ref="person:a", merged_refs=["person:a2", "person:a3"]),
    op("DELETE_NODE", node_ref="person:a"),
    op("DELETE_EDGE", edge=EDGE),
]


@pytest.mark.parametrize("operation", WELL_SHAPED, ids=lambda o: o["op"])
def test_each_well_shaped_operation_is_valid(operation: dict[str, Any]) -> None:
    assert violations(ClientGraphDelta, with_ops(operation, decision_ref="decision:9")) == set()


@pytest.mark.parametrize(
    ("operation", "field"),
    [
        (op("UPSERT_NODE", node_type="PERSON"), "node_ref"),
        (op("UPSERT_NODE", node_ref="person:a"), "node_type"),
        (op("UPSERT_NODE", node_ref="person:a", node_type="PERSON", edge=EDGE), "edge"),
        (op("UPSERT_NODE", node_ref="p", node_type="PERSON", merged_refs=["q"]), "merged_refs"),
        (op("UPSERT_EDGE"), "edge"),
        (op("UPSERT_EDGE", edge=EDGE, node_ref="person:a"), "node_ref"),
        (op("UPSERT_EDGE", edge=EDGE, node_type="PERSON"), "node_type"),
        (op("MERGE_NODES", merged_refs=["person:b"]), "node_ref"),
        (op("MERGE_NODES", node_ref="person:a"), "merged_refs"),
        (op("MERGE_NODES", node_ref="person:a", merged_refs=["person:a"]), "merged_refs"),
        (
            op("MERGE_NODES", node_ref="person:a", merged_refs=["person:b", "person:b"]),
            "merged_refs",
        ),
        (op("DELETE_NODE"), "node_ref"),
        (op("DELETE_NODE", node_ref="person:a", attributes={"x": "1"}), "attributes"),
        (op("DELETE_EDGE"), "edge"),
        (op("DELETE_EDGE", edge=EDGE, attributes={"x": "1"}), "attributes"),
    ],
)
def test_an_ill_shaped_operation_is_refused_at_its_field(
    operation: dict[str, Any], field: str
) -> None:
    data = with_ops(WELL_SHAPED[0], operation, decision_ref="decision:9")
    assert violations(ClientGraphDelta, data) == {
        ("contract.graph_delta.operation_shape", f"operations.1.{field}")
    }


@pytest.mark.parametrize("operation", WELL_SHAPED[2:], ids=lambda o: o["op"])
def test_merges_and_deletes_carry_a_decision_ref(operation: dict[str, Any]) -> None:
    data = with_ops(WELL_SHAPED[0], operation)
    assert violations(ClientGraphDelta, data) == {
        ("contract.graph_delta.approval_required", "decision_ref")
    }
    assert ClientGraphDelta.model_validate(with_ops(operation, decision_ref="d:1")).needs_approval


def test_upserts_need_no_decision() -> None:
    delta = ClientGraphDelta.model_validate(with_ops(*WELL_SHAPED[:2]))
    assert not delta.needs_approval
    assert delta.decision_ref is None


def test_an_empty_delta_is_refused() -> None:
    assert violations(ClientGraphDelta, with_ops()) == {("contract.invalid_field", "operations")}


def test_every_broken_operation_is_reported_not_just_the_first() -> None:
    data = with_ops(op("DELETE_NODE"), op("UPSERT_EDGE"))
    assert violations(ClientGraphDelta, data) == {
        ("contract.graph_delta.operation_shape", "operations.0.node_ref"),
        ("contract.graph_delta.operation_shape", "operations.1.edge"),
        ("contract.graph_delta.approval_required", "decision_ref"),
    }
