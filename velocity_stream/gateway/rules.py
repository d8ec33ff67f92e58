"""The stateful rules and the final route: what the tables say about an otherwise valid input.

Every rule is driven by the catalog entry of the input's family (``immutable``, ``parent``,
``approved_only_by_commit``, ``route``), never by its name. Rules run in this order:
approved-only-by-commit, parent, immutability/tracking, then the family's route.

Redelivery: each state record remembers the coordinates (topic, partition, offset) of the
input that created it. When the same coordinates come again, the input is being redelivered
after a crash, and the gateway repeats the outputs of the first run instead of calling it a
duplicate: a crash between writing state and producing outputs loses nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from velocity_stream.contracts.catalog import ApprovedOnlyByCommit, Route
from velocity_stream.contracts.metadata import Artifact, validate_artifact
from velocity_stream.contracts.upgrades import upgrade
from velocity_stream.errors import ContractError, ReasonCode
from velocity_stream.gateway.holding import Holding
from velocity_stream.gateway.messages import Outcome
from velocity_stream.gateway.outputs import OutputBuilder, dead_letter_outcome, with_released
from velocity_stream.gateway.routes import TopicPlan
from velocity_stream.gateway.state import (
    GatewayState,
    KnownArtifact,
    artifact_key,
    held_for_parent,
)
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.protocol.routes import RouteKind
from velocity_stream.serde.avro import AvroSerde

# Envelope fields a producer regenerates when it re-sends the same content; two records that
# differ only in these are the same content (an idempotent duplicate, not a mutation).
_PER_EMISSION_FIELDS = frozenset({"artifact_id", "created_at"})


def content_digest(record: Mapping[str, Any]) -> bytes:
    """SHA-256 of the decoded record minus artifact_id and created_at, canonically encoded.

    Computed on the reader-schema record, so the same content written with two minor
    versions of a schema still compares equal; every other field counts, including
    ``content_sha256`` of the uploaded file and ``created_by``.
    """
    content = {k: v for k, v in record.items() if k not in _PER_EMISSION_FIELDS}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).digest()


class Checked:
    """An input that decoded, met its contract and passed ownership.

    ``record`` (the plain reader-schema record) is decoded on first use only: the contract
    model came straight from the bytes, and most routes never need the dict.
    """

    __slots__ = ("_decode", "_record", "artifact", "key", "message", "plan")

    def __init__(
        self,
        message: InboundMessage,
        plan: TopicPlan,
        artifact: Artifact,
        key: str,
        decode: Callable[[InboundMessage, TopicPlan], dict[str, Any]],
    ) -> None:
        self.message = message
        self.plan = plan
        self.artifact = artifact
        self.key = key
        self._decode = decode
        self._record: dict[str, Any] | None = None

    @property
    def record(self) -> dict[str, Any]:
        if self._record is None:
            self._record = self._decode(self.message, self.plan)
        return self._record

    @property
    def artifact_id(self) -> str:
        return self.artifact.artifact_id

    def field(self, name: str) -> Any:
        return getattr(self.artifact, name)


class ApprovalRoutes(Protocol):
    """The proposal and decision routes (velocity_stream.gateway.approvals)."""

    def proposal(self, checked: Checked, state: GatewayState) -> Outcome: ...

    def decision(self, checked: Checked, state: GatewayState) -> Outcome: ...


class StatefulRules:
    """Applies the catalog's stateful rules to a checked input and routes it."""

    def __init__(
        self, out: OutputBuilder, holding: Holding, approvals: ApprovalRoutes, serde: AvroSerde
    ) -> None:
        self.out = out
        self.holding = holding
        self.approvals = approvals
        self.serde = serde

    def route(self, c: Checked, state: GatewayState) -> Outcome:
        family = c.plan.family
        only_by_commit = family.approved_only_by_commit
        if only_by_commit is not None and c.field(only_by_commit.when_field):
            return self._used_by_commit(c, only_by_commit)
        if c.plan.parent is not None:
            refused = self._check_parent(c, state)
            if refused is not None:
                return refused
        if c.plan.tracked:
            return self._tracked(c, state)
        return self._dispatch(c, state)

    def _used_by_commit(self, c: Checked, rule: ApprovedOnlyByCommit) -> Outcome:
        """Refuse a record whose change only an approved proposal may make.

        An approval is used exactly once, by the commit record the gateway writes with it
        (the committer applies that as change ``<decision id>``); committers publish what they
        applied on their own topic, never through here. So whatever decision such a record
        names, it would apply an approved change a second time or ride on an approval given
        for something else: no state is consulted, nothing is held.
        """
        named = c.field(rule.decision_field)
        cited = f"decision {named!r}" if named else "no decision"
        return self._dead(
            c,
            ReasonCode.STATE_GRAPH_LICENCE_USED,
            f"{rule.when_field} is true and it names {cited}: such a change is applied only "
            "by the commit record of an approved proposal, which uses the approval once; "
            "send the change as a proposal",
            rule.decision_field,
        )

    def _dispatch(self, c: Checked, state: GatewayState) -> Outcome:
        route = c.plan.family.route
        if route is Route.PROPOSAL:
            return self.approvals.proposal(c, state)
        if route is Route.DECISION:
            return self.approvals.decision(c, state)
        return self.accept(c)

    def accept(self, c: Checked) -> Outcome:
        plan = c.plan
        message = c.message
        artifact_id = c.artifact.artifact_id
        accepted = self.out.forward(
            message, plan.accepted_topic, RouteKind.ACCEPTED, artifact_id, plan.family.name
        )
        if plan.bridge_major is None or not plan.bridge_model or not plan.bridge_topic:
            return Outcome(RouteKind.ACCEPTED, (accepted,), None, message, artifact_id)
        # Major-version bridge: readers of the new major see the old topic's records too.
        # A record valid in its own major that the mapping cannot carry over is refused
        # whole, so the two accepted topics never disagree about it.
        try:
            upgraded = validate_artifact(
                plan.bridge_model,
                upgrade(plan.family.name, c.record, plan.major, plan.bridge_major),
            )
        except ContractError as error:
            first = error.violations[0] if error.violations else None
            return self._dead(
                c,
                first.code if first else ReasonCode.CONTRACT_INVALID_FIELD,
                f"cannot be upgraded to major {plan.bridge_major}: {error}",
                first.path if first else "",
            )
        bridged = self.out.forward(
            message,
            plan.bridge_topic,
            RouteKind.ACCEPTED,
            artifact_id,
            plan.family.name,
            value=self.serde.encode(upgraded),
        )
        return Outcome(RouteKind.ACCEPTED, (accepted, bridged), None, message, artifact_id)

    def _check_parent(self, c: Checked, state: GatewayState) -> Outcome | None:
        ref = c.plan.family.parent
        assert ref is not None
        parent_key = str(c.field(ref.ref_field))
        known = state.known_artifact(artifact_key(ref.family, parent_key))
        if known is None:
            return self.holding.hold(
                c.message,
                state,
                held_for_parent(ref.family, parent_key),
                parent_key,
                ReasonCode.STATE_ROW_UNKNOWN_BATCH,
                c.artifact_id,
            )
        if ref.index_field and known.count is not None:
            index = c.field(ref.index_field)
            if index > known.count:
                return self._dead(
                    c,
                    ReasonCode.STATE_ROW_OUT_OF_RANGE,
                    f"{ref.index_field} {index} is beyond {ref.family} {parent_key!r}'s "
                    f"{ref.count_field} of {known.count}",
                    ref.index_field,
                )
        return None

    def _tracked(self, c: Checked, state: GatewayState) -> Outcome:
        """Immutable families and parents: remember the record, release children waiting."""
        family = c.plan.family
        key = artifact_key(family.name, c.key)
        waiting = held_for_parent(family.name, c.key)
        digest = content_digest(c.record)
        known = state.known_artifact(key)
        if known is not None:
            if known.origin == c.message.coordinates:
                return with_released(
                    self._dispatch(c, state), self.holding.rerelease(state, waiting)
                )
            if family.immutable:
                if known.digest == digest:
                    return Outcome(
                        RouteKind.DUPLICATE,
                        (),
                        None,
                        c.message,
                        c.artifact_id,
                        f"{family.name} {c.key!r} was already accepted with this content",
                    )
                topic, partition, offset = known.origin
                return self._dead(
                    c,
                    ReasonCode.STATE_BATCH_MUTATED,
                    f"{family.name} {c.key!r} is immutable and was first accepted with other "
                    f"content ({topic}/{partition}@{offset})",
                )
        outcome = self._dispatch(c, state)
        if outcome.is_dead_letter:
            return outcome
        count_field = c.plan.count_field
        count = int(c.field(count_field)) if count_field else None
        state.remember_artifact(key, KnownArtifact(digest, count, c.message.coordinates))
        return with_released(outcome, self.holding.release(state, waiting))

    def _dead(self, c: Checked, reason: ReasonCode, text: str, field: str = "") -> Outcome:
        return dead_letter_outcome(self.out, c.message, reason, text, field, c.artifact_id)
