"""The intelligence store's tables (SQLAlchemy Core), named ``<prefix>intel_<table>``.

Interactions, transcripts with their speaker segments, and QD signals with their evidence refs,
each linked to its client (a transcript through the interaction it belongs to). Artifacts are
keyed by their domain id (bundle, transcript, signal id); a newer copy (later ``created_at``,
then artifact id) replaces an older one, so the result does not depend on arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Float, Integer, String, Table, Text

from consumers.storage import (
    StoreTables,
    offsets_table,
    rejects_table,
    table_names,
)


@dataclass(frozen=True)
class IntelTables(StoreTables):
    rejects: Table
    interactions: Table
    transcripts: Table
    segments: Table
    signals: Table
    evidence: Table


def intel_tables(prefix: str = "") -> IntelTables:
    md, name = table_names(prefix, "intel")
    return IntelTables(
        metadata=md,
        offsets=offsets_table(md, name("offsets")),
        rejects=rejects_table(md, name("rejects")),
        interactions=Table(
            name("interactions"),
            md,
            Column("bundle_id", String, primary_key=True),
            Column("artifact_id", String, nullable=False),
            Column("client_ref", String, nullable=False, index=True),
            Column("channel", String(16), nullable=False),
            Column("occurred_at_ms", BigInteger, nullable=False),  # created_at
            Column("summary", Text),
            Column("thread_ref", String),
            Column("event_refs", Text, nullable=False),  # JSON array
            Column("attachments", Text, nullable=False),  # JSON array of objects
            Column("source_system", String, nullable=False),
            Column("stamp", String, nullable=False),  # created_at + artifact id: newest wins
        ),
        transcripts=Table(
            name("transcripts"),
            md,
            Column("transcript_id", String, primary_key=True),
            Column("artifact_id", String, nullable=False),
            Column("interaction_ref", String, nullable=False, index=True),  # a bundle id
            Column("media_ref", String, nullable=False),
            Column("language", String, nullable=False),
            Column("duration_ms", BigInteger, nullable=False),
            Column("text", Text, nullable=False),
            Column("created_at_ms", BigInteger, nullable=False),
            Column("source_system", String, nullable=False),
            Column("stamp", String, nullable=False),
        ),
        segments=Table(
            name("transcript_segments"),
            md,
            Column("transcript_id", String, primary_key=True),
            Column("seq", Integer, primary_key=True),  # position in speaker_segments
            Column("speaker", String, nullable=False),
            Column("start_ms", BigInteger, nullable=False),
            Column("end_ms", BigInteger, nullable=False),
            Column("text", Text, nullable=False),
        ),
        signals=Table(
            name("qd_signals"),
            md,
            Column("signal_id", String, primary_key=True),
            Column("artifact_id", String, nullable=False),
            Column("client_ref", String, nullable=False, index=True),
            Column("source_ref", String, nullable=False),
            Column("score_type", String, nullable=False),
            Column("value", Float(precision=53), nullable=False),
            Column("window_start_ms", BigInteger, nullable=False),
            Column("window_end_ms", BigInteger, nullable=False),
            Column("operator_ref", String),  # set when an operator entered the score
            Column("created_at_ms", BigInteger, nullable=False),
            Column("source_system", String, nullable=False),
            Column("stamp", String, nullable=False),
        ),
        # A signal's supporting evidence refs, one row each, findable from the ref.
        evidence=Table(
            name("qd_signal_evidence"),
            md,
            Column("signal_id", String, primary_key=True),
            Column("ref", String, primary_key=True, index=True),
        ),
    )
