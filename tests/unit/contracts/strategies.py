"""Hypothesis strategies that build valid artifacts of every family, as plain data.

They vary what the contract leaves free (text, refs, numbers, time zones, collection sizes)
and respect what it fixes (rules, enums, hashes), so every drawn value must validate.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from velocity_stream.contracts.imports import row_content_sha256

Data = dict[str, Any]

# Any UTF-8 text but U+0000, which no contract string may hold (docs/reason-codes.md).
CHARS = st.characters(codec="utf-8", exclude_characters="\x00")
TEXT = st.text(CHARS, max_size=30)
WORD = st.text(CHARS, min_size=1, max_size=20)
REF = st.from_regex(r"[a-z]{2,10}:[a-z0-9-]{1,16}", fullmatch=True)
REFS = st.lists(REF, max_size=4).map(tuple)
SOME_REFS = st.lists(REF, min_size=1, max_size=4).map(tuple)
ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
)
# Avro timestamp-millis keeps milliseconds: generate nothing finer.
MOMENTS = st.builds(
    lambda moment, zone: (
        moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        .replace(tzinfo=UTC)
        .astimezone(zone)
    ),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),
    ZONES,
)
FINITE = st.floats(allow_nan=False, allow_infinity=False)
UNIT = st.floats(min_value=0.0, max_value=1.0)
LONG = st.integers(min_value=-(2**63), max_value=2**63 - 1)
STRING_MAP = st.dictionaries(WORD, TEXT, max_size=5)


@st.composite
def envelope(draw: st.DrawFn, family: str, origins: tuple[str, ...] | None = None) -> Data:
    origin = draw(st.sampled_from(origins or ("UPLOAD", "AI", "HUMAN", "SYSTEM", "DERIVED")))
    inferred = origin in ("AI", "DERIVED")
    return {
        "artifact_id": draw(REF),
        "artifact_type": family,
        "source_system": draw(WORD),
        "created_at": draw(MOMENTS),
        "created_by": draw(WORD),
        "confidence": draw(UNIT),
        "provenance": {
            "origin": origin,
            "source_refs": draw(SOME_REFS if inferred else REFS),
            "method": draw(st.none() | TEXT),
            "model": draw(st.none() | TEXT),
        },
    }


@st.composite
def raw_import_batch(draw: st.DrawFn) -> Data:
    return draw(envelope("RawImportBatch")) | {
        "batch_id": draw(REF),
        "uploaded_filename": draw(WORD),
        "mime_type": draw(st.sampled_from(["text/csv", "application/vnd.ms-excel"])),
        "storage_ref": draw(WORD),
        "row_count": draw(st.integers(min_value=0, max_value=2**63 - 1)),
        "uploaded_by": draw(WORD),
        "content_sha256": draw(st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
    }


@st.composite
def import_row_record(draw: st.DrawFn) -> Data:
    values = draw(STRING_MAP)
    return draw(envelope("ImportRowRecord")) | {
        "row_id": draw(REF),
        "batch_id": draw(REF),
        "row_number": draw(st.integers(min_value=1, max_value=2**63 - 1)),
        "raw_values": values,
        "content_sha256": row_content_sha256(values),
    }


@st.composite
def _accounted_columns(draw: st.DrawFn) -> tuple[list[str], list[int]]:
    """Unique columns, each given a place: 0 mapped, 1 ignored, 2 unresolved."""
    columns = draw(st.lists(WORD, unique=True, max_size=8))
    places = draw(st.lists(st.integers(0, 2), min_size=len(columns), max_size=len(columns)))
    return columns, places


# 1.x targets are free text; most follow the entity.field convention, some do not.
V1_TARGETS = st.one_of(
    st.from_regex(r"(person|organization|opportunity|task)\.[a-z_]{1,10}", fullmatch=True), WORD
)


@st.composite
def import_mapping_manifest_v1(draw: st.DrawFn) -> Data:
    columns, places = draw(_accounted_columns())
    mapped = [c for c, p in zip(columns, places, strict=True) if p == 0]
    return draw(envelope("ImportMappingManifest")) | {
        "schema_version": "1.0.0",
        "manifest_id": draw(REF),
        "batch_id": draw(REF),
        "source_profile": draw(WORD),
        "source_columns": columns,
        "column_mappings": [
            {
                "source_column": c,
                "target_field": draw(V1_TARGETS),
                "transform": draw(st.none() | WORD),
            }
            for c in mapped
        ],
        "ignored_columns": [c for c, p in zip(columns, places, strict=True) if p == 1],
        "unmapped_columns": [c for c, p in zip(columns, places, strict=True) if p == 2],
        "resolver_notes": [
            {"column": draw(st.none() | st.sampled_from(columns or [None])), "note": draw(WORD)}
            for _ in range(draw(st.integers(0, 3)))
        ],
    }


ENTITY_TYPES = st.sampled_from(
    ["PERSON", "ORGANIZATION", "ACCOUNT", "OPPORTUNITY", "PROPERTY", "TASK"]
)
TARGETS = st.fixed_dictionaries(
    {
        "entity_type": ENTITY_TYPES,
        "field_path": st.from_regex(
            r"[a-z_][a-z0-9_]{0,8}(\.[a-z_][a-z0-9_]{0,8}){0,2}", fullmatch=True
        ),
    }
)


@st.composite
def _mapping_v2(draw: st.DrawFn, column: str) -> Data:
    kind = draw(st.sampled_from(["DIRECT", "NORMALIZED", "TRANSFORMED"]))
    return {
        "source_column": column,
        "target": draw(TARGETS),
        "mapping_kind": kind,
        "transform": None if kind == "DIRECT" else draw(WORD),
        "confidence": draw(UNIT),
    }


@st.composite
def import_mapping_manifest(draw: st.DrawFn) -> Data:
    columns, places = draw(_accounted_columns())
    placed = list(zip(columns, places, strict=True))
    note = st.fixed_dictionaries(
        {
            "column": st.none() | st.sampled_from(columns or [None]),
            "kind": st.sampled_from(
                ["AMBIGUOUS", "LOW_CONFIDENCE", "TYPE_MISMATCH", "UPGRADED", "INFO"]
            ),
            "note": WORD,
            "candidate_fields": st.lists(TARGETS, max_size=2),
        }
    )
    return draw(envelope("ImportMappingManifest")) | {
        "schema_version": "2.0.0",
        "manifest_id": draw(REF),
        "batch_id": draw(REF),
        "source_profile": draw(WORD),
        "source_columns": columns,
        "column_mappings": [draw(_mapping_v2(c)) for c, p in placed if p == 0],
        "ignored_columns": [c for c, p in placed if p == 1],
        "unmapped_columns": [c for c, p in placed if p == 2],
        "resolver_notes": draw(st.lists(note, max_size=3)),
    }


@st.composite
def normalized_entity_proposal(draw: st.DrawFn) -> Data:
    candidates = draw(REFS)
    return draw(envelope("NormalizedEntityProposal")) | {
        "proposal_id": draw(REF),
        "batch_id": draw(REF),
        "entity_type": draw(ENTITY_TYPES),
        "entity_ref": draw(REF),
        "canonical_payload": draw(STRING_MAP),
        "merge_candidate_refs": candidates,
        "review_required": True if candidates else draw(st.booleans()),
    }


EDGES = st.fixed_dictionaries({"from_ref": REF, "to_ref": REF, "relation": WORD})


@st.composite
def _graph_operation(draw: st.DrawFn) -> Data:
    kind = draw(
        st.sampled_from(["UPSERT_NODE", "UPSERT_EDGE", "MERGE_NODES", "DELETE_NODE", "DELETE_EDGE"])
    )
    if kind == "UPSERT_NODE":
        return {
            "op": kind,
            "node_ref": draw(REF),
            "node_type": draw(WORD),
            "attributes": draw(STRING_MAP),
        }
    if kind == "UPSERT_EDGE":
        return {"op": kind, "edge": draw(EDGES), "attributes": draw(STRING_MAP)}
    if kind == "MERGE_NODES":
        survivor = draw(REF)
        merged = draw(
            st.lists(REF.filter(lambda r: r != survivor), min_size=1, max_size=3, unique=True)
        )
        return {"op": kind, "node_ref": survivor, "merged_refs": merged}
    if kind == "DELETE_NODE":
        return {"op": kind, "node_ref": draw(REF)}
    return {"op": kind, "edge": draw(EDGES)}


@st.composite
def client_graph_delta(draw: st.DrawFn) -> Data:
    operations = draw(st.lists(_graph_operation(), min_size=1, max_size=5))
    destructive = any(o["op"] in ("MERGE_NODES", "DELETE_NODE", "DELETE_EDGE") for o in operations)
    return draw(envelope("ClientGraphDelta")) | {
        "delta_id": draw(REF),
        "operations": operations,
        "proposal_ref": draw(st.none() | REF),
        "decision_ref": draw(REF) if destructive else draw(st.none() | REF),
    }


@st.composite
def applied_graph_change(draw: st.DrawFn) -> Data:
    change_id = draw(REF)
    return draw(envelope("AppliedGraphChange", ("SYSTEM",))) | {
        "artifact_id": f"applied:{change_id}",
        "change_id": change_id,
        "operations": draw(st.lists(_graph_operation(), min_size=1, max_size=5)),
        "proposal_ref": draw(st.none() | REF),
        "decision_ref": draw(st.none() | REF),
    }


@st.composite
def _coordinates(draw: st.DrawFn) -> Data:
    return {
        "topic": draw(REF),
        "partition": draw(st.integers(0, 1000)),
        "offset": draw(st.integers(0, 2**40)),
    }


@st.composite
def dlq_replay_audit(draw: st.DrawFn) -> Data:
    dead = draw(_coordinates())
    ref = f"{dead['topic']}:{dead['partition']}:{dead['offset']}"
    replay_id = draw(REF)
    return draw(envelope("DlqReplayAudit", ("HUMAN",))) | {
        "artifact_id": f"replay:{replay_id}:{ref}",
        "dead_letter_ref": ref,
        "replay_id": replay_id,
        "operator": draw(REF),
        "replayed_at": draw(MOMENTS),
        "dead_letter": dead,
        "reason": draw(REF),
        "family": draw(st.none() | REF),
        "replayed_artifact_id": draw(st.none() | REF),
        "source": draw(st.none() | _coordinates()),
        "target": draw(_coordinates()),
        "forced": draw(st.booleans()),
        "filter": draw(TEXT),
        "host": draw(REF),
        "tool_version": draw(REF),
    }


@st.composite
def interaction_bundle(draw: st.DrawFn) -> Data:
    summary = draw(st.none() | TEXT)
    attachment = st.fixed_dictionaries(
        {"ref": REF, "media_type": WORD, "filename": st.none() | WORD}
    )
    return draw(envelope("InteractionBundle")) | {
        "bundle_id": draw(REF),
        "client_ref": draw(REF),
        "channel": draw(
            st.sampled_from(["EMAIL", "CALL", "SMS", "CHAT", "MEETING", "VISIT", "OTHER"])
        ),
        "event_refs": draw(SOME_REFS if summary is not None else REFS),
        "attachments": draw(st.lists(attachment, max_size=3)),
        "summary": summary,
        "thread_ref": draw(st.none() | REF),
    }


@st.composite
def transcript_bundle(draw: st.DrawFn) -> Data:
    duration = draw(st.integers(min_value=1, max_value=10**10))
    segments = []
    for _ in range(draw(st.integers(0, 6))):
        start = draw(st.integers(0, duration - 1))
        end = draw(st.integers(start + 1, duration))
        segments.append(
            {"speaker": draw(WORD), "start_ms": start, "end_ms": end, "text": draw(TEXT)}
        )
    segments.sort(key=lambda s: s["start_ms"])
    return draw(envelope("TranscriptBundle")) | {
        "transcript_id": draw(REF),
        "interaction_ref": draw(REF),
        "media_ref": draw(REF),
        "language": draw(st.sampled_from(["en", "en-US", "bn-IN", "hi", "zh-Hant-TW", "es-419"])),
        "duration_ms": duration,
        "text": draw(TEXT),
        "speaker_segments": segments,
    }


@st.composite
def qd_signal_bundle(draw: st.DrawFn) -> Data:
    start = draw(MOMENTS)
    evidence = draw(REFS)
    operator = st.fixed_dictionaries({"operator_ref": REF, "note": WORD})
    return draw(envelope("QdSignalBundle")) | {
        "signal_id": draw(REF),
        "client_ref": draw(REF),
        "source_ref": draw(REF),
        "score_type": draw(WORD),
        "value": draw(FINITE),
        "time_window": {
            "start": start,
            "end": start
            + draw(st.timedeltas(timedelta(milliseconds=1), timedelta(days=400)))
            // timedelta(milliseconds=1)
            * timedelta(milliseconds=1),
        },
        "supporting_evidence_refs": evidence,
        "operator_input": draw(operator) if not evidence else draw(st.none() | operator),
    }


@st.composite
def oracle_writeback_proposal(draw: st.DrawFn) -> Data:
    operation = draw(st.sampled_from(["CREATE", "UPDATE", "MERGE", "DELETE"]))
    fields = draw(
        st.lists(WORD, unique=True, min_size=1 if operation == "UPDATE" else 0, max_size=4)
    )
    changes = [
        {
            "field": f,
            "from_value": None if operation == "CREATE" else draw(st.none() | TEXT),
            "to_value": draw(st.none() | TEXT),
        }
        for f in (fields if operation != "DELETE" else [])
    ]
    return draw(envelope("OracleWritebackProposal", ("AI",))) | {
        "proposal_id": draw(REF),
        "target_domain": draw(
            st.sampled_from(["CLIENT", "OPPORTUNITY", "PROPERTY", "TASK", "INTERACTION"])
        ),
        "target_entity_ref": draw(REF),
        "proposed_change": {
            "operation": operation,
            "field_changes": changes,
            "merge_refs": draw(SOME_REFS) if operation == "MERGE" else (),
        },
        "reasoning_summary": draw(WORD),
        "evidence_refs": draw(SOME_REFS),
        "approval_required": True,
    }


@st.composite
def approval_decision(draw: st.DrawFn) -> Data:
    decision = draw(st.sampled_from(["APPROVED", "REJECTED"]))
    notes = draw(WORD.filter(str.strip) if decision == "REJECTED" else TEXT)
    # A person decides with HUMAN provenance and names the proposal bytes; a rule with SYSTEM.
    person = draw(st.booleans())
    reviewer = ("human:" if person else "rule:") + draw(WORD)
    digest = st.binary(max_size=64).map(lambda b: hashlib.sha256(b).hexdigest())
    envelope_data = draw(envelope("ApprovalDecision", ("HUMAN",) if person else ("SYSTEM",)))
    return envelope_data | {
        "created_by": reviewer,
        "decision_id": draw(REF),
        "proposal_ref": draw(REF),
        "proposal_family": draw(
            st.sampled_from(["NormalizedEntityProposal", "OracleWritebackProposal"])
        ),
        "reviewer_ref": reviewer,
        "decision": decision,
        "decision_notes": notes,
        "decided_at": draw(MOMENTS),
        "proposal_digest": draw(digest if person else st.none() | digest),
    }


@st.composite
def commit_record(draw: st.DrawFn) -> Data:
    decision_id = draw(REF)
    reviewer = draw(st.sampled_from(["human:", "rule:"])) + draw(WORD)
    return draw(envelope("CommitRecord", ("SYSTEM",))) | {
        "artifact_id": f"commit:{decision_id}",
        "proposal_id": draw(REF),
        "proposal_family": draw(
            st.sampled_from(["NormalizedEntityProposal", "OracleWritebackProposal"])
        ),
        "proposal_topic": draw(REF),
        "proposal": draw(st.binary(min_size=1, max_size=200)),
        "decision_id": decision_id,
        "reviewer": reviewer,
        "decided_at": draw(MOMENTS),
    }


@st.composite
def client360_snapshot(draw: st.DrawFn) -> Data:
    def many(strategy: st.SearchStrategy[Data]) -> list[Data]:
        return draw(st.lists(strategy, max_size=3))

    fixed = st.fixed_dictionaries
    return draw(envelope("Client360Snapshot", ("DERIVED",))) | {
        "client_ref": draw(REF),
        "as_of": draw(MOMENTS),
        "identity": draw(
            fixed({"display_name": WORD, "emails": REFS, "phones": REFS, "entity_refs": REFS})
        ),
        "account_links": many(fixed({"system": WORD, "external_ref": WORD})),
        "active_opportunities": many(
            fixed(
                {"opportunity_ref": REF, "title": TEXT, "stage": TEXT, "amount": st.none() | FINITE}
            )
        ),
        "recent_interactions": many(
            fixed(
                {
                    "bundle_ref": REF,
                    "channel": WORD,
                    "occurred_at": MOMENTS,
                    "summary": st.none() | TEXT,
                }
            )
        ),
        "property_interests": many(
            fixed({"property_ref": REF, "interest_level": WORD, "note": st.none() | TEXT})
        ),
        "tasks": many(
            fixed({"task_ref": REF, "title": TEXT, "status": WORD, "due_at": st.none() | MOMENTS})
        ),
        "qd_overview": many(
            fixed({"score_type": WORD, "value": FINITE, "window_end": MOMENTS, "signal_ref": REF})
        ),
        "risk_flags": many(
            fixed(
                {
                    "code": WORD,
                    "severity": st.sampled_from(["LOW", "MEDIUM", "HIGH"]),
                    "evidence_refs": REFS,
                }
            )
        ),
    }


# (family, major) -> strategy of valid artifact data
STRATEGIES: dict[tuple[str, int], st.SearchStrategy[Data]] = {
    ("RawImportBatch", 1): raw_import_batch(),
    ("ImportRowRecord", 1): import_row_record(),
    ("ImportMappingManifest", 1): import_mapping_manifest_v1(),
    ("ImportMappingManifest", 2): import_mapping_manifest(),
    ("NormalizedEntityProposal", 1): normalized_entity_proposal(),
    ("ClientGraphDelta", 1): client_graph_delta(),
    ("InteractionBundle", 1): interaction_bundle(),
    ("TranscriptBundle", 1): transcript_bundle(),
    ("QdSignalBundle", 1): qd_signal_bundle(),
    ("OracleWritebackProposal", 1): oracle_writeback_proposal(),
    ("ApprovalDecision", 1): approval_decision(),
    ("CommitRecord", 1): commit_record(),
    ("AppliedGraphChange", 1): applied_graph_change(),
    ("DlqReplayAudit", 1): dlq_replay_audit(),
    ("Client360Snapshot", 1): client360_snapshot(),
}
