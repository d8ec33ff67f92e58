"""Builders of valid source artifacts and commit records for the consumer tests.

Each builder starts from the contracts' example of its family and changes only what the test
is about, so every artifact is valid under the current contracts. Times are minutes after the
examples' T0, so tests can make ties on purpose.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from velocity_stream.contracts import example, validate_artifact
from velocity_stream.contracts.example_intake import T0
from velocity_stream.contracts.graph_delta import ClientGraphDelta
from velocity_stream.contracts.interaction import InteractionBundle
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.contracts.qd_signal import QdSignalBundle
from velocity_stream.gateway.commits import CommitRecord


def _build(family: str, changes: dict[str, Any]) -> Artifact:
    base = example(family).model_dump(mode="python")
    base.update(changes)
    return validate_artifact(type(example(family)), base)


def at(minute: int) -> Any:
    return T0 + timedelta(minutes=minute)


def interaction(
    client: str, n: int, minute: int = 0, channel: str = "CALL", summary: str | None = None
) -> InteractionBundle:
    made = _build(
        "InteractionBundle",
        {
            "artifact_id": f"art:ib:{client}:{n}",
            "created_at": at(minute),
            "bundle_id": f"bundle:{client}:{n}",
            "client_ref": client,
            "channel": channel,
            "summary": summary if summary is not None else f"interaction {n} with {client}",
        },
    )
    assert isinstance(made, InteractionBundle)
    return made


def signal(
    client: str,
    n: int,
    minute: int = 0,
    score_type: str = "purchase_intent",
    value: float = 0.5,
    evidence: bool = True,
) -> QdSignalBundle:
    made = _build(
        "QdSignalBundle",
        {
            "artifact_id": f"art:qd:{client}:{n}",
            "created_at": at(minute),
            "signal_id": f"signal:{client}:{n}",
            "client_ref": client,
            "score_type": score_type,
            "value": value,
            "time_window": {"start": at(minute - 60), "end": at(minute)},
            "supporting_evidence_refs": (f"evidence:{client}:{n}",) if evidence else (),
        },
    )
    assert isinstance(made, QdSignalBundle)
    return made


def upsert_node(ref: str, node_type: str, **attributes: str) -> dict[str, Any]:
    return {"op": "UPSERT_NODE", "node_ref": ref, "node_type": node_type, "attributes": attributes}


def delete_node(ref: str) -> dict[str, Any]:
    return {"op": "DELETE_NODE", "node_ref": ref}


def merge_nodes(into: str, *merged: str) -> dict[str, Any]:
    return {"op": "MERGE_NODES", "node_ref": into, "merged_refs": merged}


def upsert_edge(from_ref: str, to_ref: str, relation: str, **attributes: str) -> dict[str, Any]:
    edge = {"from_ref": from_ref, "to_ref": to_ref, "relation": relation}
    return {"op": "UPSERT_EDGE", "edge": edge, "attributes": attributes}


def delete_edge(from_ref: str, to_ref: str, relation: str) -> dict[str, Any]:
    return {
        "op": "DELETE_EDGE",
        "edge": {"from_ref": from_ref, "to_ref": to_ref, "relation": relation},
    }


def delta(
    name: str,
    *operations: dict[str, Any],
    minute: int = 0,
    decision_ref: str | None = None,
    proposal_ref: str | None = None,
    source_system: str = "import-normalizer",
) -> ClientGraphDelta:
    destructive = any(o["op"] in ("MERGE_NODES", "DELETE_NODE", "DELETE_EDGE") for o in operations)
    made = _build(
        "ClientGraphDelta",
        {
            "artifact_id": f"art:delta:{name}",
            "source_system": source_system,
            "created_at": at(minute),
            "delta_id": f"delta:{name}",
            "operations": operations,
            "proposal_ref": proposal_ref,
            "decision_ref": decision_ref or (f"decision:for:{name}" if destructive else None),
        },
    )
    assert isinstance(made, ClientGraphDelta)
    return made


def entity_proposal(
    name: str, ref: str, entity_type: str = "PERSON", merge: tuple[str, ...] = (), **payload: str
) -> Artifact:
    return _build(
        "NormalizedEntityProposal",
        {
            "artifact_id": f"art:nep:{name}",
            "proposal_id": f"proposal:{name}",
            "entity_type": entity_type,
            "entity_ref": ref,
            "canonical_payload": payload,
            "merge_candidate_refs": merge,
            "review_required": True,
        },
    )


def writeback(
    name: str,
    target: str,
    operation: str = "UPDATE",
    domain: str = "OPPORTUNITY",
    merge: tuple[str, ...] = (),
    **changes: str | tuple[str | None, str | None],
) -> Artifact:
    field_changes = []
    for field, change in sorted(changes.items()):
        before, after = change if isinstance(change, tuple) else (None, change)
        field_changes.append({"field": field, "from_value": before, "to_value": after})
    return _build(
        "OracleWritebackProposal",
        {
            "artifact_id": f"art:owp:{name}",
            "proposal_id": f"proposal:{name}",
            "target_domain": domain,
            "target_entity_ref": target,
            "proposed_change": {
                "operation": operation,
                "field_changes": field_changes,
                "merge_refs": merge,
            },
        },
    )


def commit(
    proposal: Artifact, proposal_bytes: bytes, topic: str, decision: str, minute: int = 0
) -> CommitRecord:
    """The commit record the gateway would write for ``proposal`` (encoded as given)."""
    return CommitRecord(
        proposal_family=proposal.FAMILY,
        proposal_id=str(getattr(proposal, "proposal_id")),  # noqa: B009
        proposal_topic=topic,
        proposal=proposal_bytes,
        decision_id=decision,
        reviewer="human:sayan",
        decided_at_ms=int(at(minute).timestamp() * 1000),
    )
