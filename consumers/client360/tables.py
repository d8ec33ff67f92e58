"""The read model's tables (SQLAlchemy Core), named with an optional prefix.

Facts are keyed by what they describe and carry the stamp that won (see facts.py); the
dirty table lists the refs whose snapshots must be rebuilt; the snapshot table holds each
client's built snapshot as JSON plus the digest last published, which makes it the outbox of
the snapshot publisher too.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, String, Table, Text

from consumers.client360.snapshot import GRAPH_KEYS
from consumers.storage import (
    StoreTables,
    edges_table,
    merges_table,
    offsets_table,
    rejects_table,
    table_names,
)


@dataclass(frozen=True)
class Client360Tables(StoreTables):
    applied: Table
    rejects: Table
    clients: Table
    nodes: Table
    edges: Table
    merges: Table
    interactions: Table
    signals: Table
    snapshots: Table
    sections: Table
    dirty: Table


def client360_tables(prefix: str = "") -> Client360Tables:
    md, name = table_names(prefix, "c360")
    return Client360Tables(
        metadata=md,
        offsets=offsets_table(md, name("offsets")),
        # One row per event applied: its artifact id.
        applied=Table(
            name("applied"),
            md,
            Column("event_id", String, primary_key=True),
            Column("family", String, nullable=False),
        ),
        # Records that could not be read; kept so a rebuild reports the same ones.
        rejects=rejects_table(md, name("rejects")),
        clients=Table(name("clients"), md, Column("client_ref", String, primary_key=True)),
        # One row per node; ``attributes`` is a JSON object name -> [value or null, stamp,
        # source ref], merged attribute by attribute, newest stamp first (fact_writer.py).
        # ``shown``, ``shown_sources`` and ``latest`` are derived from it (and the stamps) when
        # the row is written, so a refresh reads a never-merged node without re-deriving it.
        nodes=Table(
            name("nodes"),
            md,
            Column("node_ref", String, primary_key=True),
            Column("node_type", String),
            Column("type_stamp", String),
            Column("live_stamp", String),
            Column("live_source", String),
            Column("dead_stamp", String),
            Column("attributes", Text, nullable=False),
            Column("shown", Text, nullable=False),  # JSON object name -> current value
            Column("shown_sources", Text, nullable=False),  # JSON array of source refs
            Column("latest", String),  # the newest stamp of any fact on the node
        ),
        edges=edges_table(
            md,
            name("edges"),
            Column("attributes", Text),  # canonical JSON object of the latest live assertion
            Column("source_ref", String),
            Column("live_stamp", String),
            Column("dead_stamp", String),
        ),
        merges=merges_table(
            md,
            name("merges"),
            Column("stamp", String, nullable=False),
            Column("source_ref", String, nullable=False),
            Index(f"ix_{name('merges')}_into", "into_ref"),
        ),
        interactions=Table(
            name("interactions"),
            md,
            Column("client_ref", String, primary_key=True),
            Column("bundle_ref", String, primary_key=True),
            Column("channel", String, nullable=False),
            Column("occurred_us", BigInteger, nullable=False),
            Column("summary", Text),
            Column("stamp", String, nullable=False),
        ),
        signals=Table(
            name("signals"),
            md,
            Column("client_ref", String, primary_key=True),
            Column("signal_ref", String, primary_key=True),
            Column("score_type", String, nullable=False),
            Column("value", Float(precision=53), nullable=False),
            Column("window_end_us", BigInteger, nullable=False),
            Column("evidence_refs", Text, nullable=False),  # canonical JSON array
            Column("operator_only", Boolean, nullable=False),
            Column("stamp", String, nullable=False),
        ),
        snapshots=Table(
            name("snapshots"),
            md,
            Column("client_ref", String, primary_key=True),
            Column("artifact_id", String, nullable=False),
            Column("digest", String(64), nullable=False),
            Column("as_of_us", BigInteger, nullable=False),
            Column("body", Text, nullable=False),
            # The digest last published to Kafka; differs from digest while publication is due.
            Column("published_digest", String(64)),
        ),
        # Each built client's graph sections (snapshot.GraphSections), the JSON of each
        # section as it goes into the snapshot: a client whose graph has not changed since is
        # finished from them and its activity.
        sections=Table(
            name("sections"),
            md,
            Column("client_ref", String, primary_key=True),
            *(Column(key, Text, nullable=False) for key in GRAPH_KEYS),
            Column("merged", Text),  # the duplicate-contact risk flag, if raised
            Column("sources", Text, nullable=False),  # canonical JSON array
            Column("latest_us", BigInteger, nullable=False),
        ),
        # The refs each applied batch touched, until a refresh handles them: a JSON object
        # {"graph": [...], "activity": [...]} (store.py); a plain JSON array, as older
        # versions wrote, counts as graph refs.
        dirty=Table(
            name("dirty"),
            md,
            Column("batch", Integer, primary_key=True, autoincrement=True),
            Column("refs", Text, nullable=False),
        ),
    )
