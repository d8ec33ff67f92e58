"""Every Kafka header name the project writes or reads, and the codecs for header values.

Two groups. The envelope hints a producer sets (``ArtifactProducer``) repeat a few envelope
fields so tools can route, filter and trace without decoding Avro: they are hints, the Avro
body is the record of truth. The gateway's own headers (routes, sources, approval state,
dead-letter reasons) are informational too: no decision of the gateway ever reads one from an
input (ownership comes from the artifact's ``source_system``). On accepted, approval and
commit outputs the gateway drops any input header that uses one of its names (``RESERVED``),
so a producer cannot forge them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

# Envelope hints: lower-case, prefixed so they never collide with other systems' headers.
ARTIFACT_TYPE = "velocity.artifact_type"
SCHEMA_VERSION = "velocity.schema_version"
ARTIFACT_ID = "velocity.artifact_id"
PRODUCER = "velocity.producer"
SOURCE_SYSTEM = "velocity.source_system"
TRACE_ID = "velocity.trace_id"

# The gateway's headers. On every output:
ROUTE = "velocity.route"
GATEWAY_VERSION = "velocity.gateway.version"
SOURCE_TOPIC = "velocity.source.topic"
SOURCE_PARTITION = "velocity.source.partition"
SOURCE_OFFSET = "velocity.source.offset"
# The producer's envelope hints ARTIFACT_ID and FAMILY (= ARTIFACT_TYPE): on gateway outputs
# they are replaced by the values read from the validated body, so there they are facts.
FAMILY = ARTIFACT_TYPE

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

# Message headers in the shape confluent-kafka's produce() accepts.
KafkaHeaders = list[tuple[str, str | bytes | None]]
HeaderInput = Mapping[str, str | bytes] | Sequence[tuple[str, str | bytes | None]]


def new_trace_id() -> str:
    """A fresh trace id (32 hex digits, the size of a W3C trace id).

    Trace ids need to be unique, not secret: the fast Mersenne Twister (seeded from the OS at
    start) is enough and several times cheaper per message than uuid4's os.urandom call.
    """
    return f"{random.getrandbits(128):032x}"


def to_kafka_headers(headers: HeaderInput | None) -> KafkaHeaders:
    """Normalize caller headers (a mapping or pairs, str or bytes values) to Kafka's form."""
    if not headers:
        return []
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    result: KafkaHeaders = []
    for name, value in pairs:
        if value is None:
            continue
        result.append((name, value.encode() if isinstance(value, str) else bytes(value)))
    return result


def header_map(headers: Sequence[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """Headers as text by name (last value wins; undecodable bytes are replaced, not raised)."""
    if not headers:
        return {}
    return {
        name: value.decode("utf-8", errors="replace")
        for name, value in headers
        if value is not None
    }
