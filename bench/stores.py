"""Sink consumers (the table stores: intel, and the others of consumers/sink/registry.py):
records applied per second into SQLite and PostgreSQL, against plain executemany of the same
rows in the same run.

The apply rate is the sink runner's whole batch path without the broker: decode the Avro
bytes (serde + contract), map (the consumer's mapper), apply one batch per transaction (the
consumer's apply: stored-copy lookups, upserts, owned rows replaced, rejects, offsets). The
baseline, in the same run and on the same database, does the same decode and map, then plain
executemany INSERTs of the very rows the mapper produced (parents and owned rows) into
unconstrained copies of the tables, one transaction per batch: the floor of writing those rows
at all. The ratio is each run's apply rate over that run's baseline, then the median of
``--runs`` runs; the load average is printed before and after. A second figure, "writes
alone", decodes and maps before the clock starts and times only the store's apply against
the executemany of the same rows: what the store itself costs, without the decoding both
paths share.

Run: ``python bench/stores.py [--workload intel] [--records 30000] [--runs 3] [--batch 1000]
[--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-sqlite]``
(``--postgres ''`` skips PostgreSQL). A consumer takes part once it has a workload in
WORKLOADS below: the sink that reads it and a function of the record count returning the
records as the runner receives them (most build artifacts and encode them onto their topics;
governance builds approvals-topic records with the gateway's headers).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, Table

from consumers.applied import applied_change
from consumers.partitions import next_offsets
from consumers.reading import ArtifactReader
from consumers.sink import Sink, SinkOptions, SinkRunner, SinkStore, sink_entry
from consumers.storage import open_engine
from velocity_stream.contracts import example, validate_artifact
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.imports import row_content_sha256
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.devstack.demo_intake import IntakeDemo
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import Settings

PREFIX = "bench"
T0 = datetime(2026, 4, 18, 9, 30, tzinfo=UTC)


def _made(family: str, changes: dict[str, object]) -> Artifact:
    data = example(family).model_dump(mode="python")
    data.update(changes)
    return validate_artifact(type(example(family)), data)


def intel_workload(records: int, seed: int = 7) -> list[Artifact]:
    """Calls, each an InteractionBundle, its TranscriptBundle (six speaker segments) and a
    QdSignalBundle (two evidence refs), 100 calls per client; then, for one call in ten, a
    second copy of its transcript (newer or older at random, four segments) to resolve.
    Shuffled, so copies and their originals land in different batches."""
    rng = random.Random(seed)
    calls = max(1, records * 10 // 31)
    found: list[Artifact] = []
    for n in range(calls):
        client, bundle = f"client:c{n // 100:05d}", f"bundle:b{n:07d}"
        at = T0 + timedelta(seconds=n)
        found.append(
            _made(
                "InteractionBundle",
                {
                    "artifact_id": f"art:{bundle}",
                    "created_at": at,
                    "bundle_id": bundle,
                    "client_ref": client,
                    "summary": f"call {n} about the 3BHK search",
                },
            )
        )
        found.append(_transcript(bundle, at + timedelta(minutes=1), 6, ""))
        found.append(
            _made(
                "QdSignalBundle",
                {
                    "artifact_id": f"art:qd:{n}",
                    "created_at": at,
                    "signal_id": f"signal:{n}",
                    "client_ref": client,
                    "value": rng.random(),
                    "time_window": {"start": at - timedelta(days=7), "end": at},
                    "supporting_evidence_refs": (f"transcript:{bundle}", f"event:{n}"),
                },
            )
        )
        if n % 10 == 0:
            shift = timedelta(minutes=rng.choice((-30, 30)))
            found.append(_transcript(bundle, at + timedelta(minutes=1) + shift, 4, ":copy"))
    rng.shuffle(found)
    return found


def _transcript(bundle: str, at: datetime, lines: int, copy: str) -> Artifact:
    said = [
        f"line {i}: we have the budget approved for a flat near Salt Lake" for i in range(lines)
    ]
    segments = [
        {
            "speaker": "human:sagnik" if i % 2 == 0 else "person:caller",
            "start_ms": i * 4000,
            "end_ms": i * 4000 + 3500,
            "text": text,
        }
        for i, text in enumerate(said)
    ]
    return _made(
        "TranscriptBundle",
        {
            "artifact_id": f"art:transcript:{bundle}{copy}",
            "created_at": at,
            "transcript_id": f"transcript:{bundle}",
            "interaction_ref": bundle,
            "duration_ms": lines * 4000,
            "text": " ".join(said),
            "speaker_segments": segments,
        },
    )


def imports_workload(records: int, seed: int = 7) -> list[Artifact]:
    """Imports of the demo CSV's columns, 48 rows each (cells varied from the demo's): a
    RawImportBatch, its rows and its ImportMappingManifest; for one import in ten, the batch
    sent again (an identical copy) and one row again with another e-mail (a conflict).
    Shuffled, so rows land before their batch and manifest as often as after."""
    rng = random.Random(seed)
    per_import = 48
    found: list[Artifact] = []
    for n in range(max(1, records // (per_import + 2))):
        intake = IntakeDemo(T0 + timedelta(minutes=n), f"batch:b{n:06d}")
        batch = intake.batch().model_copy(update={"row_count": per_import})
        rows = []
        for number in range(1, per_import + 1):
            values = dict(intake.rows[rng.randrange(len(intake.rows))])
            values["Email"] = f"lead{n}.{number}@{values['Email'].split('@')[1]}"
            rows.append(intake.row(number, values))
        found += [batch, *rows, intake.manifest()]
        if n % 10 == 0:
            values = {**rows[0].raw_values, "Email": "someone.else@example.com"}
            found.append(
                rows[0].model_copy(
                    update={"raw_values": values, "content_sha256": row_content_sha256(values)}
                )
            )
            found.append(batch)
    rng.shuffle(found)
    return found


REVIEWER = "human:bench"


def governance_workload(
    records: int, catalog: Catalog, serde: AvroSerde, shuffle: bool
) -> list[InboundMessage]:
    """Writeback proposals, a third of ``records``, each as the gateway routes it (its
    approvals record, with the source-topic and pending-state headers), a person's decision on
    the decision family's accepted topic and the committer's applied record; in that order per
    proposal, or shuffled (decisions and commits before their proposals, across batches)."""
    approvals = catalog.approvals_topic(PREFIX)
    source = catalog.family("OracleWritebackProposal").ingress_topic(PREFIX).encode()
    decisions = catalog.family("ApprovalDecision").accepted_topic(PREFIX)
    applied_topic = catalog.family("AppliedGraphChange").ingress_topic(PREFIX)
    triples: list[tuple[str, bytes, bytes, tuple[tuple[str, bytes], ...]]] = []
    for i in range(max(1, records // 3)):
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


def encoded(events: list[Artifact], catalog: Catalog, serde: AvroSerde) -> list[InboundMessage]:
    """Artifacts as records on the topic their consumer reads (accepted, or an internal
    family's own), spread over four partitions."""
    messages = []
    for offset, artifact in enumerate(events):
        family = catalog.family(artifact.FAMILY)
        topic = family.ingress_topic(PREFIX) if family.internal else family.accepted_topic(PREFIX)
        key = str(getattr(artifact, family.key_field)).encode()
        messages.append(InboundMessage(topic, offset % 4, offset, key, serde.encode(artifact)))
    return messages


Messages = Callable[[int, Catalog, AvroSerde], list[InboundMessage]]


def from_artifacts(make: Callable[[int], list[Artifact]]) -> Messages:
    """A workload of artifacts, encoded as the runner receives them."""

    def messages(records: int, catalog: Catalog, serde: AvroSerde) -> list[InboundMessage]:
        return encoded(make(records), catalog, serde)

    return messages


@dataclass(frozen=True)
class Workload:
    """What the bench feeds one sink: its records, ready as the runner receives them, made
    from the record count."""

    sink: str  # the entry of consumers/sink/registry.py that reads them
    messages: Messages


# The workloads the bench knows how to feed, by name.
WORKLOADS: dict[str, Workload] = {
    "intel": Workload("intel", from_artifacts(intel_workload)),
    "imports": Workload("imports", from_artifacts(imports_workload)),
    "governance": Workload("governance", partial(governance_workload, shuffle=False)),
    "governance-shuffled": Workload("governance", partial(governance_workload, shuffle=True)),
}


@dataclass(frozen=True)
class Case:
    """One sink's workload on one database."""

    consumer: str  # the sink entry's name
    url: str
    messages: list[InboundMessage]
    catalog: Catalog
    serde: AvroSerde
    batch: int

    def sink(self) -> Sink:
        """The consumer's parts, under a table prefix of their own."""
        return sink_entry(self.consumer).load(f"b{uuid.uuid4().hex[:8]}_")

    def chunks(self) -> list[list[InboundMessage]]:
        return [
            self.messages[first : first + self.batch]
            for first in range(0, len(self.messages), self.batch)
        ]

    def reader(self, sink: Sink) -> ArtifactReader:
        sink.mapper.topics(self.catalog, PREFIX)
        return ArtifactReader(self.catalog, self.serde, PREFIX)


def plain_copies(sink: Sink) -> tuple[MetaData, dict[str, Table]]:
    """The sink's tables with their columns only: no key, no index, no constraint."""
    md = MetaData()
    return md, {
        table.name: Table(table.name, md, *(Column(c.name, c.type) for c in table.columns))
        for table in sink.tables.all()
    }


def mapped_rows(
    sink: Sink, reader: ArtifactReader, chunk: list[InboundMessage]
) -> dict[str, list[dict[str, Any]]]:
    """The rows the mapper asks for (parents and owned rows), by table name."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for message in chunk:
        for upsert in sink.mapper.map(message, reader).normalized():
            rows.setdefault(upsert.table.name, []).append(dict(upsert.row))
            for child, owned in upsert.children.items():
                rows.setdefault(child.name, []).extend(dict(r) for r in owned)
    return rows


def run_sink(case: Case) -> tuple[float, int]:
    """Records per second through the sink runner's batch path; rows stored."""
    sink = case.sink()
    store = SinkStore(open_engine(case.url), sink.tables, sink.apply)
    store.create()
    settings = Settings(topic_prefix=PREFIX)
    options = SinkOptions(case.batch)
    runner = SinkRunner(settings, case.catalog, case.serde, sink.mapper, store, options)
    start = time.perf_counter()
    for chunk in case.chunks():
        assert runner.handle(chunk).rejected == 0, "the workload must be readable"
    rate = len(case.messages) / (time.perf_counter() - start)
    rows = sum(len(found) for found in store.dump().values())
    store.drop()
    store.engine.dispose()
    return rate, rows


def run_baseline(case: Case) -> float:
    """Decode + map (as the real run), then plain executemany INSERTs of the same rows."""
    sink = case.sink()
    engine = open_engine(case.url)
    md, plain = plain_copies(sink)
    md.create_all(engine)
    reader = case.reader(sink)
    start = time.perf_counter()
    for chunk in case.chunks():
        rows = mapped_rows(sink, reader, chunk)
        with engine.begin() as conn:
            for table_name, found in rows.items():
                conn.execute(plain[table_name].insert(), found)
    rate = len(case.messages) / (time.perf_counter() - start)
    md.drop_all(engine)
    engine.dispose()
    return rate


def run_store_only(case: Case) -> tuple[float, float]:
    """The writes alone: records per second through the store's apply (one transaction per
    batch, offsets included) and through plain executemany of the same rows, with decoding
    and mapping done before the clock starts."""
    sink = case.sink()
    reader = case.reader(sink)
    chunks = case.chunks()
    writes = [[sink.mapper.map(m, reader) for m in chunk] for chunk in chunks]
    rows = [mapped_rows(sink, reader, chunk) for chunk in chunks]
    store = SinkStore(open_engine(case.url), sink.tables, sink.apply)
    store.create()
    start = time.perf_counter()
    for chunk, mapped in zip(chunks, writes, strict=True):
        store.apply(mapped, [], next_offsets(chunk))
    applied = len(case.messages) / (time.perf_counter() - start)
    store.drop()
    md, plain = plain_copies(sink)
    md.create_all(store.engine)
    start = time.perf_counter()
    for found in rows:
        with store.engine.begin() as conn:
            for table_name, table_rows in found.items():
                conn.execute(plain[table_name].insert(), table_rows)
    baseline = len(case.messages) / (time.perf_counter() - start)
    md.drop_all(store.engine)
    store.engine.dispose()
    return applied, baseline


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--workload",
        "--sink",
        action="append",
        choices=sorted(WORKLOADS),
        help="repeatable; default: all",
    )
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    catalog = load_catalog(Settings().schemas_dir)
    serde = AvroSerde(catalog, InMemorySchemaResolver(), PREFIX)
    with tempfile.TemporaryDirectory() as folder:
        targets = [] if args.no_sqlite else [("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}")]
        if args.postgres:
            targets.append(("postgresql", args.postgres))
        for name in args.workload or sorted(WORKLOADS):
            workload = WORKLOADS[name]
            messages = workload.messages(args.records, catalog, serde)
            print(
                f"{name}: {len(messages)} records, batches of {args.batch}, median of "
                f"{args.runs} runs; load average {_load()}"
            )
            for target, url in targets:
                rates, baselines, rows = [], [], 0
                store_ratios, store_rates = [], []
                case = Case(workload.sink, url, messages, catalog, serde, args.batch)
                for _ in range(args.runs):
                    rate, rows = run_sink(case)
                    rates.append(rate)
                    baselines.append(run_baseline(case))
                    alone, floor = run_store_only(case)
                    store_rates.append(alone)
                    store_ratios.append(alone / floor)
                ratios = [rate / base for rate, base in zip(rates, baselines, strict=True)]
                print(
                    f"  {target:<10} apply {statistics.median(rates):6.0f} records/s "
                    f"(baseline executemany {statistics.median(baselines):6.0f} records/s); "
                    f"ratio {statistics.median(ratios):.2f}x "
                    f"(runs {', '.join(f'{r:.2f}' for r in ratios)}); {rows} rows stored; "
                    f"load average {_load()}\n"
                    f"  {'':<10} writes alone {statistics.median(store_rates):6.0f} records/s; "
                    f"ratio {statistics.median(store_ratios):.2f}x "
                    f"(runs {', '.join(f'{r:.2f}' for r in store_ratios)})"
                )


if __name__ == "__main__":
    main()
