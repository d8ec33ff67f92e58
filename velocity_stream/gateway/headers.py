"""Names of the Kafka headers the gateway writes; one place, so readers and docs agree.

Headers are informational: no decision of the gateway ever reads one from an input (ownership
comes from the artifact's ``source_system``). On accepted, approval and commit outputs the
gateway drops any input header that uses one of these names, so a producer cannot forge them.
"""

from __future__ import annotations

# every output
ROUTE = "velocity.route"
GATEWAY_VERSION = "velocity.gateway.version"
SOURCE_TOPIC = "velocity.source.topic"
SOURCE_PARTITION = "velocity.source.partition"
SOURCE_OFFSET = "velocity.source.offset"
# Same names as the producer's envelope hints (velocity_stream.kafka.headers): on gateway
# outputs they are replaced by the values read from the validated body, so there they are facts.
ARTIFACT_ID = "velocity.artifact_id"
FAMILY = "velocity.artifact_type"

# proposals on the approvals topic
APPROVAL_STATE = "velocity.approval.state"
APPROVAL_RULE = "velocity.approval.rule"
APPROVAL_STATE_PENDING = b"pending"
APPROVAL_STATE_AUTO_APPROVED = b"auto_approved"

# commit records
COMMIT_PROPOSAL_FAMILY = "velocity.commit.proposal.family"
COMMIT_DECISION_ID = "velocity.commit.decision.id"

# dead letters: the original headers stay, these are appended
DLQ_REASON = "velocity.dlq.reason"
DLQ_STAGE = "velocity.dlq.stage"
DLQ_MESSAGE = "velocity.dlq.message"
DLQ_FIELD = "velocity.dlq.field"
DLQ_SOURCE_TOPIC = "velocity.dlq.source.topic"
DLQ_SOURCE_PARTITION = "velocity.dlq.source.partition"
DLQ_SOURCE_OFFSET = "velocity.dlq.source.offset"
DLQ_TIME = "velocity.dlq.time"
# a dead letter written in place of an output the broker refused as too large
DLQ_REFUSED_TOPIC = "velocity.dlq.refused.topic"
DLQ_REFUSED_BYTES = "velocity.dlq.refused.bytes"
# a dead letter too large itself goes out without the input's value and headers (and a key
# above MAX_KEPT_KEY_BYTES): what was dropped, and how many bytes each part had
DLQ_DROPPED = "velocity.dlq.dropped"
DLQ_ORIGINAL_VALUE_BYTES = "velocity.dlq.original.value_bytes"
DLQ_ORIGINAL_KEY_BYTES = "velocity.dlq.original.key_bytes"
DLQ_ORIGINAL_HEADERS_BYTES = "velocity.dlq.original.headers_bytes"

# Names a producer may not set on anything the gateway forwards.
RESERVED = frozenset(
    {
        ROUTE,
        GATEWAY_VERSION,
        SOURCE_TOPIC,
        SOURCE_PARTITION,
        SOURCE_OFFSET,
        ARTIFACT_ID,
        FAMILY,
        APPROVAL_STATE,
        APPROVAL_RULE,
        COMMIT_PROPOSAL_FAMILY,
        COMMIT_DECISION_ID,
        DLQ_REASON,
        DLQ_STAGE,
        DLQ_MESSAGE,
        DLQ_FIELD,
        DLQ_SOURCE_TOPIC,
        DLQ_SOURCE_PARTITION,
        DLQ_SOURCE_OFFSET,
        DLQ_TIME,
        DLQ_REFUSED_TOPIC,
        DLQ_REFUSED_BYTES,
        DLQ_DROPPED,
        DLQ_ORIGINAL_VALUE_BYTES,
        DLQ_ORIGINAL_KEY_BYTES,
        DLQ_ORIGINAL_HEADERS_BYTES,
    }
)

# A dead letter's human message is for people; keep it short enough for any broker's limits.
MAX_MESSAGE_BYTES = 2000
# A dead letter stripped for size keeps the input's key only up to this many bytes.
MAX_KEPT_KEY_BYTES = 1024
