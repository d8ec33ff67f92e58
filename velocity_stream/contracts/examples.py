"""One valid, realistic example artifact per family (and per major), always the same.

They tell one story: a founder uploads a HubSpot export, the importer and resolver turn it
into rows, a manifest and entity proposals (see :mod:`~velocity_stream.contracts.example_intake`),
a call with the client is transcribed and scored, Oracle proposes a change, a reviewer
approves it, and the client 360 snapshot is rebuilt. The CLI prints them, tests start from
them, and the docs quote them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from velocity_stream.contracts.approval import ApprovalDecision, DecisionOutcome
from velocity_stream.contracts.client360 import (
    AccountLink,
    ActiveOpportunity,
    Client360Snapshot,
    ClientIdentity,
    ClientTask,
    PropertyInterest,
    QdScore,
    RecentInteraction,
    RiskFlag,
    RiskSeverity,
)
from velocity_stream.contracts.commit_record import CommitRecord, commit_id
from velocity_stream.contracts.example_intake import (
    CLIENT,
    T0,
    applied_graph_change,
    at,
    client_graph_delta,
    import_mapping_manifest,
    import_mapping_manifest_v1,
    import_row_record,
    normalized_entity_proposal,
    raw_import_batch,
)
from velocity_stream.contracts.interaction import Attachment, InteractionBundle, InteractionChannel
from velocity_stream.contracts.metadata import Artifact, Provenance, ProvenanceOrigin
from velocity_stream.contracts.qd_signal import OperatorInput, QdSignalBundle, TimeWindow
from velocity_stream.contracts.registry import family_name, model_for
from velocity_stream.contracts.replay_audit import (
    DlqReplayAudit,
    RecordCoordinates,
    replay_audit_id,
)
from velocity_stream.contracts.transcript import SpeakerSegment, TranscriptBundle
from velocity_stream.contracts.writeback import (
    ChangeOperation,
    FieldChange,
    OracleWritebackProposal,
    ProposedChange,
    WritebackDomain,
)
from velocity_stream.errors import ConfigError


def interaction_bundle() -> InteractionBundle:
    return InteractionBundle(
        artifact_id="art:interaction-bundle:01",
        source_system="interaction-hub",
        created_at=at(60),
        created_by="system:interaction-hub",
        confidence=0.9,
        provenance=Provenance(
            origin=ProvenanceOrigin.AI,
            source_refs=("event:call:7781", "event:email:5523"),
            method="thread-clustering+summary",
            model="summarizer-2026-04",
        ),
        bundle_id="bundle:acme:2026-04-18-call",
        client_ref=CLIENT,
        channel=InteractionChannel.CALL,
        event_refs=("event:call:7781", "event:email:5523"),
        attachments=(
            Attachment(
                ref="media:call:7781.opus",
                media_type="audio/ogg",
                filename="call-2026-04-18.opus",
            ),
        ),
        summary="Priya confirmed budget for a 3BHK near Salt Lake and asked for two site visits.",
        thread_ref="thread:acme:3bhk-search",
    )


def transcript_bundle() -> TranscriptBundle:
    return TranscriptBundle(
        artifact_id="art:transcript-bundle:01",
        source_system="transcriber",
        created_at=at(65),
        created_by="system:transcriber",
        confidence=0.93,
        provenance=Provenance(
            origin=ProvenanceOrigin.AI,
            source_refs=("media:call:7781.opus",),
            method="asr+diarization",
            model="whisper-large-v3",
        ),
        transcript_id="transcript:call:7781",
        interaction_ref="bundle:acme:2026-04-18-call",
        media_ref="media:call:7781.opus",
        language="en-IN",
        duration_ms=42_500,
        text=(
            "Hi Priya, thanks for making time. Happy to. We have the budget approved for a "
            "3BHK near Salt Lake. Great, I can set up two site visits next week."
        ),
        speaker_segments=(
            SpeakerSegment(
                speaker="human:sagnik",
                start_ms=0,
                end_ms=3_200,
                text="Hi Priya, thanks for making time.",
            ),
            SpeakerSegment(
                speaker="person:priya-raman",
                start_ms=3_400,
                end_ms=11_900,
                text="Happy to. We have the budget approved for a 3BHK near Salt Lake.",
            ),
            SpeakerSegment(
                speaker="human:sagnik",
                start_ms=12_300,
                end_ms=18_050,
                text="Great, I can set up two site visits next week.",
            ),
        ),
    )


def qd_signal_bundle() -> QdSignalBundle:
    return QdSignalBundle(
        artifact_id="art:qd-signal-bundle:01",
        source_system="qd-engine",
        created_at=at(70),
        created_by="system:qd-engine",
        confidence=0.77,
        provenance=Provenance(
            origin=ProvenanceOrigin.AI,
            source_refs=("transcript:call:7781",),
            method="intent-scoring",
            model="qd-scorer-2026-04",
        ),
        signal_id="signal:acme:intent:2026-04-18",
        client_ref=CLIENT,
        source_ref="transcript:call:7781",
        score_type="purchase_intent",
        value=0.74,
        time_window=TimeWindow(start=T0 - timedelta(days=7), end=at(60)),
        supporting_evidence_refs=("transcript:call:7781", "bundle:acme:2026-04-18-call"),
        operator_input=OperatorInput(
            operator_ref="human:sourik", note="Budget confirmed verbally; keep score high."
        ),
    )


def oracle_writeback_proposal() -> OracleWritebackProposal:
    return OracleWritebackProposal(
        artifact_id="art:oracle-writeback-proposal:01",
        source_system="oracle",
        created_at=at(75),
        created_by="ai:oracle",
        confidence=0.81,
        provenance=Provenance(
            origin=ProvenanceOrigin.AI,
            source_refs=("transcript:call:7781", "signal:acme:intent:2026-04-18"),
            method="writeback-planner",
            model="oracle-2026-04",
        ),
        proposal_id="proposal:writeback:acme-stage",
        target_domain=WritebackDomain.OPPORTUNITY,
        target_entity_ref="opportunity:acme-3bhk",
        proposed_change=ProposedChange(
            operation=ChangeOperation.UPDATE,
            field_changes=(
                FieldChange(field="stage", from_value="QUALIFYING", to_value="SITE_VISITS"),
                FieldChange(field="budget_confirmed", from_value="false", to_value="true"),
            ),
        ),
        reasoning_summary="The client confirmed budget and asked for site visits on the call.",
        evidence_refs=("transcript:call:7781", "signal:acme:intent:2026-04-18"),
        approval_required=True,
    )


def approval_decision() -> ApprovalDecision:
    return ApprovalDecision(
        artifact_id="art:approval-decision:01",
        source_system="review-app",
        created_at=at(90),
        created_by="human:sayan",
        confidence=1.0,
        provenance=Provenance(origin=ProvenanceOrigin.HUMAN),
        decision_id="decision:0002",
        proposal_ref="proposal:writeback:acme-stage",
        proposal_family="OracleWritebackProposal",
        reviewer_ref="human:sayan",
        decision=DecisionOutcome.APPROVED,
        decision_notes="Matches the call; move to site visits.",
        decided_at=at(90),
        # SHA-256 of the proposal message the reviewer saw (contracts.approval.proposal_digest)
        proposal_digest="9f2c4e1a7b3d5f60182a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d",
    )


def client360_snapshot() -> Client360Snapshot:
    return Client360Snapshot(
        artifact_id="art:client360-snapshot:acme:0007",
        source_system="client360-projector",
        created_at=at(95),
        created_by="system:client360-projector",
        confidence=1.0,
        provenance=Provenance(
            origin=ProvenanceOrigin.DERIVED,
            source_refs=(
                "bundle:acme:2026-04-18-call",
                "signal:acme:intent:2026-04-18",
                "decision:0002",
            ),
            method="client360-projector",
        ),
        client_ref=CLIENT,
        as_of=at(95),
        identity=ClientIdentity(
            display_name="Acme Holdings (Priya Raman)",
            emails=("priya.raman@acme-holdings.example",),
            phones=("+919830012345",),
            entity_refs=("person:priya-raman", "organization:acme-holdings"),
        ),
        account_links=(AccountLink(system="hubspot", external_ref="contact/88213"),),
        active_opportunities=(
            ActiveOpportunity(
                opportunity_ref="opportunity:acme-3bhk",
                title="3BHK near Salt Lake",
                stage="SITE_VISITS",
                amount=15_500_000.0,
            ),
        ),
        recent_interactions=(
            RecentInteraction(
                bundle_ref="bundle:acme:2026-04-18-call",
                channel="CALL",
                occurred_at=at(20),
                summary="Budget confirmed; two site visits requested.",
            ),
        ),
        property_interests=(
            PropertyInterest(property_ref="property:salt-lake-sector-v-12b", interest_level="HIGH"),
        ),
        tasks=(
            ClientTask(
                task_ref="task:acme:site-visits",
                title="Schedule two site visits",
                status="OPEN",
                due_at=at(60 * 24 * 5),
            ),
        ),
        qd_overview=(
            QdScore(
                score_type="purchase_intent",
                value=0.74,
                window_end=at(60),
                signal_ref="signal:acme:intent:2026-04-18",
            ),
        ),
        risk_flags=(
            RiskFlag(
                code="duplicate_contact_merged",
                severity=RiskSeverity.LOW,
                evidence_refs=("delta:0001",),
            ),
        ),
    )


def commit_record() -> CommitRecord:
    return CommitRecord(
        artifact_id=commit_id("decision:0002"),
        source_system="gateway",
        created_at=at(90),
        created_by="gateway",
        confidence=1.0,
        provenance=Provenance(
            origin=ProvenanceOrigin.SYSTEM,
            source_refs=("proposal:writeback:acme-stage", "decision:0002"),
            method="gateway.approval",
        ),
        proposal_id="proposal:writeback:acme-stage",
        proposal_family="OracleWritebackProposal",
        proposal_topic="velocity.oracle-writeback-proposal.v1",
        # The proposal's message value as the gateway accepted it: Confluent frame (magic
        # byte, schema id 7), then the Avro body (shortened here).
        proposal=b"\x00\x00\x00\x00\x07" + b"\x18art:owp:acme",
        decision_id="decision:0002",
        reviewer="human:sayan",
        decided_at=at(90),
    )


def dlq_replay_audit() -> DlqReplayAudit:
    dead_letter = RecordCoordinates(topic="velocity.gateway.dead-letter.v1", partition=2, offset=7)
    return DlqReplayAudit(
        artifact_id=replay_audit_id("replay:2026-04-18-01", dead_letter.ref),
        source_system="dlq-operator",
        created_at=at(120),
        created_by="ops:sourik",
        confidence=1.0,
        provenance=Provenance(
            origin=ProvenanceOrigin.HUMAN, source_refs=(dead_letter.ref,), method="dlq replay"
        ),
        dead_letter_ref=dead_letter.ref,
        replay_id="replay:2026-04-18-01",
        operator="ops:sourik",
        replayed_at=at(120),
        dead_letter=dead_letter,
        reason="state.import_row.unknown_batch",
        family="ImportRowRecord",
        replayed_artifact_id="art:import-row:0007",
        source=RecordCoordinates(topic="velocity.import-row-record.v1", partition=1, offset=40),
        target=RecordCoordinates(topic="velocity.import-row-record.v1", partition=1, offset=97),
        forced=False,
        filter="reason state.import_row.unknown_batch",
        host="ops-box",
        tool_version="0.1.0",
    )


# Family -> major -> builder. Every model in the registry has one (a unit test holds that).
_BUILDERS: dict[str, dict[int, Callable[[], Artifact]]] = {
    "RawImportBatch": {1: raw_import_batch},
    "ImportRowRecord": {1: import_row_record},
    "ImportMappingManifest": {1: import_mapping_manifest_v1, 2: import_mapping_manifest},
    "NormalizedEntityProposal": {1: normalized_entity_proposal},
    "ClientGraphDelta": {1: client_graph_delta},
    "InteractionBundle": {1: interaction_bundle},
    "TranscriptBundle": {1: transcript_bundle},
    "QdSignalBundle": {1: qd_signal_bundle},
    "OracleWritebackProposal": {1: oracle_writeback_proposal},
    "ApprovalDecision": {1: approval_decision},
    "Client360Snapshot": {1: client360_snapshot},
    "CommitRecord": {1: commit_record},
    "AppliedGraphChange": {1: applied_graph_change},
    "DlqReplayAudit": {1: dlq_replay_audit},
}


def example(family: str, major: int | None = None) -> Artifact:
    """A valid example of ``family`` (any name form) for ``major`` (default: the latest)."""
    name = family_name(family)
    model = model_for(name, major)
    chosen = int(model.SCHEMA_VERSION.split(".", 1)[0])
    builder = _BUILDERS[name].get(chosen)
    if builder is None:
        raise ConfigError(f"{name} has no example for major {chosen}")
    return builder()
