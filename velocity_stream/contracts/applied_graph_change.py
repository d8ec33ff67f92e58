"""AppliedGraphChange: what the graph committer applied for one change set (an internal
family: the committer writes it on its own topic, the read models read it from there; it
never goes through the gateway).

It states the final state of every row the change set wrote: the merges made, each node
created or changed with its type and its *whole* attribute set, each node deleted, each edge
with its whole attribute set or its deletion. ``change_id`` is the change applied (the
decision id of a commit record, or the delta id of an accepted ClientGraphDelta) and the
artifact id is ``applied:<change_id>``, so a record published twice (a crash between the
broker's acknowledgement and the outbox update) is one event to every reader that
deduplicates by artifact id.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from velocity_stream.contracts.graph_delta import GraphOperation
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.errors import ReasonCode, Violation

APPLIED_PREFIX = "applied:"


def applied_id(change_id: str) -> str:
    """The artifact id of the applied record of ``change_id``."""
    return f"{APPLIED_PREFIX}{change_id}"


class AppliedGraphChange(Artifact):
    """One applied change set, as the rows it wrote, in the order it wrote them."""

    FAMILY = "AppliedGraphChange"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "AppliedGraphChange"
    schema_version: str = "1.0.0"
    change_id: str = Field(min_length=1)
    operations: tuple[GraphOperation, ...] = Field(min_length=1)
    proposal_ref: str | None = None
    decision_ref: str | None = None

    def rules(self) -> Iterator[Violation]:
        if self.artifact_id != applied_id(self.change_id):
            yield Violation(
                ReasonCode.CONTRACT_APPLIED_ID_MISMATCH,
                "artifact_id",
                f"is {self.artifact_id!r}; an applied record's id is "
                f"{applied_id(self.change_id)!r} (one per applied change)",
            )
        for index, operation in enumerate(self.operations):
            for field, problem in operation.shape_problems():
                yield Violation(
                    ReasonCode.CONTRACT_GRAPH_OPERATION_SHAPE,
                    f"operations.{index}.{field}",
                    problem,
                )
