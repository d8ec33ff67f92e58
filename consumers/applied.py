"""Applied records: the ClientGraphDelta the committer publishes for each change set it applied.

The committer is the only judge of what the canonical graph holds. For every change set it
applies (a commit record or an accepted delta) it writes, in the same transaction, one
ClientGraphDelta that states the final state of every row the change set wrote: the merges it
made, each node it created or changed with its type and its *whole* attribute set, each node
it deleted, each edge with its whole attribute set or its deletion. After the transaction
commits, the record is published through the validating producer (to the family's ingress
topic, so the gateway checks it like any delta) and reaches the accepted topic. The read model
builds its graph from these records only, so a change the committer refused never shows.

How readers tell an applied record from a requested change (a delta an importer sends, which
the committer has yet to judge): ``source_system`` is the committer (the gateway checks that
it is an allowed producer of the family), the provenance method is :data:`APPLIED_METHOD`,
and the delta id is ``applied:<change id>``, the change id being the decision id of a commit
record or the delta id of an accepted delta. The artifact id equals the delta id, so a record
published twice (a crash between the broker's acknowledgement and the outbox update) is one
event to every reader that deduplicates by artifact id.

``created_at`` is when the committer applied the change (milliseconds, strictly increasing
per committer store), so ordering applied records by ``created_at`` is the committer's own
order: the read model's last-writer-wins by time then reproduces the canonical graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from velocity_stream.contracts.graph_delta import APPLIED_PREFIX, ClientGraphDelta
from velocity_stream.contracts.metadata import validate_artifact

COMMITTER = "graph-committer"
APPLIED_METHOD = "graph-committer.applied"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Operation = dict[str, Any]  # one GraphOperation as plain data


def applied_id(change_id: str) -> str:
    """The delta id (and artifact id) of the applied record of ``change_id``."""
    return f"{APPLIED_PREFIX}{change_id}"


def is_applied(delta: ClientGraphDelta) -> bool:
    """True for a record of what the committer applied; False for a requested change."""
    return (
        delta.source_system == COMMITTER
        and delta.provenance.method == APPLIED_METHOD
        and delta.delta_id.startswith(APPLIED_PREFIX)
    )


def change_id_of(delta: ClientGraphDelta) -> str:
    """The change an applied record reports: the decision id or the original delta id."""
    return delta.delta_id.removeprefix(APPLIED_PREFIX)


def applied_delta(
    change_id: str,
    proposal_ref: str | None,
    decision_ref: str | None,
    operations: Sequence[Operation],
    applied_at_ms: int,
) -> ClientGraphDelta:
    """The applied record of one change set; ContractError when ``operations`` do not make a
    valid ClientGraphDelta (the committer then refuses the change set)."""
    refs = [change_id] + [r for r in (proposal_ref, decision_ref) if r and r != change_id]
    return validate_artifact(
        ClientGraphDelta,
        {
            "artifact_id": applied_id(change_id),
            "artifact_type": ClientGraphDelta.FAMILY,
            "schema_version": ClientGraphDelta.SCHEMA_VERSION,
            "source_system": COMMITTER,
            "created_at": _EPOCH + timedelta(milliseconds=applied_at_ms),
            "created_by": COMMITTER,
            "confidence": 1.0,
            "provenance": {
                "origin": "SYSTEM",
                "source_refs": list(dict.fromkeys(refs)),
                "method": APPLIED_METHOD,
            },
            "delta_id": applied_id(change_id),
            "operations": list(operations),
            "proposal_ref": proposal_ref,
            "decision_ref": decision_ref,
        },
    )
