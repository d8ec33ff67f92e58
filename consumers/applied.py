"""Applied records: the AppliedGraphChange the committer publishes for each change set it applied.

The committer is the only judge of what the canonical graph holds. For every change set it
applies (a commit record or an accepted delta) it writes, in the same transaction, one
AppliedGraphChange that states the final state of every row the change set wrote: the merges
it made, each node it created or changed with its type and its *whole* attribute set, each
node it deleted, each edge with its whole attribute set or its deletion. After the
transaction commits, the record is published through the validating producer to the family's
own topic (an internal family: the committer writes it, the read models read it, the gateway
never sees it). The read model builds its graph from these records only, so a change the
committer refused never shows, and nothing another producer writes can pass for one.

``change_id`` is the decision id of a commit record or the delta id of an accepted delta; the
artifact id is ``applied:<change id>``, so a record published twice (a crash between the
broker's acknowledgement and the outbox update) is one event to every reader that
deduplicates by artifact id.

``created_at`` is when the committer applied the change (milliseconds, strictly increasing
per committer store), so ordering applied records by ``created_at`` is the committer's own
order: the read model's last-writer-wins by time then reproduces the canonical graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from velocity_stream.contracts.applied_graph_change import AppliedGraphChange, applied_id
from velocity_stream.contracts.metadata import validate_artifact

COMMITTER = "graph-committer"
APPLIED_METHOD = "graph-committer.applied"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Operation = dict[str, Any]  # one GraphOperation as plain data

__all__ = ["APPLIED_METHOD", "COMMITTER", "applied_change", "applied_id"]


def applied_change(
    change_id: str,
    proposal_ref: str | None,
    decision_ref: str | None,
    operations: Sequence[Operation],
    applied_at_ms: int,
) -> AppliedGraphChange:
    """The applied record of one change set; ContractError when ``operations`` do not make a
    valid AppliedGraphChange (the committer then refuses the change set)."""
    refs = [change_id] + [r for r in (proposal_ref, decision_ref) if r and r != change_id]
    return validate_artifact(
        AppliedGraphChange,
        {
            "artifact_id": applied_id(change_id),
            "artifact_type": AppliedGraphChange.FAMILY,
            "schema_version": AppliedGraphChange.SCHEMA_VERSION,
            "source_system": COMMITTER,
            "created_at": _EPOCH + timedelta(milliseconds=applied_at_ms),
            "created_by": COMMITTER,
            "confidence": 1.0,
            "provenance": {
                "origin": "SYSTEM",
                "source_refs": list(dict.fromkeys(refs)),
                "method": APPLIED_METHOD,
            },
            "change_id": change_id,
            "operations": list(operations),
            "proposal_ref": proposal_ref,
            "decision_ref": decision_ref,
        },
    )
