"""Time of a lineage trace (consumers/lineage) over populated stores, against its baseline: the
bare primary-key reads of the same rows, on one connection.

    .venv/bin/python bench/lineage.py [--leads 20000] [--traces 200] [--runs 3]
                                      [--store-url postgresql+psycopg://...]

Every lead is an import row, a proposal citing it, an auto-rule decision, the committer's
change, a graph node and its Client360 row, as the demo's leads are; one batch and manifest
hold all the rows. A trace is ``person:<n>#email`` for a random lead: field, change, decision,
proposal (with its states), row, batch, manifest, node; a row trace starts at an import row
and also goes downstream (proposal, decision, change, node). Prints p50 and p95 of each run,
the median over runs, the ratios trace/baseline of the medians and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from consumers.client360.tables import client360_tables
from consumers.committer.tables import graph_tables
from consumers.governance.tables import governance_tables
from consumers.imports.tables import import_tables
from consumers.intel.tables import intel_tables
from consumers.lineage import Lineage
from consumers.storage import open_engine

BATCH = "batch:bench"
MANIFEST = "manifest:bench"
POS = {"topic": "t", "partition": 0}
COLUMNS = ("First Name", "Last Name", "Email", "Phone", "Company", "Lead Status", "Notes")


def _rows(table: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = set(table.c.keys())
    return [{k: v for k, v in row.items() if k in names} for row in rows]


def populate(engine: Engine, prefix: str, leads: int) -> None:
    g, c, gov, imp, intel = (
        graph_tables(prefix),
        client360_tables(prefix),
        governance_tables(prefix),
        import_tables(prefix),
        intel_tables(prefix),
    )
    for tables in (g, c, gov, imp, intel):
        tables.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(imp.batches),
            _rows(
                imp.batches,
                [
                    {
                        "batch_id": BATCH,
                        "artifact_id": f"art:{BATCH}",
                        "source_system": "bench",
                        "created_at_ms": 1,
                        "uploaded_filename": "bench.csv",
                        "mime_type": "text/csv",
                        "storage_ref": "file:///bench.csv",
                        "row_count": leads,
                        "uploaded_by": "human:bench",
                        "content_sha256": "0" * 64,
                        "offset": 0,
                        **POS,
                    }
                ],
            ),
        )
        conn.execute(
            insert(imp.manifests),
            _rows(
                imp.manifests,
                [
                    {
                        "manifest_id": MANIFEST,
                        "batch_id": BATCH,
                        "artifact_id": f"art:{MANIFEST}",
                        "source_system": "bench",
                        "created_at_ms": 2,
                        "source_profile": "bench",
                        "schema_version": "1.0.0",
                        "notes": "[]",
                        "offset": 1,
                        **POS,
                    }
                ],
            ),
        )
        conn.execute(
            insert(imp.manifest_columns),
            [
                {
                    "manifest_id": MANIFEST,
                    "source_column": column,
                    "batch_id": BATCH,
                    "fate": "MAPPED",
                    "field_path": column.lower().replace(" ", "_"),
                }
                for column in COLUMNS
            ],
        )
        step = 5000
        for start in range(0, leads, step):
            numbers = range(start, min(start + step, leads))
            _lead_rows(conn, (g, c, gov, imp), numbers)


def _lead_rows(conn: Any, tables: tuple[Any, ...], numbers: range) -> None:
    g, c, gov, imp = tables
    rows, proposals, states, decisions, commits, changes, nodes, shown = ([] for _ in range(8))
    for n in numbers:
        row_id, proposal, decision = f"{BATCH}/row/{n}", f"proposal:entity:{n}", str(uuid.uuid4())
        person, email = f"person:{n}", f"lead{n}@bench.example"
        values = dict.fromkeys(COLUMNS, "x") | {"Email": email}
        rows.append(
            {
                "row_id": row_id,
                "batch_id": BATCH,
                "row_number": n,
                "content_sha256": "1" * 64,
                "artifact_id": f"art:{row_id}",
                "source_system": "bench",
                "created_at_ms": 3,
                "raw_values": json.dumps(values),
                "offset": 10 + n,
                **POS,
            }
        )
        proposals.append(
            {
                "proposal_id": proposal,
                "family": "NormalizedEntityProposal",
                "artifact_id": f"art:{proposal}",
                "proposer": "bench",
                "operation": "CREATE",
                "target_ref": person,
                "target_type": "PERSON",
                "batch_id": BATCH,
                "confidence": 0.95,
                "created_at_ms": 4,
                "evidence_refs": json.dumps([row_id, MANIFEST]),
                "body": "{}",
                "state": "COMMITTED",
                "state_at_ms": 6,
                "offset": n,
                **POS,
            }
        )
        states += [
            {"proposal_id": proposal, "state": "AUTO_APPROVED", "cause_ref": decision, "at_ms": 5},
            {"proposal_id": proposal, "state": "COMMITTED", "cause_ref": decision, "at_ms": 6},
        ]
        decisions.append(
            {
                "decision_id": decision,
                "proposal_id": proposal,
                "proposal_family": "NormalizedEntityProposal",
                "artifact_id": f"art:{decision}",
                "reviewer": "rule:low-risk-entity",
                "rule": "low-risk-entity",
                "outcome": "APPROVED",
                "notes": "",
                "decided_at_ms": 5,
                "offset": n,
                **POS,
            }
        )
        commits.append(
            {
                "change_id": decision,
                "proposal_id": proposal,
                "decision_id": decision,
                "outcome": "APPLIED",
                "at_ms": 6,
                "offset": n,
                **POS,
            }
        )
        changes.append(
            {
                "change_id": decision,
                "source_family": "CommitRecord",
                "proposal_ref": proposal,
                "decision_ref": decision,
                "outcome": "APPLIED",
                "operations": 1,
                "applied_at_ms": 6,
                "offset": n,
                **POS,
            }
        )
        nodes.append(
            {
                "node_ref": person,
                "node_type": "PERSON",
                "status": "ACTIVE",
                "attributes": json.dumps({"email": email}),
                "created_by": decision,
                "updated_by": decision,
            }
        )
        shown.append(
            {
                "node_ref": person,
                "node_type": "PERSON",
                "attributes": json.dumps({"email": [email, "s", decision]}),
                "shown": json.dumps({"email": email}),
                "shown_sources": json.dumps([decision]),
            }
        )
    for table, batch in (
        (imp.rows, rows),
        (gov.proposals, proposals),
        (gov.states, states),
        (gov.decisions, decisions),
        (gov.commits, commits),
        (g.changes, changes),
        (g.nodes, nodes),
        (c.nodes, shown),
    ):
        conn.execute(insert(table), _rows(table, batch))


def bare_reads(engine: Engine, prefix: str) -> Callable[[int], None]:
    """The trail's rows read by primary key (and the manifest's columns by batch)."""
    g, c, gov, imp = (
        graph_tables(prefix),
        client360_tables(prefix),
        governance_tables(prefix),
        import_tables(prefix),
    )

    def read(n: int) -> None:
        with engine.connect() as conn:
            one = conn.execute(select(c.nodes).where(c.nodes.c.node_ref == f"person:{n}")).one()
            change = json.loads(one.attributes)["email"][2]
            conn.execute(select(g.nodes).where(g.nodes.c.node_ref == f"person:{n}")).one()
            conn.execute(select(g.changes).where(g.changes.c.change_id == change)).one()
            conn.execute(select(gov.commits).where(gov.commits.c.change_id == change)).one()
            conn.execute(select(gov.decisions).where(gov.decisions.c.decision_id == change)).one()
            proposal = f"proposal:entity:{n}"
            conn.execute(select(gov.proposals).where(gov.proposals.c.proposal_id == proposal))
            conn.execute(select(gov.states).where(gov.states.c.proposal_id == proposal)).all()
            conn.execute(select(imp.rows).where(imp.rows.c.row_id == f"{BATCH}/row/{n}")).one()
            conn.execute(
                select(imp.manifest_columns).where(imp.manifest_columns.c.batch_id == BATCH)
            ).all()
            conn.execute(select(imp.batches).where(imp.batches.c.batch_id == BATCH)).one()
            conn.execute(select(imp.manifests).where(imp.manifests.c.manifest_id == MANIFEST))

    return read


def timed(action: Callable[[int], object], picks: list[int]) -> list[float]:
    times = []
    for n in picks:
        began = time.perf_counter()
        action(n)
        times.append((time.perf_counter() - began) * 1000)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--traces", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--store-url", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-lineage-")
    url = args.store_url or f"sqlite:///{Path(folder) / 'stores.db'}"
    prefix = f"bl{uuid.uuid4().hex[:6]}_"
    engine = open_engine(url)
    began = time.perf_counter()
    populate(engine, prefix, args.leads)
    print(f"{args.leads} leads in {engine.dialect.name} in {time.perf_counter() - began:.1f} s")
    lineage = Lineage(engine, prefix)
    trail = lineage.trace("person:0#email")
    print(f"a trail: {len(trail.hops)} hops: {', '.join(h.kind.value for h in trail.hops)}")
    bare = bare_reads(engine, prefix)
    rng = random.Random(16)
    medians: dict[str, list[float]] = {"trace": [], "bare reads": [], "row trace": []}
    for run in range(1, args.runs + 1):
        picks = [rng.randrange(args.leads) for _ in range(args.traces)]
        for name, action in (
            ("trace", lambda n: lineage.trace(f"person:{n}#email")),
            ("bare reads", bare),
            # From an import row: downstream too (the proposals citing it: a scan of their
            # evidence, then their decisions, changes and the nodes those wrote).
            ("row trace", lambda n: lineage.trace(f"{BATCH}/row/{n}")),
        ):
            times = timed(action, picks)
            medians[name].append(statistics.median(times))
            print(
                f"run {run} {name:10s} p50 {statistics.median(times):7.2f} ms"
                f"  p95 {p95(times):7.2f} ms"
            )
    trace, base, row = (statistics.median(medians[k]) for k in ("trace", "bare reads", "row trace"))
    print(
        f"median of run medians: trace {trace:.2f} ms, bare reads {base:.2f} ms, "
        f"ratio {trace / base:.1f}x (row trace {row:.2f} ms, {row / base:.1f}x); "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for tables in (
        graph_tables(prefix),
        client360_tables(prefix),
        governance_tables(prefix),
        import_tables(prefix),
        intel_tables(prefix),
    ):
        tables.metadata.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
