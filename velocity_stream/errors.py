"""The exception hierarchy and the stable reason codes.

Reason codes are public API: they appear in CLI output, dead-letter headers, metrics and
docs/reason-codes.md. Never rename or reuse one; add new ones instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReasonCode(StrEnum):
    """Every refusal the project can make, as a dotted ``stage.detail`` code."""

    # decode: the bytes could not be turned into an Avro record
    DECODE_EMPTY_PAYLOAD = "decode.empty_payload"
    DECODE_BAD_MAGIC_BYTE = "decode.bad_magic_byte"
    DECODE_UNKNOWN_SCHEMA_ID = "decode.unknown_schema_id"
    DECODE_CORRUPT_BODY = "decode.corrupt_body"
    DECODE_WRONG_FAMILY = "decode.wrong_family"
    DECODE_UNRESOLVABLE = "decode.unresolvable_schema"
    DECODE_REGISTRY_UNAVAILABLE = "decode.registry_unavailable"
    DECODE_UNKNOWN_TOPIC = "decode.unknown_topic"

    # contract: the record decoded but breaks its contract (field types or rules)
    CONTRACT_INVALID_FIELD = "contract.invalid_field"
    CONTRACT_CONFIDENCE_RANGE = "contract.confidence_range"
    CONTRACT_NAIVE_TIMESTAMP = "contract.naive_timestamp"
    CONTRACT_ARTIFACT_TYPE_MISMATCH = "contract.artifact_type_mismatch"
    CONTRACT_SCHEMA_VERSION_MISMATCH = "contract.schema_version_mismatch"
    CONTRACT_PROVENANCE_REFS_REQUIRED = "contract.provenance_refs_required"
    CONTRACT_ROW_NUMBER_RANGE = "contract.import_row.row_number_range"
    CONTRACT_ROW_CONTENT_HASH = "contract.import_row.content_hash_mismatch"
    CONTRACT_MANIFEST_COLUMN_UNACCOUNTED = "contract.import_manifest.column_unaccounted"
    CONTRACT_MANIFEST_COLUMN_DUPLICATED = "contract.import_manifest.column_duplicated"
    CONTRACT_MANIFEST_COLUMN_UNKNOWN = "contract.import_manifest.column_unknown"
    CONTRACT_ENTITY_MERGE_NEEDS_REVIEW = "contract.entity_proposal.merge_needs_review"
    CONTRACT_GRAPH_APPROVAL_REQUIRED = "contract.graph_delta.approval_required"
    CONTRACT_GRAPH_OPERATION_SHAPE = "contract.graph_delta.operation_shape"
    CONTRACT_INTERACTION_EVENT_REFS_REQUIRED = "contract.interaction.event_refs_required"
    CONTRACT_TRANSCRIPT_SEGMENT_ORDER = "contract.transcript.segment_order"
    CONTRACT_TRANSCRIPT_SEGMENT_BOUNDS = "contract.transcript.segment_bounds"
    CONTRACT_QD_EVIDENCE_REQUIRED = "contract.qd_signal.evidence_required"
    CONTRACT_QD_TIME_WINDOW = "contract.qd_signal.time_window"
    CONTRACT_WRITEBACK_APPROVAL_REQUIRED = "contract.oracle_writeback.approval_required"
    CONTRACT_WRITEBACK_EVIDENCE_REQUIRED = "contract.oracle_writeback.evidence_required"
    CONTRACT_WRITEBACK_NOT_AI = "contract.oracle_writeback.origin_not_ai"
    CONTRACT_WRITEBACK_CHANGE_SHAPE = "contract.oracle_writeback.change_shape"
    CONTRACT_MANIFEST_MAPPING_SHAPE = "contract.import_manifest.mapping_shape"
    CONTRACT_DECISION_NOTES_REQUIRED = "contract.approval_decision.notes_required"
    CONTRACT_DECISION_ACTOR_MISMATCH = "contract.approval_decision.actor_mismatch"
    CONTRACT_DECISION_REVIEWER_KIND = "contract.approval_decision.reviewer_kind"
    CONTRACT_DECISION_PROVENANCE = "contract.approval_decision.provenance_mismatch"
    CONTRACT_DECISION_DIGEST_REQUIRED = "contract.approval_decision.proposal_digest_required"
    CONTRACT_SNAPSHOT_NOT_DERIVED = "contract.client360.not_derived"
    CONTRACT_KEY_MISMATCH = "contract.key_mismatch"
    CONTRACT_COMMIT_ID_MISMATCH = "contract.commit_record.artifact_id_mismatch"
    CONTRACT_COMMIT_REVIEWER_KIND = "contract.commit_record.reviewer_kind"
    CONTRACT_COMMIT_PROVENANCE = "contract.commit_record.provenance_mismatch"
    CONTRACT_COMMIT_PROPOSAL_INVALID = "contract.commit_record.proposal_invalid"
    CONTRACT_COMMIT_PROPOSAL_MISMATCH = "contract.commit_record.proposal_mismatch"
    CONTRACT_APPLIED_ID_MISMATCH = "contract.applied_graph_change.artifact_id_mismatch"
    CONTRACT_AUDIT_REF_MISMATCH = "contract.dlq_replay_audit.ref_mismatch"

    # auth: the root layer's ownership and authorization checks
    AUTH_NOT_OWNER = "auth.not_owner"
    AUTH_NOT_REVIEWER = "auth.not_reviewer"
    AUTH_SELF_APPROVAL = "auth.self_approval"
    AUTH_DECISION_UNSIGNED = "auth.decision_unsigned"
    AUTH_DECISION_UNKNOWN_KEY = "auth.decision_unknown_key"
    AUTH_DECISION_BAD_SIGNATURE = "auth.decision_bad_signature"
    AUTH_DECISION_WRONG_SIGNER = "auth.decision_wrong_signer"

    # state: rules that need what came before
    STATE_BATCH_MUTATED = "state.import_batch.mutated"
    STATE_ROW_UNKNOWN_BATCH = "state.import_row.unknown_batch"
    STATE_ROW_OUT_OF_RANGE = "state.import_row.out_of_range"
    STATE_GRAPH_DECISION_NOT_APPROVED = "state.graph_delta.decision_not_approved"
    APPROVAL_ALREADY_DECIDED = "approval.already_decided"
    APPROVAL_UNKNOWN_PROPOSAL = "approval.unknown_proposal"
    APPROVAL_PROPOSAL_CONFLICT = "approval.proposal_conflict"
    APPROVAL_PROPOSAL_CHANGED = "approval.proposal_changed"
    STATE_GRAPH_LICENCE_BORROWED = "state.graph_delta.licence_borrowed"
    STATE_GRAPH_LICENCE_EXCEEDED = "state.graph_delta.licence_exceeded"
    STATE_GRAPH_LICENCE_USED = "state.graph_delta.licence_used"

    # persistence: the consumers' referential-integrity and lifecycle checks
    PERSISTENCE_UNREADABLE_CHANGE = "persistence.unreadable_change"
    PERSISTENCE_UNSUPPORTED_CHANGE = "persistence.unsupported_change"
    PERSISTENCE_ENTITY_NOT_FOUND = "persistence.entity_not_found"
    PERSISTENCE_ENTITY_EXISTS = "persistence.entity_exists"
    PERSISTENCE_ENTITY_MERGED = "persistence.entity_merged"
    PERSISTENCE_ENTITY_DELETED = "persistence.entity_deleted"
    PERSISTENCE_ALREADY_MERGED = "persistence.already_merged"
    PERSISTENCE_NODE_TYPE_MISMATCH = "persistence.node_type_mismatch"
    PERSISTENCE_STALE_VALUE = "persistence.stale_value"
    PERSISTENCE_EDGE_NOT_FOUND = "persistence.edge_not_found"

    # route: the input was routed but the broker refused an output it caused
    ROUTE_OUTPUT_TOO_LARGE = "route.output_too_large"

    # internal: a bug on our side, caught at the pipeline boundary
    INTERNAL_ERROR = "internal.unexpected_error"

    @property
    def stage(self) -> str:
        return self.value.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: where (a dotted field path), which rule, and why in words."""

    code: ReasonCode
    path: str
    message: str

    def __str__(self) -> str:
        where = self.path or "<artifact>"
        return f"{self.code.value} at {where}: {self.message}"


class VelocityError(Exception):
    """Root of every error the project raises on purpose."""


class ConfigError(VelocityError, ValueError):
    """Settings or the catalog are wrong; nothing can run until they are fixed."""


class SettingsError(ConfigError):
    """A variable of the environment does not hold what its setting takes; the message is one
    line naming each such variable (never its value: some are secrets)."""


class ContractError(VelocityError, ValueError):
    """An artifact breaks its contract. Carries every violation, not just the first."""

    def __init__(self, family: str, violations: list[Violation]) -> None:
        self.family = family
        self.violations = violations
        lines = "; ".join(str(v) for v in violations)
        super().__init__(f"{family} breaks its contract: {lines}")

    @property
    def code(self) -> ReasonCode:
        return self.violations[0].code


class SerdeError(VelocityError, ValueError):
    """Bytes could not be encoded or decoded. ``code`` says which way it failed."""

    def __init__(self, code: ReasonCode, message: str) -> None:
        self.code = code
        super().__init__(f"{code.value}: {message}")


class RegistryError(VelocityError):
    """The schema registry refused a request or could not be reached."""
