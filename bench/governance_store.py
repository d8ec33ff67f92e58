"""Governance store: records applied per second into SQLite and PostgreSQL, against plain
executemany of the same rows in the same run.

Workload: ``--proposals`` writeback proposals, each as the gateway routes it (its approvals
record), a person's decision on the decision family's accepted topic and the committer's
applied record; in that order per proposal, or ``--shuffle``d (decisions and commits before
their proposals). Measured: the sink runner's batch path without the broker (decode with the
contract, map, the governance apply hook: insert-if-absent rows, each touched proposal's
state derived again from all its states, rejects and offsets, one transaction per batch).
Baseline, same run, same database: the same decode and mapping, then plain executemany
INSERTs of the same rows into copies of the tables without keys or indexes, one transaction
per batch: the floor of writing those rows at all. Figures are medians of ``--runs`` runs;
the ratio is the median of each run's rate over the baseline of the same run.

Run: ``python bench/governance_store.py [--proposals 3000] [--runs 3] [--batch 1000]
[--shuffle] [--cpu] [--postgres URL] [--no-sqlite]`` (``--postgres ''`` skips PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, MetaData, Table

from consumers.applied import applied_change
from consumers.governance.mapping import GovWrites
from consumers.governance.sink import governance_sink
from consumers.reading import ArtifactReader
from consumers.sink.runner import SinkOptions, SinkRunner
from consumers.sink.store import SinkStore
from consumers.storage import open_engine
from velocity_stream.contracts import example, validate_artifact
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import Settings

PREFIX = "bench"
# Wall time, or (``--cpu``) this process's CPU time, which a busy machine disturbs far less;
# with SQLite the database runs in this process too, with PostgreSQL it does not.
clock = time.perf_counter
T0 = datetime(2026, 4, 18, 9, 30, tzinfo=UTC)
REVIEWER = "human:bench"


def _made(family: str, changes: dict[str, object]) -> Artifact:
    data = example(family).model_dump(mode="python")
    data.update(changes)
    return validate_artifact(type(example(family)), data)


def workload(
    catalog: Catalog, serde: AvroSerde, proposals: int, shuffle: bool
) -> list[InboundMessage]:
    approvals = catalog.approvals_topic(PREFIX)
    source = catalog.family("OracleWritebackProposal").ingress_topic(PREFIX).encode()
    decisions = catalog.family("ApprovalDecision").accepted_topic(PREFIX)
    applied_topic = catalog.family("AppliedGraphChange").ingress_topic(PREFIX)
    triples: list[tuple[str, bytes, bytes, tuple[tuple[str, bytes], ...]]] = []
    for i in range(proposals):
        pid = f"proposal:bench:{i:06d}"
        at = T0 + timedelta(seconds=i)
        proposal = _made(
            "OracleWritebackProposal",
            {"artifact_id": f"art:owp:{i}", "proposal_id": pid, "created_at": at},
        )
        decision = _made(
            "ApprovalDecision",
            {
                "artifact_id": f"art:dec:{i}",
                "decision_id": f"decision:{i}",
                "proposal_ref": pid,
                "reviewer_ref": REVIEWER,
                "created_by": REVIEWER,
                "decided_at": at + timedelta(minutes=5),
                "created_at": at + timedelta(minutes=5),
            },
        )
        ops = [{"op": "UPSERT_NODE", "node_ref": f"opportunity:{i}", "node_type": "OPPORTUNITY"}]
        applied = applied_change(
            f"decision:{i}", pid, f"decision:{i}", ops, int(at.timestamp() * 1000) + 400_000
        )
        headers = ((h.SOURCE_TOPIC, source), (h.APPROVAL_STATE, h.APPROVAL_STATE_PENDING))
        triples += [
            (approvals, pid.encode(), serde.encode(proposal), headers),
            (decisions, pid.encode(), serde.encode(decision), ()),
            (applied_topic, applied.change_id.encode(), serde.encode(applied), ()),
        ]
    if shuffle:
        random.Random(7).shuffle(triples)
    return [
        InboundMessage(topic, 0, offset, key, value, headers, 1_000)
        for offset, (topic, key, value, headers) in enumerate(triples)
    ]


def run_store(
    url: str, messages: list[InboundMessage], catalog: Catalog, serde: AvroSerde, batch: int
) -> float:
    sink = governance_sink(f"b{uuid.uuid4().hex[:8]}_")
    engine = open_engine(url)
    store = SinkStore(engine, sink.tables, sink.apply)
    store.create()
    runner = SinkRunner(
        Settings(topic_prefix=PREFIX), catalog, serde, sink.mapper, store, SinkOptions(batch)
    )
    start = clock()
    for first in range(0, len(messages), batch):
        result = runner.handle(messages[first : first + batch])
        assert result.rejected == 0
    rate = len(messages) / (clock() - start)
    store.drop()
    engine.dispose()
    return rate


def run_baseline(
    url: str, messages: list[InboundMessage], catalog: Catalog, serde: AvroSerde, batch: int
) -> float:
    """The same decode and mapping, then plain executemany into keyless copies."""
    sink = governance_sink()
    mapper = sink.mapper
    reader = ArtifactReader(catalog, serde, PREFIX)
    engine = open_engine(url)
    md = MetaData()
    tag = uuid.uuid4().hex[:8]
    tables = sink.tables
    plain = {
        name: Table(
            f"b{tag}_{name}",
            md,
            *(Column(c.name, c.type) for c in getattr(tables, name).columns),
        )
        for name in ("proposals", "states", "decisions", "commits")
    }
    md.create_all(engine)
    start = clock()
    for first in range(0, len(messages), batch):
        found: list[GovWrites] = [
            mapper.rows(m, reader)
            for m in messages[first : first + batch]  # type: ignore[attr-defined]
        ]
        with engine.begin() as conn:
            for name, table in plain.items():
                rows = [r for w in found for r in getattr(w, name)]
                if rows:
                    conn.execute(table.insert(), rows)
    rate = len(messages) / (clock() - start)
    md.drop_all(engine)
    engine.dispose()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--proposals", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--shuffle", action="store_true")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--cpu", action="store_true", help="rates in process CPU time")
    args = parser.parse_args()
    global clock
    if args.cpu:
        clock = time.process_time
    catalog = load_catalog(Settings().schemas_dir)
    serde = AvroSerde(catalog, InMemorySchemaResolver(), PREFIX)
    messages = workload(catalog, serde, args.proposals, args.shuffle)
    order = "shuffled" if args.shuffle else "proposal, decision, commit"
    print(
        f"governance: {len(messages)} records ({order}) for {args.proposals} proposals, "
        f"batches of {args.batch}, median of {args.runs} runs, "
        f"{'CPU' if args.cpu else 'wall'} time, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory() as folder:
        targets = [] if args.no_sqlite else [("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}")]
        if args.postgres:
            targets.append(("postgresql", args.postgres))
        for name, url in targets:
            rates, baselines = [], []
            for _ in range(args.runs):
                rates.append(run_store(url, messages, catalog, serde, args.batch))
                baselines.append(run_baseline(url, messages, catalog, serde, args.batch))
            ratios = [r / b for r, b in zip(rates, baselines, strict=True)]
            print(
                f"{name:<10} apply {statistics.median(rates):6.0f} records/s "
                f"(baseline executemany {statistics.median(baselines):6.0f} records/s); "
                f"ratio {statistics.median(ratios):.2f}x "
                f"(runs {', '.join(f'{r:.2f}' for r in ratios)}); "
                f"load average {os.getloadavg()[0]:.2f}"
            )


if __name__ == "__main__":
    main()
