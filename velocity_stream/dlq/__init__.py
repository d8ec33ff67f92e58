"""Dead-letter tooling: read and filter the gateway's dead-letter topic, inspect, replay, audit.

Everything a replay does goes back through the gateway: records are republished to the ingress
topic they were refused on, never to an accepted topic, and every replay is audited on its own
topic. Imports the shared protocol (header names, the record type) and the Kafka reader; the CLI
imports this.
"""

from __future__ import annotations

from velocity_stream.dlq.audit import AuditLog, AuditRecord, audit_topic, audit_topic_spec
from velocity_stream.dlq.filters import DeadLetterFilter, format_time, parse_time, reason_matches
from velocity_stream.dlq.payload import DecodeAttempt, attempt_decode, hex_dump
from velocity_stream.dlq.progress import ProgressBar
from velocity_stream.dlq.reader import read_audit_log, read_dead_letters
from velocity_stream.dlq.records import (
    DeadLetter,
    original_headers,
    parse_dead_letter,
    replay_headers,
)
from velocity_stream.dlq.replay import (
    Replayed,
    Replayer,
    ReplayError,
    ReplayFailure,
    ReplayPlan,
    ReplayReport,
    Skipped,
    SkipReason,
    ensure_audit_topic,
    plan_replay,
)

__all__ = [
    "AuditLog",
    "AuditRecord",
    "DeadLetter",
    "DeadLetterFilter",
    "DecodeAttempt",
    "ProgressBar",
    "ReplayError",
    "ReplayFailure",
    "ReplayPlan",
    "ReplayReport",
    "Replayed",
    "Replayer",
    "SkipReason",
    "Skipped",
    "attempt_decode",
    "audit_topic",
    "audit_topic_spec",
    "ensure_audit_topic",
    "format_time",
    "hex_dump",
    "original_headers",
    "parse_dead_letter",
    "parse_time",
    "plan_replay",
    "read_audit_log",
    "read_dead_letters",
    "reason_matches",
    "replay_headers",
]
