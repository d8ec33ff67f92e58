"""The artifact contracts: one pydantic model per family, its rules, and a registry by major.

The .avsc files under avro_schemas/ are the source of truth for fields; these models mirror
them (``drift.check_drift`` proves it) and add the rules one artifact can prove on its own
(docs/contracts.md lists them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from velocity_stream.lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from velocity_stream.contracts.applied_graph_change import AppliedGraphChange
    from velocity_stream.contracts.approval import ApprovalDecision
    from velocity_stream.contracts.client360 import Client360Snapshot
    from velocity_stream.contracts.commit_record import CommitRecord
    from velocity_stream.contracts.entity_proposal import NormalizedEntityProposal
    from velocity_stream.contracts.examples import example
    from velocity_stream.contracts.graph_delta import ClientGraphDelta
    from velocity_stream.contracts.import_manifest import (
        ImportMappingManifest,
        ImportMappingManifestV1,
    )
    from velocity_stream.contracts.imports import (
        ImportRowRecord,
        RawImportBatch,
        row_content_sha256,
    )
    from velocity_stream.contracts.interaction import InteractionBundle
    from velocity_stream.contracts.metadata import (
        Artifact,
        Provenance,
        ProvenanceOrigin,
        validate_artifact,
    )
    from velocity_stream.contracts.qd_signal import QdSignalBundle
    from velocity_stream.contracts.registry import model_for
    from velocity_stream.contracts.replay_audit import DlqReplayAudit
    from velocity_stream.contracts.transcript import TranscriptBundle
    from velocity_stream.contracts.writeback import OracleWritebackProposal

# Imported on first use (PEP 562), so that importing one submodule, e.g. for the CLI's start,
# does not load every other one and what they import.
_EXPORTS = {
    "AppliedGraphChange": "velocity_stream.contracts.applied_graph_change",
    "ApprovalDecision": "velocity_stream.contracts.approval",
    "Client360Snapshot": "velocity_stream.contracts.client360",
    "CommitRecord": "velocity_stream.contracts.commit_record",
    "NormalizedEntityProposal": "velocity_stream.contracts.entity_proposal",
    "example": "velocity_stream.contracts.examples",
    "ClientGraphDelta": "velocity_stream.contracts.graph_delta",
    "ImportMappingManifest": "velocity_stream.contracts.import_manifest",
    "ImportMappingManifestV1": "velocity_stream.contracts.import_manifest",
    "ImportRowRecord": "velocity_stream.contracts.imports",
    "RawImportBatch": "velocity_stream.contracts.imports",
    "row_content_sha256": "velocity_stream.contracts.imports",
    "InteractionBundle": "velocity_stream.contracts.interaction",
    "Artifact": "velocity_stream.contracts.metadata",
    "Provenance": "velocity_stream.contracts.metadata",
    "ProvenanceOrigin": "velocity_stream.contracts.metadata",
    "validate_artifact": "velocity_stream.contracts.metadata",
    "QdSignalBundle": "velocity_stream.contracts.qd_signal",
    "model_for": "velocity_stream.contracts.registry",
    "DlqReplayAudit": "velocity_stream.contracts.replay_audit",
    "TranscriptBundle": "velocity_stream.contracts.transcript",
    "OracleWritebackProposal": "velocity_stream.contracts.writeback",
}


__getattr__ = _lazy_exports(__name__, _EXPORTS)


__all__ = [
    "AppliedGraphChange",
    "ApprovalDecision",
    "Artifact",
    "Client360Snapshot",
    "ClientGraphDelta",
    "CommitRecord",
    "DlqReplayAudit",
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
