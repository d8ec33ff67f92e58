"""Pure: one consumed record -> the governance rows it asks for (no Kafka client, no database).

Four sources, each trusted for what only its writer can put there (docs/stores.md, "What the
governance store trusts"):

- the approvals topic (written only by the gateway, which drops producers' copies of its
  headers): a proposal, PENDING or AUTO_APPROVED by the rule its header names;
- the decision family's *accepted* topics (written only by the gateway, after the contract,
  signature and reviewer checks; never the ingress topic, which nothing has checked yet): a
  decision, and the APPROVED or REJECTED state it gives its proposal;
- the applied topic (the committer's internal family, read with its contract and producer
  check): COMMITTED, for a change that came from a proposal (an importer's delta has none);
- the dead-letter topic, only for the dead letters whose *last* reason block (the one the
  writer appended; a producer's forged block sits before it) names the commits topic as its
  source, which only the committer reads: REFUSED with the reason code. The proposal comes
  from the commit record in the dead letter, read with its contract. Any other dead letter is
  not ours and is ignored.

The mapper never derives a proposal's current state: it names states with their causes and
times, and the store derives the current one from all of them (``current_state``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from consumers.governance.states import ProposalState
from consumers.reading import ArtifactReader, UnreadableRecord
from consumers.sink.topics import accepted_topics
from velocity_stream.contracts.applied_graph_change import AppliedGraphChange
from velocity_stream.contracts.approval import RULE_PREFIX, ApprovalDecision
from velocity_stream.contracts.catalog import Catalog, Route
from velocity_stream.contracts.entity_proposal import NormalizedEntityProposal
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.contracts.writeback import OracleWritebackProposal
from velocity_stream.errors import ReasonCode
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.records import Headers, InboundMessage

NAME = "governance"
APPLIED_FAMILY = AppliedGraphChange.FAMILY
COMMIT_APPLIED = "APPLIED"
COMMIT_REFUSED = "REFUSED"

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class GovWrites:
    """The rows one record asks for, by table (``tables.py``)."""

    proposals: list[Row] = field(default_factory=list)
    states: list[Row] = field(default_factory=list)
    decisions: list[Row] = field(default_factory=list)
    commits: list[Row] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.proposals or self.states or self.decisions or self.commits)


NOTHING = GovWrites()


def to_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _canonical(artifact: Artifact) -> str:
    return json.dumps(
        artifact.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def _position(message: InboundMessage) -> Row:
    return {"topic": message.topic, "partition": message.partition, "offset": message.offset}


def last_block(headers: Headers, first: str) -> dict[str, bytes]:
    """The headers from the last ``first`` on: the block the topic's writer appended (earlier
    copies of the same names came with the input and are a producer's, not the writer's)."""
    for index in range(len(headers) - 1, -1, -1):
        if headers[index][0] == first:
            return dict(headers[index:])
    return {}


def _int(value: bytes | None) -> int | None:
    try:
        return int(value.decode("ascii")) if value is not None else None
    except (UnicodeDecodeError, ValueError):
        return None


class Routes:
    """The topics the governance store reads, for one catalog and topic prefix."""

    def __init__(self, catalog: Catalog, topic_prefix: str) -> None:
        self.approvals_topic = catalog.approvals_topic(topic_prefix)
        self.dead_letter_topic = catalog.dead_letter_topic(topic_prefix)
        self.commits_topic = catalog.commits_topic(topic_prefix)
        self.proposal_topics = {
            topic: target
            for topic, target in catalog.ingress_topics(topic_prefix).items()
            if target[0].route is Route.PROPOSAL
        }
        decisions = [family.name for family in catalog if family.route is Route.DECISION]
        self.decision_topics = accepted_topics(catalog, topic_prefix, decisions)
        self.applied_topics = accepted_topics(catalog, topic_prefix, [APPLIED_FAMILY])

    def topics(self) -> list[str]:
        return sorted(
            {
                self.approvals_topic,
                self.dead_letter_topic,
                *self.decision_topics,
                *self.applied_topics,
            }
        )


class GovernanceRows:
    """Records of the governance sources -> :class:`GovWrites` (``sink.GovernanceMapper``
    hands them to the store's apply hook as the framework's upserts, one per row)."""

    name = NAME

    def __init__(self) -> None:
        self._routes: dict[tuple[int, str], Routes] = {}

    def routes(self, catalog: Catalog, topic_prefix: str) -> Routes:
        key = (id(catalog), topic_prefix)
        if key not in self._routes:
            self._routes[key] = Routes(catalog, topic_prefix)
        return self._routes[key]

    def topics(self, catalog: Catalog, topic_prefix: str) -> list[str]:
        return self.routes(catalog, topic_prefix).topics()

    def rows(self, message: InboundMessage, reader: ArtifactReader) -> GovWrites:
        """The rows ``message`` asks for; UnreadableRecord for a record of ours that breaks
        its contract; NOTHING for a record that is not about a proposal."""
        routes = self.routes(reader.catalog, reader.prefix)
        topic = message.topic
        if topic == routes.approvals_topic:
            return self._proposal(routes, message, reader)
        if topic in routes.decision_topics:
            family, major = routes.decision_topics[topic]
            decision = reader.read(message.value, family, major)
            assert isinstance(decision, ApprovalDecision)
            return self._decision(message, decision)
        if topic in routes.applied_topics:
            family, major = routes.applied_topics[topic]
            applied = reader.read_internal(message.key, message.value, family, major)
            assert isinstance(applied, AppliedGraphChange)
            return self._applied(message, applied)
        if topic == routes.dead_letter_topic:
            return self._dead_letter(routes, message, reader)
        return NOTHING

    # --- proposals --------------------------------------------------------------------------

    def _proposal(
        self, routes: Routes, message: InboundMessage, reader: ArtifactReader
    ) -> GovWrites:
        # The gateway names the ingress topic the proposal came from and forwards its bytes
        # unchanged: that topic says which family and major wrote them.
        found = message.header_text()
        target = routes.proposal_topics.get(found.get(h.SOURCE_TOPIC, ""))
        if target is None:
            raise UnreadableRecord(
                ReasonCode.DECODE_UNKNOWN_TOPIC,
                f"an approvals record whose source topic {found.get(h.SOURCE_TOPIC)!r} is not "
                "the ingress topic of a proposal family",
                h.SOURCE_TOPIC,
            )
        family, major = target
        proposal = reader.read(message.value, family, major)
        proposal_id = str(getattr(proposal, family.key_field))
        if message.key != proposal_id.encode("utf-8"):
            raise UnreadableRecord(
                ReasonCode.CONTRACT_KEY_MISMATCH,
                f"the approvals record's key is not its proposal id {proposal_id!r}",
                family.key_field,
            )
        at_ms = message.timestamp_ms or to_ms(proposal.created_at)
        rule = found.get(h.APPROVAL_RULE)
        state: Row
        if found.get(h.APPROVAL_STATE) == h.APPROVAL_STATE_AUTO_APPROVED.decode() and rule:
            state = {
                "state": ProposalState.AUTO_APPROVED.value,
                "cause_ref": f"{RULE_PREFIX}{rule}",
                "reason": rule,
            }
        else:
            state = {
                "state": ProposalState.PENDING.value,
                "cause_ref": proposal.artifact_id,
                "reason": None,
            }
        return GovWrites(
            proposals=[proposal_row(message, proposal, at_ms)],
            states=[{"proposal_id": proposal_id, "at_ms": at_ms, **state}],
        )

    # --- decisions --------------------------------------------------------------------------

    def _decision(self, message: InboundMessage, decision: ApprovalDecision) -> GovWrites:
        at_ms = to_ms(decision.decided_at)
        reviewer = decision.reviewer_ref
        return GovWrites(
            decisions=[
                {
                    "decision_id": decision.decision_id,
                    "proposal_id": decision.proposal_ref,
                    "proposal_family": decision.proposal_family,
                    "artifact_id": decision.artifact_id,
                    "reviewer": reviewer,
                    "rule": reviewer[len(RULE_PREFIX) :] if decision.by_rule else None,
                    "outcome": decision.decision.value,
                    "notes": decision.decision_notes,
                    "decided_at_ms": at_ms,
                    **_position(message),
                }
            ],
            states=[
                {
                    "proposal_id": decision.proposal_ref,
                    "state": decision.decision.value,  # APPROVED | REJECTED
                    "cause_ref": decision.decision_id,
                    "at_ms": at_ms,
                    "reason": reviewer,
                }
            ],
        )

    # --- what the committer did -------------------------------------------------------------

    def _applied(self, message: InboundMessage, applied: AppliedGraphChange) -> GovWrites:
        if applied.proposal_ref is None:  # an importer's delta: no proposal behind it
            return NOTHING
        at_ms = to_ms(applied.created_at)
        return GovWrites(
            commits=[
                {
                    "change_id": applied.change_id,
                    "proposal_id": applied.proposal_ref,
                    "decision_id": applied.decision_ref,
                    "outcome": COMMIT_APPLIED,
                    "reason": None,
                    "at_ms": at_ms,
                    **_position(message),
                }
            ],
            states=[
                {
                    "proposal_id": applied.proposal_ref,
                    "state": ProposalState.COMMITTED.value,
                    "cause_ref": applied.change_id,
                    "at_ms": at_ms,
                    "reason": None,
                }
            ],
        )

    def _dead_letter(
        self, routes: Routes, message: InboundMessage, reader: ArtifactReader
    ) -> GovWrites:
        block = last_block(message.headers, h.DLQ_REASON)
        if block.get(h.DLQ_SOURCE_TOPIC) != routes.commits_topic.encode("utf-8"):
            return NOTHING  # the gateway's, or another worker's: not about a commit
        reason = block[h.DLQ_REASON].decode("utf-8", "replace")
        partition = _int(block.get(h.DLQ_SOURCE_PARTITION))
        offset = _int(block.get(h.DLQ_SOURCE_OFFSET))
        at_ms = _int(block.get(h.DLQ_TIME)) or message.timestamp_ms
        try:
            record, _proposal = reader.read_commit(message.key, message.value)
        except UnreadableRecord as error:
            # A refused commit record that breaks its contract names no proposal we can trust.
            raise UnreadableRecord(
                error.code, f"a committer dead letter's commit record: {error}", error.field
            ) from None
        # The refused commit's own coordinates: the same on every copy the committer may
        # write of one refusal (a crash before its offsets were stored).
        cause = f"{routes.commits_topic}:{partition}:{offset}"
        return GovWrites(
            commits=[
                {
                    "change_id": record.decision_id,  # the change id the committer would use
                    "proposal_id": record.proposal_id,
                    "decision_id": record.decision_id,
                    "outcome": COMMIT_REFUSED,
                    "reason": reason,
                    "at_ms": at_ms,
                    **_position(message),
                }
            ],
            states=[
                {
                    "proposal_id": record.proposal_id,
                    "state": ProposalState.REFUSED.value,
                    "cause_ref": cause,
                    "at_ms": at_ms,
                    "reason": reason,
                }
            ],
        )


def proposal_row(message: InboundMessage, proposal: Artifact, at_ms: int) -> Row:
    """A proposal's row; its state is PENDING until the store derives it from its states."""
    if isinstance(proposal, NormalizedEntityProposal):
        operation = "MERGE" if proposal.merge_candidate_refs else "CREATE"
        target_ref, target_type = proposal.entity_ref, proposal.entity_type.value
        batch_id: str | None = proposal.batch_id
        evidence: Sequence[str] = proposal.provenance.source_refs
        proposal_id = proposal.proposal_id
    elif isinstance(proposal, OracleWritebackProposal):
        operation = proposal.proposed_change.operation.value
        target_ref, target_type = proposal.target_entity_ref, proposal.target_domain.value
        batch_id = None
        evidence = (*proposal.evidence_refs, *proposal.provenance.source_refs)
        proposal_id = proposal.proposal_id
    else:  # a proposal family this store does not know: kept with what every proposal has
        operation, target_ref, target_type, batch_id = "CREATE", "", proposal.FAMILY, None
        evidence = proposal.provenance.source_refs
        proposal_id = str(getattr(proposal, "proposal_id", proposal.artifact_id))
    return {
        "proposal_id": proposal_id,
        "family": proposal.FAMILY,
        "artifact_id": proposal.artifact_id,
        "proposer": proposal.source_system,
        "operation": operation,
        "target_ref": target_ref,
        "target_type": target_type,
        "batch_id": batch_id,
        "confidence": proposal.confidence,
        "created_at_ms": to_ms(proposal.created_at),
        "evidence_refs": json.dumps(list(dict.fromkeys(evidence))),
        "body": _canonical(proposal),
        "state": ProposalState.PENDING.value,
        "state_at_ms": at_ms,
        **_position(message),
    }
