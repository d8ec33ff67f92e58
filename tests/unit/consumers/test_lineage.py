"""Lineage trails over stores seeded directly (the tables made by the *_tables() functions), on
SQLite and on PostgreSQL (127.0.0.1:5432, db ``test``, a table prefix of the test's own)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, Table, insert
from sqlalchemy.exc import OperationalError

from consumers.client360.tables import client360_tables
from consumers.committer.tables import graph_tables
from consumers.governance.tables import governance_tables
from consumers.imports.tables import import_tables
from consumers.intel.tables import intel_tables
from consumers.lineage import HopKind, Lineage, Trail, UnknownRef, render_text
from consumers.storage import open_engine

POSTGRES_URL = os.environ.get(
    "VELOCITY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
POS = {"topic": "t", "partition": 0, "offset": 0}
BATCH = "batch:hubspot-1"
ROW = f"{BATCH}/row/1"
MANIFEST = "manifest:hubspot-1"
PROPOSAL = "proposal:entity:priya-raman"
DECISION = "decision:priya-1"  # a commit record's change id is its decision id
PERSON = "person:priya-raman"
CLIENT = "client:acme-holdings"
BUNDLE = "bundle:acme-call-1"
TRANSCRIPT = "transcript:acme-call-1"
SIGNAL = "signal:acme-intent"
WRITEBACK = "proposal:writeback:acme-holdings"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[tuple[Engine, str]]:
    if request.param == "sqlite":
        made = open_engine("sqlite://")
    else:
        made = open_engine(POSTGRES_URL)
        try:
            made.connect().close()
        except OperationalError as error:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable: {error}", pytrace=False)
    prefix = f"lin{uuid.uuid4().hex[:8]}_"
    yield made, prefix
    for tables in _all_tables(prefix):
        tables.metadata.drop_all(made)
    made.dispose()


def _all_tables(prefix: str) -> list[Any]:
    return [
        graph_tables(prefix),
        client360_tables(prefix),
        governance_tables(prefix),
        import_tables(prefix),
        intel_tables(prefix),
    ]


def _put(engine: Engine, table: Table, *rows: dict[str, Any]) -> None:
    with engine.begin() as conn:
        for row in rows:  # one by one: the rows leave out different optional columns
            # Only the table's columns: a store may add columns (a seed names them all).
            conn.execute(insert(table), {k: v for k, v in row.items() if k in table.c})


def seed(engine: Engine, prefix: str, *, stores: tuple[str, ...] = ("all",)) -> None:
    """A lead imported from a CSV, proposed, approved by a person and committed; a call with a
    transcript, a signal on it, and a writeback proposal citing both."""
    g, c, gov, imp, intel = _all_tables(prefix)
    want = set(stores)

    def on(name: str) -> bool:
        return "all" in want or name in want

    if on("graph"):
        g.metadata.create_all(engine)
        _put(
            engine,
            g.changes,
            {
                "change_id": DECISION,
                "source_family": "CommitRecord",
                "proposal_ref": PROPOSAL,
                "decision_ref": DECISION,
                "outcome": "APPLIED",
                "operations": 2,
                "applied_at_ms": 1_770_000_000_000,
                **POS,
            },
        )
        _put(
            engine,
            g.nodes,
            {
                "node_ref": PERSON,
                "node_type": "PERSON",
                "status": "ACTIVE",
                "attributes": json.dumps({"email": "priya@acme.example", "given_name": "Priya"}),
                "created_by": DECISION,
                "updated_by": DECISION,
            },
        )
        _put(
            engine,
            g.edges,
            {
                "from_ref": CLIENT,
                "to_ref": PERSON,
                "relation": "CONTACT",
                "status": "ACTIVE",
                "attributes": "{}",
                "updated_by": DECISION,
            },
        )
    if on("c360"):
        c.metadata.create_all(engine)
        attributes = {
            "email": ["priya@acme.example", "s1", DECISION],
            "given_name": ["Priya", "s1", DECISION],
        }
        _put(
            engine,
            c.nodes,
            {
                "node_ref": PERSON,
                "node_type": "PERSON",
                "attributes": json.dumps(attributes),
                "shown": json.dumps({k: v[0] for k, v in attributes.items()}),
                "shown_sources": json.dumps([DECISION]),
            },
        )
        _put(engine, c.clients, {"client_ref": CLIENT})
    if on("gov"):
        gov.metadata.create_all(engine)
        _put(
            engine,
            gov.proposals,
            {
                "proposal_id": PROPOSAL,
                "family": "NormalizedEntityProposal",
                "artifact_id": f"art:{PROPOSAL}",
                "proposer": "import-normalizer",
                "operation": "CREATE",
                "target_ref": PERSON,
                "target_type": "PERSON",
                "batch_id": BATCH,
                "confidence": 0.82,
                "created_at_ms": 1_769_999_000_000,
                "evidence_refs": json.dumps([ROW, MANIFEST]),
                "body": "{}",
                "state": "COMMITTED",
                "state_at_ms": 1_770_000_000_000,
                **POS,
            },
            {
                "proposal_id": WRITEBACK,
                "family": "OracleWritebackProposal",
                "artifact_id": f"art:{WRITEBACK}",
                "proposer": "qd-engine",
                "operation": "UPDATE",
                "target_ref": "opportunity:acme-1",
                "target_type": "OPPORTUNITY",
                "batch_id": None,
                "confidence": 0.9,
                "created_at_ms": 1_769_999_500_000,
                "evidence_refs": json.dumps([BUNDLE, SIGNAL]),
                "body": "{}",
                "state": "PENDING",
                "state_at_ms": 1_769_999_500_000,
                **{**POS, "offset": 1},
            },
        )
        _put(
            engine,
            gov.states,
            {"proposal_id": PROPOSAL, "state": "PENDING", "cause_ref": "", "at_ms": 1},
            {"proposal_id": PROPOSAL, "state": "APPROVED", "cause_ref": DECISION, "at_ms": 2},
            {"proposal_id": PROPOSAL, "state": "COMMITTED", "cause_ref": DECISION, "at_ms": 3},
        )
        _put(
            engine,
            gov.decisions,
            {
                "decision_id": DECISION,
                "proposal_id": PROPOSAL,
                "proposal_family": "NormalizedEntityProposal",
                "artifact_id": f"art:{DECISION}",
                "reviewer": "human:sourik",
                "rule": None,
                "outcome": "APPROVED",
                "notes": "same person as the CRM contact",
                "decided_at_ms": 1_769_999_900_000,
                **POS,
            },
        )
        _put(
            engine,
            gov.commits,
            {
                "change_id": DECISION,
                "proposal_id": PROPOSAL,
                "decision_id": DECISION,
                "outcome": "APPLIED",
                "at_ms": 1_770_000_000_000,
                **POS,
            },
        )
    if on("imports"):
        imp.metadata.create_all(engine)
        _put(
            engine,
            imp.batches,
            {
                "batch_id": BATCH,
                "artifact_id": f"art:{BATCH}",
                "source_system": "hubspot",
                "created_at_ms": 1_769_990_000_000,
                "uploaded_filename": "hubspot-contacts-export.csv",
                "mime_type": "text/csv",
                "storage_ref": "s3://imports/1.csv",
                "row_count": 1,
                "uploaded_by": "human:ops",
                "content_sha256": "a" * 64,
                **POS,
            },
        )
        _put(
            engine,
            imp.rows,
            {
                "row_id": ROW,
                "batch_id": BATCH,
                "row_number": 1,
                "content_sha256": "b" * 64,
                "artifact_id": f"art:{ROW}",
                "source_system": "hubspot",
                "created_at_ms": 1_769_990_000_001,
                "raw_values": json.dumps({"Email": "Priya@Acme.example", "Notes": "met at a fair"}),
                **POS,
            },
        )
        _put(
            engine,
            imp.manifests,
            {
                "manifest_id": MANIFEST,
                "batch_id": BATCH,
                "artifact_id": f"art:{MANIFEST}",
                "source_system": "hubspot",
                "created_at_ms": 1_769_990_000_002,
                "source_profile": "hubspot-contacts",
                "schema_version": "1.0.0",
                "notes": "[]",
                **POS,
            },
        )
        _put(
            engine,
            imp.manifest_columns,
            {
                "manifest_id": MANIFEST,
                "source_column": "Email",
                "batch_id": BATCH,
                "fate": "MAPPED",
                "field_path": "email",
            },
            {
                "manifest_id": MANIFEST,
                "source_column": "Notes",
                "batch_id": BATCH,
                "fate": "UNRESOLVED",
            },
        )
    if on("intel"):
        intel.metadata.create_all(engine)
        _put(
            engine,
            intel.interactions,
            {
                "bundle_id": BUNDLE,
                "artifact_id": f"art:{BUNDLE}",
                "client_ref": CLIENT,
                "channel": "CALL",
                "occurred_at_ms": 1_769_000_000_000,
                "summary": "asked about a 3BHK",
                "event_refs": "[]",
                "attachments": "[]",
                "source_system": "dialer",
                "stamp": "x",
            },
        )
        _put(
            engine,
            intel.transcripts,
            {
                "transcript_id": TRANSCRIPT,
                "artifact_id": f"art:{TRANSCRIPT}",
                "interaction_ref": BUNDLE,
                "media_ref": "media:1",
                "language": "en",
                "duration_ms": 60_000,
                "text": "hello",
                "created_at_ms": 1_769_000_100_000,
                "source_system": "asr",
                "stamp": "x",
            },
        )
        _put(
            engine,
            intel.segments,
            {
                "transcript_id": TRANSCRIPT,
                "seq": 0,
                "speaker": "agent",
                "start_ms": 0,
                "end_ms": 1000,
                "text": "hello",
            },
            {
                "transcript_id": TRANSCRIPT,
                "seq": 1,
                "speaker": "client",
                "start_ms": 1000,
                "end_ms": 3000,
                "text": "a 3BHK near Salt Lake",
            },
        )
        _put(
            engine,
            intel.signals,
            {
                "signal_id": SIGNAL,
                "artifact_id": f"art:{SIGNAL}",
                "client_ref": CLIENT,
                "source_ref": BUNDLE,
                "score_type": "purchase_intent",
                "value": 0.8,
                "window_start_ms": 0,
                "window_end_ms": 1,
                "created_at_ms": 2,
                "source_system": "qd-engine",
                "stamp": "x",
            },
        )
        _put(engine, intel.evidence, {"signal_id": SIGNAL, "ref": BUNDLE})


def hop(trail: Trail, kind: HopKind, ref: str) -> Any:
    found = [h for h in trail.hops if h.kind is kind and h.ref == ref]
    assert found, f"no {kind} {ref} in {[h.id for h in trail.hops]}"
    return found[0]


def test_a_client_field_leads_back_to_the_raw_import_row(engine):
    made, prefix = engine
    seed(made, prefix)
    trail = Lineage(made, prefix).trace(CLIENT, field="email")
    start = trail.hops[0]
    assert (start.kind, start.ref, start.depth) == (HopKind.FIELD, f"{PERSON}#email", 0)
    assert start.facts["value"] == "priya@acme.example"
    change = hop(trail, HopKind.CHANGE, DECISION)
    assert change.via == start.id and change.relation == "written by"
    decision = hop(trail, HopKind.DECISION, DECISION)
    assert decision.facts["reviewer"] == "human:sourik" and decision.via == change.id
    proposal = hop(trail, HopKind.PROPOSAL, PROPOSAL)
    assert [i["state"] for i in proposal.items] == ["PENDING", "APPROVED", "COMMITTED"]
    row = hop(trail, HopKind.IMPORT_ROW, ROW)
    assert row.via == proposal.id and row.relation == "evidence"
    assert {"column": "Notes", "value": "met at a fair", "fate": "UNRESOLVED", "maps to": None} in (
        row.items
    )
    assert hop(trail, HopKind.IMPORT_BATCH, BATCH).facts["file"] == "hubspot-contacts-export.csv"
    assert hop(trail, HopKind.MANIFEST, MANIFEST).items[0]["fate"] == "MAPPED"
    # Upstream only from a field: the writeback proposal (no link to this field) is not in it.
    assert not [h for h in trail.hops if h.ref == WRITEBACK]
    # Plain data all the way.
    assert json.loads(json.dumps(trail.to_json()))["hops"][0]["kind"] == "field"
    assert "human:sourik" in render_text(trail)


def test_the_node_hash_field_form_and_an_artifact_id_name_the_same_things(engine):
    made, prefix = engine
    seed(made, prefix)
    lineage = Lineage(made, prefix)
    by_hash = lineage.trace(f"{PERSON}#email")
    assert by_hash.hops[0].kind is HopKind.FIELD
    by_artifact = lineage.trace(f"art:{PROPOSAL}")
    assert by_artifact.hops[0].kind is HopKind.PROPOSAL
    assert by_artifact.hops[0].ref == PROPOSAL
    applied = lineage.trace(f"applied:{DECISION}")
    assert applied.hops[0].kind is HopKind.CHANGE


def test_from_an_import_row_downstream_to_the_node_it_became(engine):
    made, prefix = engine
    seed(made, prefix)
    trail = Lineage(made, prefix).trace(ROW)
    assert trail.hops[0].kind is HopKind.IMPORT_ROW
    proposal = hop(trail, HopKind.PROPOSAL, PROPOSAL)
    assert proposal.relation == "evidence of"
    change = hop(trail, HopKind.CHANGE, DECISION)
    node = hop(trail, HopKind.NODE, PERSON)
    assert node.via == change.id and node.relation == "wrote"
    assert hop(trail, HopKind.IMPORT_BATCH, BATCH).relation == "row of"


def test_a_decision_id_that_is_also_a_change_starts_at_both(engine):
    made, prefix = engine
    seed(made, prefix)
    trail = Lineage(made, prefix).trace(DECISION)
    starts = {(h.kind, h.ref) for h in trail.hops if h.depth == 0}
    assert starts == {(HopKind.CHANGE, DECISION), (HopKind.DECISION, DECISION)}


def test_a_writeback_proposal_leads_to_the_call_its_transcript_and_the_signal(engine):
    made, prefix = engine
    seed(made, prefix)
    trail = Lineage(made, prefix).trace(WRITEBACK)
    interaction = hop(trail, HopKind.INTERACTION, BUNDLE)
    transcript = hop(trail, HopKind.TRANSCRIPT, TRANSCRIPT)
    assert transcript.via == interaction.id
    assert [s["speaker"] for s in transcript.items] == ["agent", "client"]
    assert hop(trail, HopKind.SIGNAL, SIGNAL).facts["score type"] == "purchase_intent"


def test_a_client_ref_shows_its_interactions_and_signals(engine):
    made, prefix = engine
    seed(made, prefix)
    trail = Lineage(made, prefix).trace(CLIENT)
    assert trail.hops[0].kind is HopKind.NODE
    assert hop(trail, HopKind.INTERACTION, BUNDLE).relation == "interaction"
    assert hop(trail, HopKind.SIGNAL, SIGNAL)


def test_stores_never_run_read_as_empty(engine):
    made, prefix = engine
    seed(made, prefix, stores=("graph", "c360"))
    trail = Lineage(made, prefix).trace(f"{PERSON}#email")
    change = hop(trail, HopKind.CHANGE, DECISION)
    assert change.facts["proposal"] == PROPOSAL
    # The governance store was never run: the proposal is a ref no store holds, not an error.
    missing = hop(trail, HopKind.MISSING, PROPOSAL)
    assert missing.facts["expected"] == "proposal"


def test_unknown_refs_and_fields_are_refused(engine):
    made, prefix = engine
    seed(made, prefix)
    lineage = Lineage(made, prefix)
    with pytest.raises(UnknownRef):
        lineage.trace("nothing:here")
    with pytest.raises(UnknownRef, match="no field 'shoe_size'"):
        lineage.trace(CLIENT, field="shoe_size")
    # Nothing at all in the database.
    with pytest.raises(UnknownRef):
        Lineage(made, "empty_").trace(PERSON)


def test_refs_with_like_wildcards_match_only_themselves(engine):
    made, prefix = engine
    seed(made, prefix)
    gov = governance_tables(prefix)
    with made.begin() as conn:
        conn.execute(
            insert(gov.proposals),
            {
                "proposal_id": "proposal:wild",
                "family": "NormalizedEntityProposal",
                "artifact_id": "art:wild",
                "proposer": "x",
                "operation": "CREATE",
                "target_ref": "person:x",
                "target_type": "PERSON",
                "confidence": 1.0,
                "created_at_ms": 1,
                "evidence_refs": json.dumps(["batch:hubspot_1/row/%"]),
                "body": "{}",
                "state": "PENDING",
                "state_at_ms": 1,
                **{**POS, "offset": 9},
            },
        )
    trail = Lineage(made, prefix).trace(ROW)
    assert not [h for h in trail.hops if h.ref == "proposal:wild"]


def test_rows_no_worker_would_write_do_not_break_a_trace(engine):
    """Stores are read, not trusted: JSON columns that are not JSON, JSON of the wrong shape,
    attribute triples cut short, refs that are numbers or objects."""
    made, prefix = engine
    seed(made, prefix)
    c, gov, imp = client360_tables(prefix), governance_tables(prefix), import_tables(prefix)
    with made.begin() as conn:
        conn.execute(
            c.nodes.update()
            .where(c.nodes.c.node_ref == PERSON)
            .values(
                attributes=json.dumps(
                    {
                        "email": ["priya@acme.example", "s1", DECISION],
                        "broken": ["only", "two"],
                        "nested": [{"a": 1}, "s1", {"not": "a ref"}],
                        "odd": "not a triple",
                    }
                )
            )
        )
        conn.execute(
            gov.proposals.update()
            .where(gov.proposals.c.proposal_id == PROPOSAL)
            .values(evidence_refs=json.dumps([ROW, 7, {"x": 1}, None, ""]))
        )
        conn.execute(
            gov.proposals.update()
            .where(gov.proposals.c.proposal_id == WRITEBACK)
            .values(evidence_refs='"a string, not a list"')
        )
        conn.execute(
            imp.rows.update().where(imp.rows.c.row_id == ROW).values(raw_values="{not json")
        )
    lineage = Lineage(made, prefix)
    trail = lineage.trace(PERSON)
    node = hop(trail, HopKind.NODE, PERSON)
    assert {item["field"] for item in node.items} == {"email", "nested"}
    assert json.loads(json.dumps(trail.to_json()))  # still plain data
    nested = lineage.trace(f"{PERSON}#nested")
    assert nested.hops[0].facts["value"] == '{"a": 1}'
    assert hop(nested, HopKind.MISSING, '{"not": "a ref"}')
    proposal_trail = lineage.trace(PROPOSAL)
    assert hop(proposal_trail, HopKind.IMPORT_ROW, ROW).items == ()
    assert hop(proposal_trail, HopKind.MISSING, "7")
    assert lineage.trace(WRITEBACK).hops[0].kind is HopKind.PROPOSAL
    with pytest.raises(UnknownRef):
        lineage.trace(f"{PERSON}#broken")
    render_text(proposal_trail)
