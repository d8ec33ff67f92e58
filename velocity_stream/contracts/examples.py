"""One valid, realistic example artifact per family (and per major), always the same.

They tell one story: a founder uploads a HubSpot export, the importer and resolver turn it
into rows, a manifest and entity proposals, a call with the client is transcribed and scored,
Oracle proposes a change, a reviewer approves it, and the client 360 snapshot is rebuilt.
The CLI prints them, tests start from them, and the docs quote them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

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
from velocity_stream.contracts.entity_proposal import EntityType, NormalizedEntityProposal
from velocity_stream.contracts.graph_delta import (
    ClientGraphDelta,
    GraphEdge,
    GraphOperation,
    GraphOperationKind,
)
from velocity_stream.contracts.import_manifest import (
    ColumnMappingV1,
    ImportMappingManifestV1,
    ResolverNoteV1,
)
from velocity_stream.contracts.imports import ImportRowRecord, RawImportBatch, row_content_sha256
from velocity_stream.contracts.interaction import Attachment, InteractionBundle, InteractionChannel
from velocity_stream.contracts.metadata import Artifact, Provenance, ProvenanceOrigin
from velocity_stream.contracts.qd_signal import OperatorInput, QdSignalBundle, TimeWindow
from velocity_stream.contracts.registry import family_name, model_for
from velocity_stream.contracts.transcript import SpeakerSegment, TranscriptBundle
from velocity_stream.contracts.writeback import (
    ChangeOperation,
    FieldChange,
    OracleWritebackProposal,
    ProposedChange,
    WritebackDomain,
)
from velocity_stream.errors import ConfigError

T0 = datetime(2026, 4, 18, 9, 30, tzinfo=UTC)
BATCH = "batch:2026-04-18-hubspot-01"
CLIENT = "client:acme-holdings"
COLUMNS = ("First Name", "Last Name", "Email", "Phone", "Company", "Lead Status", "Notes")
ROW_3 = {
    "First Name": "Priya",
    "Last Name": "Raman",
    "Email": "priya.raman@acme-holdings.example",
    "Phone": "+91 98300 12345",
    "Company": "Acme Holdings",
    "Lead Status": "Warm",
    "Notes": "Met at the Kolkata proptech meetup; wants a 3BHK near Salt Lake.",
}


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def raw_import_batch() -> RawImportBatch:
    return RawImportBatch(
        artifact_id="art:raw-import-batch:01",
        source_system="lead-importer",
        created_at=T0,
        created_by="human:sagnik",
        confidence=1.0,
        provenance=Provenance(origin=ProvenanceOrigin.UPLOAD),
        batch_id=BATCH,
        uploaded_filename="hubspot-contacts-2026-04-18.csv",
        mime_type="text/csv",
        storage_ref="s3://velocity-imports/2026/04/18/hubspot-contacts-2026-04-18.csv",
        row_count=248,
        uploaded_by="human:sagnik",
        content_sha256="9f2c4e1b7a6d3c5e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60",
    )


def import_row_record() -> ImportRowRecord:
    return ImportRowRecord(
        artifact_id="art:import-row-record:01-0003",
        source_system="lead-importer",
        created_at=_at(1),
        created_by="system:lead-importer",
        confidence=1.0,
        provenance=Provenance(origin=ProvenanceOrigin.UPLOAD, source_refs=(BATCH,)),
        row_id=f"{BATCH}/row/3",
        batch_id=BATCH,
        row_number=3,
        raw_values=ROW_3,
        content_sha256=row_content_sha256(ROW_3),
    )


def import_mapping_manifest_v1() -> ImportMappingManifestV1:
    return ImportMappingManifestV1(
        artifact_id="art:import-mapping-manifest:01",
        source_system="import-resolver",
        created_at=_at(2),
        created_by="system:import-resolver",
        confidence=0.86,
        provenance=Provenance(
            origin=ProvenanceOrigin.AI,
            source_refs=(BATCH,),
            method="header-match+llm",
            model="resolver-2026-03",
        ),
        manifest_id="manifest:2026-04-18-hubspot-01",
        batch_id=BATCH,
        source_profile="hubspot-contacts-export",
        source_columns=COLUMNS,
        column_mappings=(
            ColumnMappingV1(source_column="First Name", target_field="person.given_name"),
            ColumnMappingV1(source_column="Last Name", target_field="person.family_name"),
            ColumnMappingV1(
                source_column="Email", target_field="person.email", transform="lowercase"
            ),
            ColumnMappingV1(source_column="Phone", target_field="person.phone", transform="e164"),
            ColumnMappingV1(source_column="Company", target_field="organization.name"),
        ),
        ignored_columns=("Notes",),
        unmapped_columns=("Lead Status",),
        resolver_notes=(
            ResolverNoteV1(
                column="Lead Status",
                note="HubSpot status values do not match our pipeline stages; needs a lookup.",
            ),
            ResolverNoteV1(column=None, note="Header row detected on line 1."),
        ),
    )


def normalized_entity_proposal() -> NormalizedEntityProposal:
    return NormalizedEntityProposal(
        artifact_id="art:normalized-entity-proposal:01",
        source_system="import-normalizer",
        created_at=_at(3),
        created_by="system:import-normalizer",
        confidence=0.82,
        provenance=Provenance(
            origin=ProvenanceOrigin.AI,
            source_refs=(f"{BATCH}/row/3", "manifest:2026-04-18-hubspot-01"),
            method="manifest-apply+entity-resolution",
            model="normalizer-2026-04",
        ),
        proposal_id="proposal:entity:priya-raman",
        batch_id=BATCH,
        entity_type=EntityType.PERSON,
        entity_ref="person:priya-raman",
        canonical_payload={
            "given_name": "Priya",
            "family_name": "Raman",
            "email": "priya.raman@acme-holdings.example",
            "phone": "+919830012345",
        },
        merge_candidate_refs=("person:p-raman-2025",),
        review_required=True,
    )


def client_graph_delta() -> ClientGraphDelta:
    return ClientGraphDelta(
        artifact_id="art:client-graph-delta:01",
        source_system="graph-committer",
        created_at=_at(30),
        created_by="system:graph-committer",
        confidence=1.0,
        provenance=Provenance(
            origin=ProvenanceOrigin.SYSTEM,
            source_refs=("proposal:entity:priya-raman", "decision:0001"),
        ),
        delta_id="delta:0001",
        operations=(
            GraphOperation(
                op=GraphOperationKind.UPSERT_NODE,
                node_ref="person:priya-raman",
                node_type="PERSON",
                attributes={"given_name": "Priya", "family_name": "Raman"},
            ),
            GraphOperation(
                op=GraphOperationKind.MERGE_NODES,
                node_ref="person:priya-raman",
                merged_refs=("person:p-raman-2025",),
            ),
            GraphOperation(
                op=GraphOperationKind.UPSERT_EDGE,
                edge=GraphEdge(from_ref="person:priya-raman", to_ref=CLIENT, relation="CONTACT_OF"),
                attributes={"role": "decision maker"},
            ),
        ),
        proposal_ref="proposal:entity:priya-raman",
        decision_ref="decision:0001",
    )


def interaction_bundle() -> InteractionBundle:
    return InteractionBundle(
        artifact_id="art:interaction-bundle:01",
        source_system="interaction-hub",
        created_at=_at(60),
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
    )


def transcript_bundle() -> TranscriptBundle:
    return TranscriptBundle(
        artifact_id="art:transcript-bundle:01",
        source_system="transcriber",
        created_at=_at(65),
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
        created_at=_at(70),
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
        time_window=TimeWindow(start=T0 - timedelta(days=7), end=_at(60)),
        supporting_evidence_refs=("transcript:call:7781", "bundle:acme:2026-04-18-call"),
        operator_input=OperatorInput(
            operator_ref="human:sourik", note="Budget confirmed verbally; keep score high."
        ),
    )


def oracle_writeback_proposal() -> OracleWritebackProposal:
    return OracleWritebackProposal(
        artifact_id="art:oracle-writeback-proposal:01",
        source_system="oracle",
        created_at=_at(75),
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
        created_at=_at(90),
        created_by="human:sayan",
        confidence=1.0,
        provenance=Provenance(origin=ProvenanceOrigin.HUMAN),
        decision_id="decision:0002",
        proposal_ref="proposal:writeback:acme-stage",
        proposal_family="OracleWritebackProposal",
        reviewer_ref="human:sayan",
        decision=DecisionOutcome.APPROVED,
        decision_notes="Matches the call; move to site visits.",
        decided_at=_at(90),
    )


def client360_snapshot() -> Client360Snapshot:
    return Client360Snapshot(
        artifact_id="art:client360-snapshot:acme:0007",
        source_system="client360-projector",
        created_at=_at(95),
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
        as_of=_at(95),
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
                occurred_at=_at(20),
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
                due_at=_at(60 * 24 * 5),
            ),
        ),
        qd_overview=(
            QdScore(
                score_type="purchase_intent",
                value=0.74,
                window_end=_at(60),
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


# Family -> major -> builder. Every model in the registry has one (a unit test holds that).
_BUILDERS: dict[str, dict[int, Callable[[], Artifact]]] = {
    "RawImportBatch": {1: raw_import_batch},
    "ImportRowRecord": {1: import_row_record},
    "ImportMappingManifest": {1: import_mapping_manifest_v1},
    "NormalizedEntityProposal": {1: normalized_entity_proposal},
    "ClientGraphDelta": {1: client_graph_delta},
    "InteractionBundle": {1: interaction_bundle},
    "TranscriptBundle": {1: transcript_bundle},
    "QdSignalBundle": {1: qd_signal_bundle},
    "OracleWritebackProposal": {1: oracle_writeback_proposal},
    "ApprovalDecision": {1: approval_decision},
    "Client360Snapshot": {1: client360_snapshot},
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
