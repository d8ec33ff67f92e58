"""Governance store: records applied per second into SQLite and PostgreSQL, against plain
executemany of the same rows in the same run; bench/stores.py's measurement (its run_sink,
run_baseline and run_store_only, so the method is the same as every sink's) on a workload
bench/stores.py cannot express: proposals arrive on the approvals topic with the gateway's
headers, not as artifacts on an accepted topic.

Workload: ``--proposals`` writeback proposals, each as the gateway routes it (its approvals
record), a person's decision on the decision family's accepted topic and the committer's
applied record; in that order per proposal, or ``--shuffle``d (decisions and commits before
their proposals, across batches). The apply path includes the governance apply hook
(insert-if-absent rows, each touched proposal's state derived again from all its states).

Run from the repository root: ``python -m bench.governance_store [--proposals 3000]
[--runs 3] [--batch 1000] [--shuffle] [--postgres URL] [--no-sqlite]`` (``--postgres ''``
skips PostgreSQL).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import stores
from consumers.applied import applied_change
from velocity_stream.contracts import example, validate_artifact
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import Settings

NAME = "governance"
T0 = datetime(2026, 4, 18, 9, 30, tzinfo=UTC)
REVIEWER = "human:bench"


def _made(family: str, changes: dict[str, object]) -> Artifact:
    data = example(family).model_dump(mode="python")
    data.update(changes)
    return validate_artifact(type(example(family)), data)


def workload(
    catalog: Catalog, serde: AvroSerde, proposals: int, shuffle: bool
) -> list[InboundMessage]:
    approvals = catalog.approvals_topic(stores.PREFIX)
    source = catalog.family("OracleWritebackProposal").ingress_topic(stores.PREFIX).encode()
    decisions = catalog.family("ApprovalDecision").accepted_topic(stores.PREFIX)
    applied_topic = catalog.family("AppliedGraphChange").ingress_topic(stores.PREFIX)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--proposals", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--shuffle", action="store_true")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    catalog = load_catalog(Settings().schemas_dir)
    serde = AvroSerde(catalog, InMemorySchemaResolver(), stores.PREFIX)
    messages = workload(catalog, serde, args.proposals, args.shuffle)
    order = "shuffled" if args.shuffle else "proposal, decision, commit"
    print(
        f"governance: {len(messages)} records ({order}) for {args.proposals} proposals, "
        f"batches of {args.batch}, median of {args.runs} runs; load average {stores._load()}"
    )
    with tempfile.TemporaryDirectory() as folder:
        targets = [] if args.no_sqlite else [("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}")]
        if args.postgres:
            targets.append(("postgresql", args.postgres))
        for target, url in targets:
            rates, baselines, alone_rates, alone_ratios = [], [], [], []
            for _ in range(args.runs):
                rate, _rows = stores.run_sink(NAME, url, messages, catalog, serde, args.batch)
                rates.append(rate)
                baselines.append(
                    stores.run_baseline(NAME, url, messages, catalog, serde, args.batch)
                )
                alone, floor = stores.run_store_only(
                    NAME, url, messages, catalog, serde, args.batch
                )
                alone_rates.append(alone)
                alone_ratios.append(alone / floor)
            ratios = [r / b for r, b in zip(rates, baselines, strict=True)]
            print(
                f"  {target:<10} apply {statistics.median(rates):6.0f} records/s "
                f"(baseline executemany {statistics.median(baselines):6.0f} records/s); "
                f"ratio {statistics.median(ratios):.2f}x "
                f"(runs {', '.join(f'{r:.2f}' for r in ratios)}); "
                f"load average {stores._load()}\n"
                f"  {'':<10} writes alone {statistics.median(alone_rates):6.0f} records/s; "
                f"ratio {statistics.median(alone_ratios):.2f}x "
                f"(runs {', '.join(f'{r:.2f}' for r in alone_ratios)})"
            )


if __name__ == "__main__":
    main()
