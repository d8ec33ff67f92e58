"""Client360 read model: events applied per second into SQLite and PostgreSQL, and snapshot
query latency with 10,000 clients.

Throughput is the runner's whole batch path without the broker: decode the Avro bytes
(serde + contract; graph changes arrive as the committer's applied records), project, and
apply one batch per transaction (dedup, LWW fact upserts,
snapshot rebuilds of the clients touched, offsets). The baseline, in the same run and on the
same database, is plain executemany INSERTs of the same fact rows into unconstrained tables,
one transaction per batch: the floor of writing those rows at all. Query latency reads a
random client's snapshot (select by key, parse into the Client360Snapshot model); its
baseline is the bare select. Figures are medians of ``--runs`` runs. The encoded backlog is
frozen out of the garbage collector's way (a runner holds one batch, not the whole backlog);
``--keep-gc`` leaves it in.

Run: ``python bench/readmodel.py [--clients 10000] [--runs 3] [--batch 1000]
[--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-sqlite]`` (``--postgres ''``
skips PostgreSQL, ``--no-sqlite`` SQLite). The ratio printed is the median of each run's apply
rate over the baseline of the same run.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, MetaData, Table, select

from consumers.applied import applied_change
from consumers.client360.facts import Projection
from consumers.client360.projector import project
from consumers.client360.runner import Client360Runner, RunnerOptions
from consumers.client360.store import Client360Store
from consumers.storage import open_engine
from velocity_stream.contracts import example, validate_artifact
from velocity_stream.contracts.catalog import Catalog, Family, load_catalog
from velocity_stream.contracts.client360 import Client360Snapshot
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import Settings

PREFIX = "bench"
# What the rates are measured with: wall time, or (``--cpu``) this process's CPU time, which a
# busy machine disturbs far less; with SQLite the database runs in this process too.
clock = time.perf_counter
T0 = datetime(2026, 4, 18, 9, 30, tzinfo=UTC)


def _topic_of(family: Family) -> str:
    """Where the read model reads ``family``: its accepted topic, an internal family's own."""
    return family.ingress_topic(PREFIX) if family.internal else family.accepted_topic(PREFIX)


def _made(family: str, changes: dict[str, object]) -> Artifact:
    data = example(family).model_dump(mode="python")
    data.update(changes)
    return validate_artifact(type(example(family)), data)


def workload(clients: int, shuffle: bool, rounds: int = 3, seed: int = 7) -> list[Artifact]:
    """Per client: the committer's applied record of its graph (the client, a person, an
    opportunity, two links), then ``rounds`` rounds of two interactions and a QD signal, one
    round an hour; a new client every 30 ms. In event-time order (how producers emit them),
    or shuffled (a client's events spread over the whole run). Several rounds make a run
    span several refresh intervals."""
    rng = random.Random(seed)
    events: list[Artifact] = []
    for i in range(clients):
        client, person, opp = f"client:c{i:06d}", f"person:p{i:06d}", f"opportunity:o{i:06d}"
        at = T0 + timedelta(milliseconds=30 * i)
        # The committer's applied record of the client's CRM sync (the read model's only
        # graph input): the client node, a person, an opportunity, two links.
        events.append(
            applied_change(
                f"delta:{i}",
                None,
                None,
                [
                    {"op": "UPSERT_NODE", "node_ref": client, "node_type": "CLIENT"},
                    {
                        "op": "UPSERT_NODE",
                        "node_ref": person,
                        "node_type": "PERSON",
                        "attributes": {
                            "given_name": f"Given{i}",
                            "family_name": "Doe",
                            "email": f"p{i}@example.com",
                        },
                    },
                    {
                        "op": "UPSERT_NODE",
                        "node_ref": opp,
                        "node_type": "OPPORTUNITY",
                        "attributes": {
                            "title": f"Deal {i}",
                            "stage": "QUALIFYING",
                            "amount": str(1000 * i),
                        },
                    },
                    {
                        "op": "UPSERT_EDGE",
                        "edge": {"from_ref": person, "to_ref": client, "relation": "CONTACT_OF"},
                    },
                    {
                        "op": "UPSERT_EDGE",
                        "edge": {"from_ref": opp, "to_ref": client, "relation": "OPPORTUNITY_OF"},
                    },
                ],
                int(at.timestamp() * 1000),
            )
        )
        for r in range(rounds):
            hour = at + timedelta(hours=r)
            for n in range(2):
                events.append(
                    _made(
                        "InteractionBundle",
                        {
                            "artifact_id": f"art:ib:{i}:{r}:{n}",
                            "bundle_id": f"bundle:{i}:{r}:{n}",
                            "client_ref": client,
                            "created_at": hour + timedelta(minutes=n + 1),
                        },
                    )
                )
            events.append(
                _made(
                    "QdSignalBundle",
                    {
                        "artifact_id": f"art:qd:{i}:{r}",
                        "signal_id": f"signal:{i}:{r}",
                        "client_ref": client,
                        "created_at": hour + timedelta(minutes=5),
                        "value": rng.random(),
                        "time_window": {"start": hour, "end": hour + timedelta(minutes=5)},
                    },
                )
            )
    if shuffle:
        rng.shuffle(events)
    else:
        events.sort(key=lambda a: (a.created_at, a.artifact_id))
    return events


def encoded(events: list[Artifact], catalog: Catalog, serde: AvroSerde) -> list[InboundMessage]:
    messages = []
    for offset, artifact in enumerate(events):
        family = catalog.family(artifact.FAMILY)
        key = str(getattr(artifact, family.key_field)).encode()
        messages.append(InboundMessage(_topic_of(family), 0, offset, key, serde.encode(artifact)))
    return messages


def run_store(
    url: str,
    messages: list[InboundMessage],
    catalog: Catalog,
    serde: AvroSerde,
    batch: int,
    refresh_every: int = 0,
) -> tuple[float, int, Client360Store]:
    """Events per second through the runner's batch path, and how many snapshots it built.
    ``refresh_every`` > 0 refreshes after every that many batches instead of the runner's
    wall-time policy, so the number of builds no longer depends on the machine's speed."""
    store = Client360Store(open_engine(url), f"b{uuid.uuid4().hex[:8]}_")
    store.create()
    runner = Client360Runner(
        Settings(topic_prefix=PREFIX), catalog, serde, store, None, RunnerOptions(batch_size=batch)
    )
    rebuilt = 0
    start, last_refresh = clock(), time.perf_counter()
    for number, first in enumerate(range(0, len(messages), batch), start=1):
        runner.handle(messages[first : first + batch])
        if refresh_every:
            due = number % refresh_every == 0
        else:  # the runner's policy while it is behind: refresh at most once per interval
            due = time.perf_counter() - last_refresh >= runner.options.refresh_interval_s
        if due:
            rebuilt += runner.refresh().rebuilt
            last_refresh = time.perf_counter()
    rebuilt += runner.refresh().rebuilt  # caught up: every snapshot current before the clock stops
    return len(messages) / (clock() - start), rebuilt, store


def publish_rate(store: Client360Store, catalog: Catalog, serde: AvroSerde, count: int) -> float:
    """Snapshots per second the publisher can prepare: parse the stored body and do what the
    validating producer does before producing (validate again, Avro-encode)."""
    bodies = [p.body for p in store.pending(count)]
    start = time.perf_counter()
    for body in bodies:
        snapshot = Client360Snapshot.model_validate_json(body)
        serde.encode(validate_artifact(Client360Snapshot, snapshot.to_avro()))
    return len(bodies) / (time.perf_counter() - start)


def baseline_rows(projections: list[Projection]) -> dict[str, list[dict[str, object]]]:
    rows: dict[str, list[dict[str, object]]] = {k: [] for k in ("facts",)}
    for p in projections:
        for i in p.interactions:
            rows["facts"].append(
                {
                    "k": f"{i.client_ref}|{i.bundle_ref}",
                    "a": i.channel,
                    "b": i.summary,
                    "s": i.stamp,
                }
            )
        for s in p.signals:
            rows["facts"].append(
                {
                    "k": f"{s.client_ref}|{s.signal_ref}",
                    "a": s.score_type,
                    "b": json.dumps(s.evidence_refs),
                    "s": s.stamp,
                }
            )
        for n in p.nodes:
            rows["facts"].append({"k": n.node_ref, "a": n.node_type, "b": None, "s": n.stamp})
        for a in p.attributes:
            rows["facts"].append(
                {"k": f"{a.node_ref}|{a.name}", "a": a.value, "b": a.source_ref, "s": a.stamp}
            )
        for e in p.edges:
            rows["facts"].append(
                {
                    "k": "|".join(e.key),
                    "a": json.dumps(e.attributes),
                    "b": e.source_ref,
                    "s": e.stamp,
                }
            )
    return rows


def run_baseline(
    url: str, messages: list[InboundMessage], catalog: Catalog, serde: AvroSerde, batch: int
) -> float:
    """Decode + project (same as the real run), then plain executemany INSERTs."""
    from sqlalchemy import String, Text

    engine = open_engine(url)
    md = MetaData()
    table = Table(
        f"b{uuid.uuid4().hex[:8]}_raw",
        md,
        Column("k", String),
        Column("a", Text),
        Column("b", Text),
        Column("s", String),
    )
    md.create_all(engine)
    topics = {_topic_of(f): f for f in catalog.all_families()}
    start = clock()
    for first in range(0, len(messages), batch):
        chunk = messages[first : first + batch]
        projections = []
        for m in chunk:
            made = project(serde.decode(m.value, topics[m.topic]))
            assert made is not None
            projections.append(made)
        with engine.begin() as conn:
            conn.execute(table.insert(), baseline_rows(projections)["facts"])
    rate = len(messages) / (clock() - start)
    md.drop_all(engine)
    engine.dispose()
    return rate


def query_latency(store: Client360Store, clients: int, samples: int) -> dict[str, float]:
    rng = random.Random(11)
    refs = [f"client:c{rng.randrange(clients):06d}" for _ in range(samples)]
    snapshots = store.tables.snapshots
    parsed, bare = [], []
    for ref in refs:
        start = time.perf_counter()
        found = store.snapshot(ref)
        parsed.append(time.perf_counter() - start)
        assert found is not None
    with store.engine.connect() as conn:
        for ref in refs:
            start = time.perf_counter()
            conn.execute(select(snapshots.c.body).where(snapshots.c.client_ref == ref)).one()
            bare.append(time.perf_counter() - start)

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "p50": pct(parsed, 0.5),
        "p99": pct(parsed, 0.99),
        "bare_p50": pct(bare, 0.5),
        "bare_p99": pct(bare, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of events per client")
    parser.add_argument(
        "--shuffle", action="store_true", help="spread each client's events over the whole run"
    )
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--refresh-every", type=int, default=0, help="refresh every N batches (0: every 5 s)"
    )
    parser.add_argument(
        "--cpu", action="store_true", help="rates in process CPU time (meaningful for SQLite)"
    )
    parser.add_argument(
        "--keep-gc",
        action="store_true",
        help="leave the backlog to the garbage collector (every full collection walks it)",
    )
    args = parser.parse_args()
    global clock
    if args.cpu:
        clock = time.process_time
    catalog = load_catalog(Settings().schemas_dir)
    serde = AvroSerde(catalog, InMemorySchemaResolver(), PREFIX)
    messages = encoded(workload(args.clients, args.shuffle, args.rounds), catalog, serde)
    if not args.keep_gc:
        # The encoded backlog stands in for Kafka; a runner holds one batch of it, not all
        # 100,000 records. Kept out of the collector's way (gc.freeze), it no longer makes
        # every full collection of the runs walk it: both the apply path and the baseline
        # then see the collector a runner sees.
        gc.collect()
        gc.freeze()
    order = "shuffled" if args.shuffle else "in event-time order"
    print(
        f"{len(messages)} events ({order}) for {args.clients} clients, batches of "
        f"{args.batch}, median of {args.runs} runs"
    )
    with tempfile.TemporaryDirectory() as folder:
        targets = [] if args.no_sqlite else [("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}")]
        if args.postgres:
            targets.append(("postgresql", args.postgres))
        for name, url in targets:
            rates, baselines, latencies, rebuilds, publishes = [], [], [], [], []
            snapshots = 0
            for _ in range(args.runs):
                rate, rebuilt, store = run_store(
                    url, messages, catalog, serde, args.batch, args.refresh_every
                )
                rates.append(rate)
                rebuilds.append(rebuilt)
                latencies.append(query_latency(store, args.clients, args.samples))
                publishes.append(publish_rate(store, catalog, serde, 2000))
                snapshots = len(store.client_refs(limit=args.clients + 1))
                store.drop()
                store.engine.dispose()
                baselines.append(run_baseline(url, messages, catalog, serde, args.batch))
            med = {k: statistics.median(run[k] for run in latencies) for k in latencies[0]}
            # Each run's apply against the baseline of the same run, then the median.
            ratios = [rate / base for rate, base in zip(rates, baselines, strict=True)]
            print(
                f"{name:<10} apply {statistics.median(rates):6.0f} events/s "
                f"(baseline raw executemany {statistics.median(baselines):6.0f} events/s; "
                f"runs {', '.join(f'{r:.0f}' for r in rates)}); "
                f"ratio {statistics.median(ratios):.2f}x "
                f"(runs {', '.join(f'{r:.2f}' for r in ratios)}); "
                f"{statistics.median(rebuilds):.0f} snapshot builds for {snapshots} clients\n"
                f"{'':<10} query p50 {med['p50']:.2f} ms p99 {med['p99']:.2f} ms "
                f"(bare select p50 {med['bare_p50']:.2f} ms p99 {med['bare_p99']:.2f} ms); "
                f"publication prep {statistics.median(publishes):.0f} snapshots/s"
            )


if __name__ == "__main__":
    main()
