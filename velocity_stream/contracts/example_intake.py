"""Example artifacts of the intake side: the uploaded batch, its rows, the mapping manifest
(both majors), an entity proposal and the graph delta that commits it.

Shared story constants live here too; :mod:`velocity_stream.contracts.examples` continues
the story and holds the :func:`~velocity_stream.contracts.examples.example` lookup.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from velocity_stream.contracts.applied_graph_change import AppliedGraphChange, applied_id
from velocity_stream.contracts.entity_proposal import EntityType, NormalizedEntityProposal
from velocity_stream.contracts.graph_delta import (
    ClientGraphDelta,
    GraphEdge,
    GraphOperation,
    GraphOperationKind,
)
from velocity_stream.contracts.import_manifest import (
    ColumnMapping,
    ColumnMappingV1,
    ImportMappingManifest,
    ImportMappingManifestV1,
    MappingKind,
    NoteKind,
    ResolverNote,
    ResolverNoteV1,
    TargetField,
)
from velocity_stream.contracts.imports import ImportRowRecord, RawImportBatch, row_content_sha256
from velocity_stream.contracts.metadata import Provenance, ProvenanceOrigin

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


def at(minutes: int) -> datetime:
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
        created_at=at(1),
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
        created_at=at(2),
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


def import_mapping_manifest() -> ImportMappingManifest:
    person, organization = EntityType.PERSON, EntityType.ORGANIZATION

    def mapped(column: str, entity: EntityType, path: str, confidence: float) -> ColumnMapping:
        return ColumnMapping(
            source_column=column,
            target=TargetField(entity_type=entity, field_path=path),
            mapping_kind=MappingKind.DIRECT,
            confidence=confidence,
        )

    return ImportMappingManifest(
        artifact_id="art:import-mapping-manifest:01",
        source_system="import-resolver",
        created_at=at(2),
        created_by="system:import-resolver",
        confidence=0.86,
        provenance=Provenance(
            origin=ProvenanceOrigin.AI,
            source_refs=(BATCH,),
            method="header-match+llm",
            model="resolver-2026-04",
        ),
        manifest_id="manifest:2026-04-18-hubspot-01",
        batch_id=BATCH,
        source_profile="hubspot-contacts-export",
        source_columns=COLUMNS,
        column_mappings=(
            mapped("First Name", person, "given_name", 0.98),
            mapped("Last Name", person, "family_name", 0.98),
            ColumnMapping(
                source_column="Email",
                target=TargetField(entity_type=person, field_path="email"),
                mapping_kind=MappingKind.NORMALIZED,
                transform="lowercase",
                confidence=0.97,
            ),
            ColumnMapping(
                source_column="Phone",
                target=TargetField(entity_type=person, field_path="phone"),
                mapping_kind=MappingKind.NORMALIZED,
                transform="e164",
                confidence=0.91,
            ),
            mapped("Company", organization, "name", 0.88),
        ),
        ignored_columns=("Notes",),
        unmapped_columns=("Lead Status",),
        resolver_notes=(
            ResolverNote(
                column="Lead Status",
                kind=NoteKind.AMBIGUOUS,
                note="HubSpot status values do not match our pipeline stages; needs a lookup.",
                candidate_fields=(
                    TargetField(entity_type=EntityType.OPPORTUNITY, field_path="stage"),
                    TargetField(entity_type=person, field_path="lifecycle_stage"),
                ),
            ),
            ResolverNote(kind=NoteKind.INFO, note="Header row detected on line 1."),
        ),
    )


def normalized_entity_proposal() -> NormalizedEntityProposal:
    return NormalizedEntityProposal(
        artifact_id="art:normalized-entity-proposal:01",
        source_system="import-normalizer",
        created_at=at(3),
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
    """The importer's requested change: the person and their link to the client. (A merge or
    delete is never sent as a delta: it comes as a proposal, and the committer applies its
    approval; see ``applied_graph_change``.)"""
    return ClientGraphDelta(
        artifact_id="art:client-graph-delta:01",
        source_system="import-normalizer",
        created_at=at(30),
        created_by="system:import-normalizer",
        confidence=1.0,
        provenance=Provenance(
            origin=ProvenanceOrigin.SYSTEM,
            source_refs=(BATCH,),
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
                op=GraphOperationKind.UPSERT_EDGE,
                edge=GraphEdge(from_ref="person:priya-raman", to_ref=CLIENT, relation="CONTACT_OF"),
                attributes={"role": "decision maker"},
            ),
        ),
    )


def applied_graph_change() -> AppliedGraphChange:
    """The committer's record of applying decision:0001, which approved folding the 2025
    duplicate into Priya's node."""
    return AppliedGraphChange(
        artifact_id=applied_id("decision:0001"),
        source_system="graph-committer",
        created_at=at(31),
        created_by="graph-committer",
        confidence=1.0,
        provenance=Provenance(
            origin=ProvenanceOrigin.SYSTEM,
            source_refs=("decision:0001", "proposal:entity:priya-raman"),
            method="graph-committer.applied",
        ),
        change_id="decision:0001",
        operations=(
            GraphOperation(
                op=GraphOperationKind.MERGE_NODES,
                node_ref="person:priya-raman",
                merged_refs=("person:p-raman-2025",),
            ),
            GraphOperation(
                op=GraphOperationKind.UPSERT_NODE,
                node_ref="person:priya-raman",
                node_type="PERSON",
                attributes={"given_name": "Priya", "family_name": "Raman"},
            ),
        ),
        proposal_ref="proposal:entity:priya-raman",
        decision_ref="decision:0001",
    )
