"""The artifact contracts: one pydantic model per family, its rules, and a registry by major.

The .avsc files under avro_schemas/ are the source of truth for fields; these models mirror
them (``drift.check_drift`` proves it) and add the stateless rules of DESIGN.md section 1.
"""

from __future__ import annotations

from velocity_stream.contracts.approval import ApprovalDecision
from velocity_stream.contracts.client360 import Client360Snapshot
from velocity_stream.contracts.entity_proposal import NormalizedEntityProposal
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.graph_delta import ClientGraphDelta
from velocity_stream.contracts.import_manifest import (
    ImportMappingManifest,
    ImportMappingManifestV1,
)
from velocity_stream.contracts.imports import ImportRowRecord, RawImportBatch, row_content_sha256
from velocity_stream.contracts.interaction import InteractionBundle
from velocity_stream.contracts.metadata import (
    Artifact,
    Provenance,
    ProvenanceOrigin,
    validate_artifact,
)
from velocity_stream.contracts.qd_signal import QdSignalBundle
from velocity_stream.contracts.registry import model_for
from velocity_stream.contracts.transcript import TranscriptBundle
from velocity_stream.contracts.writeback import OracleWritebackProposal

__all__ = [
    "ApprovalDecision",
    "Artifact",
    "Client360Snapshot",
    "ClientGraphDelta",
    "ImportMappingManifest",
    "ImportMappingManifestV1",
    "ImportRowRecord",
    "InteractionBundle",
    "NormalizedEntityProposal",
    "OracleWritebackProposal",
    "Provenance",
    "ProvenanceOrigin",
    "QdSignalBundle",
    "RawImportBatch",
    "TranscriptBundle",
    "example",
    "model_for",
    "row_content_sha256",
    "validate_artifact",
]
