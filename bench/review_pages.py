"""Page render times of the review app with a large queue and many dead letters: p50 and p95
of each page against its bare query (the fold's own answer the page is built from).

    .venv/bin/python bench/review_pages.py [--proposals 10000] [--dead-letters 100000] [--runs 60]

The target (issue 18) is a p95 under 200 ms per page with 10,000 pending proposals and
100,000 dead letters. The app is the real one (create_app) over in-memory folds, called
through FastAPI's test client with a login cookie, so a render includes routing, the
cookie check, the query, the template and the HTTP framing, not the network.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from fastapi.testclient import TestClient

from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.contracts.client360 import Client360Snapshot
from velocity_stream.review.app import ReviewServices, create_app
from velocity_stream.review.auth import ReviewerDirectory
from velocity_stream.review.clients import SnapshotFold
from velocity_stream.review.deadletters import DeadLetterEntry, DeadLetterLog
from velocity_stream.review.decisions import DecisionDesk
from velocity_stream.review.listing import QueueQuery
from velocity_stream.review.proposals import proposal_view
from velocity_stream.review.queue import ApprovalQueue, ProposalState
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR

NOW = datetime.now(UTC)


class NoPublisher:
    def publish(self, decision: object) -> None:
        raise RuntimeError("the bench decides nothing")


def build(proposals: int, dead_letters: int) -> tuple[ReviewServices, ApprovalQueue]:
    catalog = load_catalog(DEFAULT_SCHEMAS_DIR)
    queue = ApprovalQueue()
    kinds = ("OracleWritebackProposal", "NormalizedEntityProposal")
    artifacts = {family: example(family) for family in kinds}
    for n in range(proposals):
        family = kinds[n % 2]
        view = proposal_view(family, f"proposal:bench:{n:06d}", artifacts[family])
        fields = {name: getattr(view, name) for name in view.__slots__}
        fields.update(
            proposal_id=f"proposal:bench:{n:06d}",
            created_at=NOW - timedelta(minutes=n),
            confidence=(n % 100) / 100,
            created_by=f"ai:model-{n % 7}",
        )
        queue.add_proposal(type(view)(**fields), ProposalState.PENDING)
    log = DeadLetterLog()
    for n in range(dead_letters):
        log.add(
            DeadLetterEntry(
                f"decode.reason_{n % 12}",
                "decode",
                f"bench dead letter {n}",
                None,
                "velocity.bench.v1",
                n % 6,
                n,
                NOW,
                "InteractionBundle",
                f"art:bench:{n}",
                "bench",
                f"client:{n % 500}",
                512,
                n % 6,
                n,
            )
        )
    snapshots = SnapshotFold()
    snapshot = example("Client360Snapshot")
    assert isinstance(snapshot, Client360Snapshot)
    snapshots.add(snapshot)
    directory = ReviewerDirectory(
        {"bench": "human:sayan"}, catalog.gateway.reviewers, form_key=b"k" * 32
    )
    desk = DecisionDesk(catalog, queue, log, NoPublisher())
    return ReviewServices(catalog, directory, queue, log, snapshots, desk), queue


def timed(call: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proposals", type=int, default=10_000)
    parser.add_argument("--dead-letters", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    services, queue = build(args.proposals, args.dead_letters)
    client = TestClient(create_app(services))
    client.post("/login", data={"token": "bench"})
    filtered = QueueQuery(operation="MERGE", sort="-confidence", page=50)
    middle = f"proposal:bench:{args.proposals // 2:06d}"
    family = (
        "OracleWritebackProposal" if (args.proposals // 2) % 2 == 0 else "NormalizedEntityProposal"
    )
    cases: list[tuple[str, str, Callable[[], object]]] = [
        ("/queue", "/queue", lambda: QueueQuery().apply(queue.pending(), NOW)),
        (
            "/queue filtered, page 50",
            "/queue?" + filtered.params(),
            lambda: filtered.apply(queue.pending(), NOW),
        ),
        (
            "/proposals/{one}",
            f"/proposals/{family}/{middle}",
            lambda: queue.entry(family, middle),
        ),
        ("/dead-letters", "/dead-letters", lambda: services.dead_letters.recent(500)),
        (
            "/dead-letters reason, page 2",
            "/dead-letters?reason=decode.reason_3&page=2",
            lambda: services.dead_letters.recent(500, "decode.reason_3"),
        ),
        ("/schemas/{family}", "/schemas/ImportMappingManifest", lambda: None),
    ]
    print(f"{args.proposals} pending proposals, {args.dead_letters} dead letters, {args.runs} runs")
    print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8} {'query p50':>10} {'query p95':>10}")
    worst = 0.0
    for label, url, query in cases:
        assert client.get(url).status_code == 200, url
        p50, p95 = timed(partial(client.get, url), args.runs)
        q50, q95 = timed(query, args.runs)
        worst = max(worst, p95)
        print(f"{label:32} {p50:8.1f} {p95:8.1f} {q50:10.1f} {q95:10.1f}")
    print(f"worst page p95: {worst:.1f} ms (target < 200 ms)")
    return 0 if worst < 200 else 1


if __name__ == "__main__":
    raise SystemExit(main())
