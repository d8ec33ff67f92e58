"""``velocity-stream consume client360|committer|<sink>``: run a read-model, committer or sink
worker (the sinks, such as ``intel``, come from the table in consumers/sink/registry.py).

Kafka, the topic prefix, the registry and the store come from the environment
(velocity_stream.settings: KAFKA_BOOTSTRAP_SERVERS, VELOCITY_TOPIC_PREFIX, SCHEMA_REGISTRY_URL,
VELOCITY_STORE_URL); the flags only tune this worker. Offsets live in the store, so a worker
resumes where its last committed transaction ended; ``--rebuild`` drops its tables and
replays every topic from the earliest offset.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import FrameType
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from consumers.sink.registry import SINKS
from velocity_stream.cli.numbers import MAX_BATCH, seconds, whole
from velocity_stream.errors import SettingsError, VelocityError
from velocity_stream.settings import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from velocity_stream.contracts.catalog import Catalog
    from velocity_stream.serde.avro import AvroSerde

EXIT_OK, EXIT_FAILED = 0, 2
S = TypeVar("S")
S_co = TypeVar("S_co", covariant=True)


class _Tables(Protocol):
    """A worker's store: its tables made, or dropped for a rebuild."""

    def create(self) -> None: ...

    def drop(self) -> None: ...


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``consume`` command group (``consume client360``, ``consume committer``)."""
    consume = subparsers.add_parser(
        "consume", help="run a stream consumer: the Client360 read model or the graph committer"
    )
    workers = consume.add_subparsers(dest="consume_command", metavar="WORKER")
    workers.required = True
    client360 = workers.add_parser(
        "client360",
        help="build Client360 snapshots from the accepted topics",
        description="Project accepted InteractionBundle and QdSignalBundle records and the "
        "graph changes the committer applied (its AppliedGraphChange topic) into per-client "
        "snapshots in VELOCITY_STORE_URL (SQLite or PostgreSQL), and publish each changed "
        "snapshot as a Client360Snapshot.",
    )
    client360.add_argument(
        "--no-publish", action="store_true", help="build the tables, publish nothing"
    )
    client360.add_argument(
        "--refresh-interval",
        type=seconds,
        default=None,
        metavar="SECONDS",
        help="while behind, rebuild snapshots at most this often (default 5); a longer one "
        "builds fewer passing snapshots while catching up, e.g. after --rebuild",
    )
    client360.set_defaults(handler=_run_client360, batch_default=1000)
    committer = workers.add_parser(
        "committer",
        help="apply approved changes to the canonical client-graph tables",
        description="Apply commit records and accepted ClientGraphDelta records to the "
        "client-graph tables in VELOCITY_STORE_URL, checking referential integrity and "
        "lifecycle; refusals go to the dead-letter topic with their reason code, and every "
        "applied change to the AppliedGraphChange topic.",
    )
    committer.set_defaults(handler=_run_committer, batch_default=500)
    sinks = [
        workers.add_parser(entry.name, help=entry.help, description=entry.description)
        for entry in SINKS
    ]
    for entry, sink in zip(SINKS, sinks, strict=True):
        sink.set_defaults(handler=_run_sink, sink=entry.name, batch_default=entry.batch_size)
    for worker in (client360, committer, *sinks):
        worker.add_argument("--store-url", help="SQLAlchemy URL (default VELOCITY_STORE_URL)")
        worker.add_argument(
            "--table-prefix", default="", help="prefix of this worker's table names"
        )
        worker.add_argument(
            "--batch-size",
            type=whole(1, MAX_BATCH),
            default=None,
            help="records per transaction",
        )
        worker.add_argument(
            "--max-idle",
            type=seconds,
            default=None,
            metavar="SECONDS",
            help="exit after this long without a record (default: run until Ctrl-C)",
        )
        worker.add_argument(
            "--rebuild",
            action="store_true",
            help="drop this worker's tables first and replay every topic from the start",
        )
        worker.add_argument(
            "--log-level", default="info", choices=("error", "warning", "info", "debug")
        )


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _prepare(args: argparse.Namespace, role: str) -> tuple[Settings, Catalog, AvroSerde]:
    from velocity_stream.contracts.catalog import load_catalog
    from velocity_stream.observability import configure_logging, start_metrics_server
    from velocity_stream.registry.resolvers import resolver_for
    from velocity_stream.serde.avro import AvroSerde

    settings = load_settings()
    # JSON (or text) logs with trace ids, and /metrics on VELOCITY_METRICS_PORT; the endpoint
    # thread lives as long as the process.
    configure_logging(settings, role=role, level=args.log_level)
    start_metrics_server(settings)
    if args.store_url:
        settings = settings.model_copy(update={"store_url": args.store_url})
    catalog = load_catalog(settings.schemas_dir)
    serde = AvroSerde(catalog, resolver_for(settings, catalog), settings.topic_prefix)
    return settings, catalog, serde


class _Runner(Protocol[S_co]):
    def topics(self) -> list[str]: ...

    def run(
        self, *, stop: threading.Event | None = ..., max_idle_s: float | None = ...
    ) -> S_co: ...


@dataclass
class _Worker(Generic[S]):
    """A started worker: its runner, the engine of its store, and what to close after it."""

    runner: _Runner[S]
    engine: Engine
    close: Callable[[], None] = lambda: None


def _fresh(store: _Tables, rebuild: bool) -> None:
    if rebuild:
        store.drop()
    store.create()


def _serve(
    args: argparse.Namespace,
    name: str,
    start: Callable[[Settings, Catalog, AvroSerde], _Worker[S]],
    summary: Callable[[S], str],
) -> int:
    """Start a worker, run it until a signal (or ``--max-idle``), print its summary; an
    operator-facing failure is one line and EXIT_FAILED, never a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        settings, catalog, serde = _prepare(args, name)
        worker = start(settings, catalog, serde)
        print(
            f"{name}: {len(worker.runner.topics())} topics -> "
            f"{worker.engine.url.render_as_string()}",
            file=sys.stderr,
            flush=True,
        )
        try:
            stats = worker.runner.run(stop=_stop_on_signals(), max_idle_s=args.max_idle)
        finally:
            worker.close()
            worker.engine.dispose()
    except VelocityError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except SQLAlchemyError as error:  # the store: unreachable, refused, out of space
        cause = getattr(error, "orig", None) or error  # the driver's own message if any
        first = (str(cause).splitlines() or [""])[0]
        print(f"error: {name} store: {type(error).__name__}: {first}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{name}: {summary(stats)}", file=sys.stderr)
    return EXIT_OK


def _run_client360(args: argparse.Namespace) -> int:
    from consumers.client360.runner import Client360Runner, RunnerOptions, RunStats
    from consumers.client360.store import Client360Store
    from consumers.storage import open_engine
    from velocity_stream.kafka.producer import ArtifactProducer

    def start(settings: Settings, catalog: Catalog, serde: AvroSerde) -> _Worker[RunStats]:
        engine = open_engine(settings.store_url)
        store = Client360Store(engine, args.table_prefix)
        _fresh(store, args.rebuild)
        producer = (
            None
            if args.no_publish
            else ArtifactProducer(settings, catalog, serde, producer_name="client360-projector")
        )
        options = RunnerOptions(batch_size=args.batch_size or args.batch_default)
        if args.refresh_interval is not None:
            options = replace(options, refresh_interval_s=args.refresh_interval)
        runner = Client360Runner(settings, catalog, serde, store, producer, options)
        return _Worker(runner, engine, producer.close if producer is not None else lambda: None)

    def summary(stats: RunStats) -> str:
        return (
            f"{stats.records} records, {stats.applied} applied, {stats.duplicates} "
            f"duplicates, {stats.rejected} rejected, {stats.snapshots_changed} snapshot "
            f"changes, {stats.published} published"
        )

    return _serve(args, "client360", start, summary)


def _run_committer(args: argparse.Namespace) -> int:
    from consumers.committer.runner import (
        COMMITTER,
        CommitterOptions,
        CommitterRunner,
        CommitterStats,
    )
    from consumers.committer.store import GraphStore
    from consumers.storage import open_engine
    from velocity_stream.kafka.producer import ArtifactProducer

    def start(settings: Settings, catalog: Catalog, serde: AvroSerde) -> _Worker[CommitterStats]:
        engine = open_engine(settings.store_url)
        store = GraphStore(engine, args.table_prefix)
        _fresh(store, args.rebuild)
        producer = ArtifactProducer(settings, catalog, serde, producer_name=COMMITTER)
        options = CommitterOptions(batch_size=args.batch_size or args.batch_default)
        runner = CommitterRunner(settings, catalog, serde, store, producer, options)
        return _Worker(runner, engine, producer.close)

    def summary(stats: CommitterStats) -> str:
        return (
            f"{stats.records} records, {stats.applied} applied, {stats.refused} "
            f"refused (dead-lettered), {stats.duplicates} duplicates"
        )

    return _serve(args, "committer", start, summary)


def _run_sink(args: argparse.Namespace) -> int:
    from consumers.sink.registry import sink_entry
    from consumers.sink.runner import SinkOptions, SinkRunner, SinkStats
    from consumers.sink.store import SinkStore
    from consumers.storage import open_engine

    entry = sink_entry(args.sink)

    def start(settings: Settings, catalog: Catalog, serde: AvroSerde) -> _Worker[SinkStats]:
        sink = entry.load(args.table_prefix)
        engine = open_engine(settings.store_url)
        store = SinkStore(engine, sink.tables, sink.apply)
        _fresh(store, args.rebuild)
        options = SinkOptions(batch_size=args.batch_size or args.batch_default)
        return _Worker(SinkRunner(settings, catalog, serde, sink.mapper, store, options), engine)

    def summary(stats: SinkStats) -> str:
        return (
            f"{stats.records} records, {stats.applied} applied, {stats.unchanged} "
            f"unchanged writes, {stats.rejected} rejected"
        )

    return _serve(args, entry.name, start, summary)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``consume ...`` on its own (``python -m velocity_stream.cli.consumers_cmd``)."""
    parser = argparse.ArgumentParser(prog="velocity-stream")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    register(subparsers)
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except SettingsError as error:  # a malformed variable: one line, as the main CLI says it
        print(f"error: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
