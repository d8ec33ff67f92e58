"""The demo's lead import: a HubSpot CSV export becomes a RawImportBatch, one ImportRowRecord per
row, an ImportMappingManifest and one NormalizedEntityProposal per lead.

Some leads are low risk (high confidence, nothing to merge, no review asked) and the gateway's
auto rule approves them; the others wait in the review queue: a likely duplicate of an older
contact, and a phone number the normalizer was unsure of. Pure: no Kafka here.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from velocity_stream.contracts.entity_proposal import EntityType, NormalizedEntityProposal
from velocity_stream.contracts.example_intake import import_mapping_manifest
from velocity_stream.contracts.import_manifest import ImportMappingManifest
from velocity_stream.contracts.imports import ImportRowRecord, RawImportBatch, row_content_sha256
from velocity_stream.contracts.metadata import Artifact, Provenance, ProvenanceOrigin

FILENAME = "hubspot-contacts-export.csv"
COLUMNS = ("First Name", "Last Name", "Email", "Phone", "Company", "Lead Status", "Notes")
ROWS = (
    (
        "Priya",
        "Raman",
        "priya.raman@acme-holdings.example",
        "+91 98300 12345",
        "Acme Holdings",
        "Warm",
        "Met at the Kolkata proptech meetup; wants a 3BHK near Salt Lake.",
    ),
    (
        "Arjun",
        "Sen",
        "arjun@senfamilyoffice.example",
        "+91 98310 55501",
        "Sen Family Office",
        "Hot",
        "Looking for a full office floor in Sector V.",
    ),
    (
        "Meera",
        "Bose",
        "Meera.Bose@boselogistics.example",
        "+91 98302 77123",
        "Bose Logistics",
        "Warm",
        "Warehouse lease near Dankuni; expansion plans.",
    ),
    (
        "Kabir",
        "Roy",
        "kabir@royconstructions.example",
        "033 2455 0199",
        "Roy Constructions",
        "Cold",
        "Asked for a callback in May.",
    ),
    (
        "Ananya",
        "Ghosh",
        "ananya.ghosh@mail.example",
        "+91 90070 33445",
        "",
        "New",
        "Inbound from the website form.",
    ),
    (
        "Vikram",
        "Mehta",
        "vikram@mehtaandsons.example",
        "+91 98360 88120",
        "Mehta & Sons",
        "New",
        "Referred by Arjun Sen.",
    ),
)


def _render_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(ROWS)
    return out.getvalue()


# The file as uploaded: its bytes are what the batch's content hash covers.
CSV_TEXT = _render_csv()


@dataclass(frozen=True, slots=True)
class Lead:
    """How the normalizer judged one row: who it is and how sure it was."""

    slug: str
    client_ref: str | None
    phone_e164: str
    confidence: float
    merge_candidates: tuple[str, ...] = ()
    review_required: bool = False


# Row order as in the CSV. Priya may be an older contact; Kabir's landline did not normalize
# cleanly. Everyone else is low risk and approved by the catalog's auto rule.
LEADS = (
    Lead(
        "priya-raman", "client:acme-holdings", "+919830012345", 0.82, ("person:p-raman-2025",), True
    ),
    Lead("arjun-sen", "client:sen-family-office", "+919831055501", 0.95),
    Lead("meera-bose", "client:bose-logistics", "+919830277123", 0.94),
    Lead("kabir-roy", "client:roy-constructions", "+913324550199", 0.71, (), True),
    Lead("ananya-ghosh", None, "+919007033445", 0.93),
    Lead("vikram-mehta", None, "+919836088120", 0.92),
)


def csv_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(CSV_TEXT)))


def person_ref(lead: Lead) -> str:
    return f"person:{lead.slug}"


class IntakeDemo:
    """Builds the import's artifacts for one batch, timed relative to ``start``."""

    def __init__(self, start: datetime, batch_id: str) -> None:
        self.start = start
        self.batch_id = batch_id
        self.rows = csv_rows()
        self.manifest_id = f"manifest:{batch_id.removeprefix('batch:')}"

    def at(self, minutes: float) -> datetime:
        return self.start + timedelta(minutes=minutes)

    def batch(self) -> RawImportBatch:
        return RawImportBatch(
            artifact_id=f"art:{self.batch_id}",
            source_system="lead-importer",
            created_at=self.at(0),
            created_by="human:sagnik",
            confidence=1.0,
            provenance=Provenance(origin=ProvenanceOrigin.UPLOAD),
            batch_id=self.batch_id,
            uploaded_filename=FILENAME,
            mime_type="text/csv",
            storage_ref=f"file://velocity-demo/{FILENAME}",
            row_count=len(self.rows),
            uploaded_by="human:sagnik",
            content_sha256=hashlib.sha256(CSV_TEXT.encode("utf-8")).hexdigest(),
        )

    def row(self, number: int, values: dict[str, str]) -> ImportRowRecord:
        return ImportRowRecord(
            artifact_id=f"art:{self.batch_id}/row/{number}",
            source_system="lead-importer",
            created_at=self.at(0.5),
            created_by="system:lead-importer",
            confidence=1.0,
            provenance=Provenance(origin=ProvenanceOrigin.UPLOAD, source_refs=(self.batch_id,)),
            row_id=f"{self.batch_id}/row/{number}",
            batch_id=self.batch_id,
            row_number=number,
            raw_values=values,
            content_sha256=row_content_sha256(values),
        )

    def manifest(self) -> ImportMappingManifest:
        # The example manifest maps exactly this export's columns; only ids and times differ.
        base = import_mapping_manifest().model_dump()
        base.update(
            artifact_id=f"art:{self.manifest_id}",
            created_at=self.at(1),
            manifest_id=self.manifest_id,
            batch_id=self.batch_id,
            provenance={**base["provenance"], "source_refs": (self.batch_id,)},
        )
        return ImportMappingManifest.model_validate(base)

    def proposal(self, number: int, values: dict[str, str], lead: Lead) -> NormalizedEntityProposal:
        return NormalizedEntityProposal(
            artifact_id=f"art:proposal:entity:{lead.slug}",
            source_system="import-normalizer",
            created_at=self.at(2 + number * 0.1),
            created_by="system:import-normalizer",
            confidence=lead.confidence,
            provenance=Provenance(
                origin=ProvenanceOrigin.AI,
                source_refs=(f"{self.batch_id}/row/{number}", self.manifest_id),
                method="manifest-apply+entity-resolution",
                model="normalizer-2026-04",
            ),
            proposal_id=f"proposal:entity:{lead.slug}",
            batch_id=self.batch_id,
            entity_type=EntityType.PERSON,
            entity_ref=person_ref(lead),
            canonical_payload={
                "given_name": values["First Name"],
                "family_name": values["Last Name"],
                "email": values["Email"].lower(),
                "phone": lead.phone_e164,
            },
            merge_candidate_refs=lead.merge_candidates,
            review_required=lead.review_required,
        )

    def artifacts(self) -> list[Artifact]:
        """Batch, rows, manifest, then the proposals: the order the importer sends them."""
        found: list[Artifact] = [self.batch()]
        found += [self.row(n, values) for n, values in enumerate(self.rows, 1)]
        found.append(self.manifest())
        found += [
            self.proposal(n, values, lead)
            for n, (values, lead) in enumerate(zip(self.rows, LEADS, strict=True), 1)
        ]
        return found

    def trailing_row(self) -> ImportRowRecord:
        """A row past the batch's row count: a buggy exporter's extra line (dead-lettered)."""
        values = {column: "" for column in self.rows[0]}
        values["Notes"] = "(trailing line)"
        return self.row(len(self.rows) + 1, values)
