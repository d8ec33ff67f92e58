"""The faust adapter: the only module of the project that imports faust.

faust gives the gateway its consumer group, partition assignment, changelog-backed tables
(recovered when a worker restarts) and offset commits. What is changed, each for a measured
reason (docs/gateway.md):

- the aiokafka fetch wait: faust hard-codes ``fetch_max_wait_ms=1500``; a broker that does not
  wake a waiting fetch (Tansu) turns that into 1.5 s of latency, so the worker uses
  ``Settings.fetch_wait_max_ms``;
- the consumer's drain loop hands each fetched batch of ingress records to the gateway in one
  call instead of one faust event at a time (faust's per-event path costs ~100 us a record,
  capping a no-op agent near 9,000 records/s on this machine), straight from aiokafka's
  records, with the fetch tracked and acked as one entry rather than a faust Message each;
- table writes go to the changelog partition of the input being processed, read from a
  :class:`WriteContext`, since the batch path has no faust event per input;
- outputs go through librdkafka (runtime/output.py) and an input is acked only when every
  output it caused is stored; faust commits acked offsets after flushing the changelogs;
- table recovery reads each changelog partition to the end a fetch response reports
  (runtime/recovery.py), not to faust's ListOffsets end, which Tansu reports too low;
- a fetched record that is not routed now (flow stopped, generation changed, partition paused)
  goes back to the consumer: its partition is rewound to it (runtime/rewind.py), where faust
  dropped it and rewound only partitions with a committed offset;
- stopping has a deadline (runtime/shutdown.py): with the broker gone, faust's stop waits on
  timeouts of minutes, so the first stop request arms a timer that ends the process non-zero
  after ``Settings.gateway_shutdown_grace_s``.

exactly_once is never used: aiokafka's transactional producer fails on Tansu, and faust's
exactly_once has open duplicate and crash bugs. The pipeline's outputs are deterministic, so
at-least-once redelivery repeats identical bytes that consumers deduplicate.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import tempfile
from collections import deque
from collections.abc import Mapping, MutableSet, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import faust
from faust.tables.table import Table
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP
from faust.types.tuples import ack_lock
from mode.utils.futures import notify

from velocity_stream.contracts.catalog import Catalog
from velocity_stream.errors import ConfigError
from velocity_stream.gateway.messages import InboundMessage
from velocity_stream.gateway.pipeline import Pipeline
from velocity_stream.gateway.runtime.output import OutputProducer
from velocity_stream.gateway.runtime.processor import BatchProcessor, WriteContext
from velocity_stream.gateway.runtime.recovery import ChangelogEnds
from velocity_stream.gateway.runtime.rewind import (
    FetchedRecords,
    Unrouted,
    current_assignment,
    positions,
    rewind_positions,
)
from velocity_stream.gateway.runtime.shutdown import EXIT_DEADLINE, ShutdownDeadline
from velocity_stream.gateway.state import GatewayState
from velocity_stream.kafka.config import AsyncClientOptions
from velocity_stream.observability import GatewayMetrics, LagTracker, pending_in_state
from velocity_stream.settings import SecurityProtocol

log = logging.getLogger(__name__)

# How often the pending-approvals gauge is recounted from the proposals table.
PENDING_RECOUNT_INTERVAL_S = 30.0


@dataclass(frozen=True)
class WorkerOptions:
    """Tuning of one gateway worker; the defaults are the measured sweet spot (bench/gateway.py)."""

    app_id: str
    # Records per fetch handed to the pipeline at once (aiokafka max_poll_records).
    max_batch: int = 2000
    # Inputs processed but not yet acked before the drain loop waits for deliveries.
    max_in_flight: int = 20_000
    # How often held inputs are swept for expiry.
    expire_interval_s: float = 1.0
    # How often faust commits acked offsets.
    commit_interval_s: float = 1.0
    data_dir: Path | None = None
    # Longest the worker takes to stop once told to, before it exits non-zero anyway.
    shutdown_grace_s: float = 10.0


# --- the fetch wait ---------------------------------------------------------------------------


class _FetchWaitConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    """faust's aiokafka consumer thread with the fetch wait taken from the settings."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # faust passes fetch_max_wait_ms=1500 with no setting to change it; aiokafka reads the
        # attribute when the consumer starts (it builds its Fetcher in start()), so replacing
        # it here, before start, is enough. Fail loudly if aiokafka ever renames it.
        if not hasattr(consumer, "_fetch_max_wait_ms"):
            raise RuntimeError("aiokafka no longer has _fetch_max_wait_ms: update faust_app.py")
        consumer._fetch_max_wait_ms = cast(GatewayApp, self.app).fetch_max_wait_ms
        return consumer

    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: Any,
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> Mapping[TP, list[Any]]:
        records = await super()._fetch_records(
            consumer, active_partitions, timeout=timeout, max_records=max_records
        )
        # Runs on the consumer's loop, and nothing is awaited between aiokafka handing the
        # records over and these lines: the assignment they were fetched under, and where
        # the hand-over left each partition.
        assignment = current_assignment(consumer)
        return FetchedRecords(records, assignment, positions(assignment, records))

    async def rewind(
        self, fetched: FetchedRecords[TP, Any], offsets: Mapping[TP, int]
    ) -> dict[TP, int]:
        """Seek ``offsets``' partitions back to them, where still right (runtime/rewind.py)."""
        return cast(dict[TP, int], await self.call_thread(self._rewind, fetched, dict(offsets)))

    async def _rewind(
        self, fetched: FetchedRecords[TP, Any], offsets: dict[TP, int]
    ) -> dict[TP, int]:
        return rewind_positions(self._ensure_consumer(), fetched, offsets)


# --- the batch drain --------------------------------------------------------------------------


class _Fetched:
    """One fetch's ingress records, as the pipeline takes them, and their offsets to ack.

    It stands in faust's set of unacked messages for every record it holds: faust waits for
    that set to empty before a rebalance completes and before a stop, and this leaves it once
    the batch's outputs are stored (or the batch failed). faust's own path makes a Message per
    record, tracks and acks each one; one object per fetch does the same for far less.
    """

    __slots__ = ("__weakref__", "acked", "inbound", "offsets")
    refcount = 0  # faust's wait_empty logs (refcount, message) of whatever it waits for

    def __init__(self) -> None:
        self.acked = False
        self.inbound: list[InboundMessage] = []
        self.offsets: dict[TP, list[int]] = {}

    def __repr__(self) -> str:
        return f"<fetched batch of {len(self.inbound)} ingress records>"


class _BatchSink:
    """Receives fetched ingress records a batch at a time; acks them once outputs are stored."""

    def __init__(self, app: GatewayApp, processor: BatchProcessor, max_in_flight: int) -> None:
        self.app = app
        self.processor = processor
        self.topics = frozenset(processor.pipeline.ingress_topics())
        self.max_in_flight = max_in_flight
        self._in_flight: deque[tuple[asyncio.Future[None], int]] = deque()
        self._unacked = 0
        self._started = False

    async def deliver(self, fetched: _Fetched) -> None:
        if not self._started:
            self.processor.output.start()
            self._started = True
        inbound = fetched.inbound
        try:
            done = await self.processor.process(inbound)
        except Exception as error:  # the producer failed for good: the pipeline never raises
            self._fail(fetched, error)
            return
        self._unacked += len(inbound)
        self._in_flight.append((done, len(inbound)))
        lag = self.app.lag
        if lag is not None:
            # aiokafka's highwater is the fetch response's (ListOffsets is wrong on Tansu).
            positions = {
                (tp.topic, tp.partition): offsets[-1] + 1 for tp, offsets in fetched.offsets.items()
            }
            lag.update_many(positions, self._highwater)
        done.add_done_callback(lambda fut: self._settled(fut, fetched))
        # Backpressure: a broker slower than the pipeline must not grow memory without bound.
        while self._unacked > self.max_in_flight and self._in_flight:
            oldest, _ = self._in_flight[0]
            await asyncio.wait([oldest])
            self._trim()

    def _highwater(self, topic: str, partition: int) -> int | None:
        try:
            return cast(int | None, self.app.consumer.highwater(TP(topic, partition)))
        except (AssertionError, KeyError, AttributeError):
            return None  # revoked meanwhile: nothing to report for it

    def _trim(self) -> None:
        while self._in_flight and self._in_flight[0][0].done():
            self._in_flight.popleft()

    def _settled(self, fut: asyncio.Future[None], fetched: _Fetched) -> None:
        self._unacked -= len(fetched.inbound)
        self._trim()
        error = fut.exception()
        if error is not None:
            self._fail(fetched, error)
            return
        cast(_BatchConsumer, self.app.consumer).ack_fetched(fetched)

    def _fail(self, fetched: _Fetched, error: BaseException) -> None:
        # Never ack: the inputs stay uncommitted and are redelivered after the restart. The
        # batch leaves faust's in-flight set so the graceful stop below does not wait for it;
        # faust then commits only offsets below the first unacked one of each partition.
        log.critical("outputs of a batch were not stored, stopping the worker: %s", error)
        cast(_BatchConsumer, self.app.consumer).forget_fetched(fetched)
        if self.app.failure is None:
            self.app.failure = error
            os.kill(os.getpid(), signal.SIGTERM)


def _inbound(record: Any) -> InboundMessage:
    """An aiokafka ConsumerRecord as the pipeline's input (``timestamp`` in milliseconds)."""
    raw = record.headers
    timestamp = record.timestamp
    return InboundMessage(
        record.topic,
        record.partition,
        record.offset,
        record.key,
        record.value,
        _headers(raw) if raw else (),
        timestamp if timestamp is not None and timestamp >= 0 else 0,
    )


def _headers(raw: Any) -> tuple[tuple[str, bytes], ...]:
    # Kafka allows a header without a value; the core's records hold bytes, so a null
    # header value reaches it (and any dead letter) as empty bytes.
    pairs = raw.items() if isinstance(raw, Mapping) else raw
    return tuple((str(name), _header_bytes(value)) for name, value in pairs)


def _header_bytes(value: bytes | str | None) -> bytes:
    if value is None:
        return b""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


class _BatchConsumer(aiokafka_driver.Consumer):
    """faust's aiokafka consumer, with ingress records drained a fetch at a time."""

    def _new_consumer_thread(self) -> aiokafka_driver.AIOKafkaConsumerThread:
        return _FetchWaitConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def highwaters(self, *partitions: TP) -> Mapping[TP, int]:
        # Only faust's table recovery asks: it reads each changelog partition up to these
        # and resumes the ingress partitions after that. faust's answer is ListOffsets, below
        # the real end on Tansu; these come from fetch responses (runtime/recovery.py).
        return await cast(GatewayApp, self.app).changelog_ends.ends(partitions)

    def ack_fetched(self, fetched: _Fetched) -> None:
        """faust's ``ack`` for every record of ``fetched`` at once; it leaves the unacked set.

        Per partition, as ``Consumer.ack`` does per message: offsets below the committed one
        and offsets already acked are skipped, the rest join the acked list the next commit
        reads (it commits up to the first gap).
        """
        with ack_lock:
            committed_offsets = self._committed_offset
            for tp, offsets in fetched.offsets.items():
                committed = committed_offsets[tp]
                acked_index = self._acked_index[tp]
                fresh = [
                    offset
                    for offset in offsets
                    if (committed is None or offset >= committed) and offset not in acked_index
                ]
                if fresh:
                    acked_index.update(fresh)
                    self._acked[tp].extend(fresh)
                    self._n_acked += len(fresh)
            fetched.acked = True
            self._unacked().discard(fetched)
            notify(self._waiting_for_ack)

    def forget_fetched(self, fetched: _Fetched) -> None:
        """Take ``fetched`` out of the unacked set without acking it (its outputs failed)."""
        self._unacked().discard(fetched)

    def _unacked(self) -> MutableSet[Any]:
        # faust types the set as holding Messages; for the gateway's topics it holds batches.
        return cast(MutableSet[Any], self._unacked_messages)

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - loops forever
        # Mirrors faust's Consumer._drain_messages and Consumer.getmany (read offsets, gaps,
        # commit_every, flow and generation checks, paused partitions) except that:
        # - records of the gateway's topics go to the sink as one batch per fetch, straight
        #   from aiokafka's records: no faust Message, no per-record tracking or ack;
        # - records not routed now (the flow stopped, the generation changed, the partition is
        #   not active) go back to the consumer (runtime/rewind.py), where faust drops them and
        #   seeks back only partitions with a committed offset: a takeover's first records were
        #   lost that way until the next rebalance.
        # Other records (changelogs while recovering) take faust's per-message path.
        sink = cast(GatewayApp, self.app).sink
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        commit_every = self._commit_every
        gateway_topics = sink.topics
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                await self.sleep(0)
                if self.should_stop:
                    break
                fetched = await self._step(gateway_topics)
                if fetched is not None and fetched.inbound:
                    self._unacked().add(fetched)
                    await sink.deliver(fetched)
                if commit_every is not None and self._n_acked >= commit_every:
                    self._n_acked = 0
                    await self.commit()
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise

    async def _step(self, gateway_topics: frozenset[str]) -> _Fetched | None:
        """One fetch: its records of ``gateway_topics`` as one batch for the sink (None when
        the fetch returned nothing); other topics' records are dispatched one by one, and
        records not routed now are given back to the consumer."""
        records, active = await self._wait_next_records(1.0)
        if records is None or self.should_stop:
            return None
        fetched = _Fetched()
        unrouted = Unrouted()
        step = _FetchStep(self, active)
        for tp, tp_records in records.items():
            if not tp_records:
                continue
            if not step.routes(tp):
                unrouted.hold(tp, tp_records[0].offset)
                continue
            self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
            if tp.topic in gateway_topics:
                await self._take(tp, tp_records, fetched, step, unrouted)
            else:
                await self._dispatch(tp, tp_records, step, unrouted)
        if unrouted and isinstance(records, FetchedRecords):
            thread = cast(_FetchWaitConsumerThread, self._thread)
            await thread.rewind(records, unrouted.offsets)
        return fetched

    async def _take(
        self,
        tp: TP,
        records: Sequence[Any],
        fetched: _Fetched,
        step: _FetchStep,
        unrouted: Unrouted,
    ) -> None:
        """Add ``records`` of a gateway topic to ``fetched``, as faust's loop reads them.

        Nothing is awaited between records except to note a gap (rare), after which the
        step is asked again whether the partition still routes.
        """
        read_offset = self._read_offset[tp]
        gaps_count = self.app.topics.acks_enabled_for(tp.topic)
        taken: list[int] = []
        append = fetched.inbound.append
        for record in records:
            offset = record.offset
            if read_offset is not None:
                if offset < read_offset:
                    continue  # already read before a seek: faust skips it too
                if read_offset and offset - read_offset > 1 and gaps_count:
                    # compacted or aborted records: a gap the commit may cross
                    await self._add_gap(tp, read_offset + 1, offset)
                    if not step.routes(tp):
                        unrouted.hold(tp, offset)
                        break
            append(_inbound(record))
            taken.append(offset)
            read_offset = offset
        if taken:
            self._read_offset[tp] = read_offset
            fetched.offsets[tp] = taken

    async def _dispatch(
        self, tp: TP, records: Sequence[Any], step: _FetchStep, unrouted: Unrouted
    ) -> None:
        """faust's per-message path, for records of other topics (changelogs)."""
        acks_enabled = self.app.topics.acks_enabled_for(tp.topic)
        for record in records:
            if not step.routes(tp):  # each record awaits: the flow may stop in between
                unrouted.hold(tp, record.offset)
                return
            offset = record.offset
            read_offset = self._read_offset[tp]
            if read_offset is not None and offset < read_offset:
                continue
            if read_offset and offset - read_offset > 1 and acks_enabled:
                await self._add_gap(tp, read_offset + 1, offset)
            message = self._to_message(tp, record)
            await self.wait_first(self.callback(message), self.suspend_flow.wait())
            self._read_offset[tp] = offset


class _FetchStep:
    """Whether a fetch's records of a partition are routed now, as faust's getmany decides:
    only while the flow runs in the generation they were fetched in and the partition is
    active (or buffered). Asked per partition, and again after anything awaited."""

    __slots__ = ("active", "consumer", "generation")

    def __init__(self, consumer: _BatchConsumer, active: set[TP] | None) -> None:
        self.consumer = consumer
        self.active = active
        self.generation = consumer.app.consumer_generation_id

    def routes(self, tp: TP) -> bool:
        consumer = self.consumer
        if not consumer.flow_active or consumer.app.consumer_generation_id != self.generation:
            return False
        active = self.active
        return active is None or tp in active or tp in consumer._buffered_partitions


class _Transport(aiokafka_driver.Transport):
    Consumer = _BatchConsumer


# --- tables -----------------------------------------------------------------------------------


class _ContextTable(Table[str, bytes]):
    """A faust Table whose writes go to the changelog partition of the current input."""

    write_context: WriteContext

    def partition_for_key(self, key: Any) -> int | None:
        return _context_partition(self, self.write_context)


def _context_partition(table: Any, context: WriteContext) -> int:
    if context.partition is None:
        raise RuntimeError(
            f"table {table.name!r} written outside an input or a sweep: no partition to use"
        )
    if context.topic is not None:
        # faust's own check: the source topic and the changelog have one partition count.
        table._verify_source_topic_partitions(context.topic)
    return context.partition


def table_partitions(catalog: Catalog) -> int:
    """The one partition count every table changelog shares with the ingress topics."""
    ingress = catalog.ingress_topics("")
    counts = {fam.partitions for fam, _ in ingress.values()}
    if len(counts) != 1:
        raise ConfigError(
            "the gateway keeps its tables co-partitioned with every ingress topic, so all "
            f"families need one partition count; the catalog has {sorted(counts)}"
        )
    return counts.pop()


# --- the app ----------------------------------------------------------------------------------


class GatewayApp(faust.App):
    """A faust App whose consumer drains ingress records in batches into the pipeline."""

    sink: _BatchSink
    fetch_max_wait_ms: int
    changelog_ends: ChangelogEnds
    processor: BatchProcessor
    lag: LagTracker | None
    shutdown_grace_s: float
    # Set when outputs could not be stored; the worker then stops and exits non-zero.
    failure: BaseException | None = None

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)


def _credentials(options: AsyncClientOptions) -> Any:
    if options.sasl_mechanism is not None:
        return faust.SASLCredentials(
            username=options.sasl_username,
            password=options.sasl_password,
            mechanism=options.sasl_mechanism.value,
            ssl_context=options.ssl_context,
        )
    if options.security_protocol is SecurityProtocol.SSL and options.ssl_context is not None:
        return faust.SSLCredentials(options.ssl_context)
    return None


def build_app(
    options: AsyncClientOptions,
    catalog: Catalog,
    pipeline: Pipeline,
    output: OutputProducer,
    worker: WorkerOptions,
    *,
    metrics: GatewayMetrics | None = None,
    lag: LagTracker | None = None,
) -> GatewayApp:
    """The gateway's faust app: tables from GatewayState, ingress topics from the pipeline."""
    topics: Sequence[str] = pipeline.ingress_topics()
    partitions = table_partitions(catalog)
    # faust keeps little in its data directory with the memory store; one per app id, so
    # restarts reuse it instead of leaving a new one behind each time.
    data_dir = worker.data_dir or Path(tempfile.gettempdir()) / f"velocity-gateway-{worker.app_id}"
    app = GatewayApp(
        worker.app_id,
        broker=[f"kafka://{server.strip()}" for server in options.bootstrap_servers.split(",")],
        broker_credentials=_credentials(options),
        broker_client_id=options.client_id,
        store="memory://",
        datadir=str(data_dir),
        web_enabled=False,
        # No leader election topic: the gateway needs no leader.
        topic_disable_leader=True,
        processing_guarantee="at_least_once",
        broker_session_timeout=options.session_timeout_ms / 1000.0,
        broker_heartbeat_interval=options.heartbeat_interval_ms / 1000.0,
        broker_request_timeout=max(90.0, 2 * options.session_timeout_ms / 1000.0),
        broker_max_poll_records=worker.max_batch,
        broker_commit_interval=worker.commit_interval_s,
        consumer_auto_offset_reset="earliest",
        topic_partitions=partitions,
        topic_replication_factor=catalog.replication_factor,
        # Changelog writes ride faust's producer; batch them a little.
        producer_linger=0.005,
        producer_acks=-1,
        key_serializer="raw",
        value_serializer="raw",
        stream_wait_empty=True,
    )
    app.fetch_max_wait_ms = options.fetch_max_wait_ms
    app.changelog_ends = ChangelogEnds(options)
    app.shutdown_grace_s = worker.shutdown_grace_s
    context = WriteContext()
    tables: dict[str, Any] = {}
    for name in GatewayState.table_names():
        table = _ContextTable(
            app,
            name=name,
            default=None,
            beacon=app.tables.beacon,
            partitions=partitions,
            # str keys travel as JSON strings (faust's default for str), values as raw bytes.
            key_type=str,
            value_type=bytes,
            help=f"gateway state: {name}",
        )
        table.write_context = context
        tables[name] = app.tables.add(table)
    state = GatewayState(tables)
    processor = BatchProcessor(pipeline, state, output, context, metrics=metrics)
    app.lag = lag
    app.processor = processor
    app.sink = _BatchSink(app, processor, worker.max_in_flight)

    ingress = app.topic(
        *topics, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )

    # The agent subscribes the ingress topics (and makes faust co-partition them with the
    # tables); the batch drain hands their records to the sink, so it never receives one.
    @app.agent(ingress, name="velocity-gateway")
    async def _ingress(stream: Any) -> None:
        async for event in stream.events():
            log.error("ingress record reached the faust agent: %s", event.message.tp)

    async def _sweep() -> None:
        if app.rebalancing or cast(Any, app.tables).recovery.in_recovery:
            return
        owned = [tp for tp in app.consumer.assignment() if tp.topic in topics]
        if not owned:
            return
        if not app.sink._started:
            output.start()
            app.sink._started = True
        _observe_backlog(app, owned)
        done = await processor.expire({tp.partition for tp in owned})
        await done

    app.timer(worker.expire_interval_s)(_sweep)

    async def _assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        assigned: set[TP] = args[0] if args else set()
        # Every ingress partition (kept ones too) waits for a watermark seen from now on.
        processor.catch_up.assign((tp.topic, tp.partition) for tp in assigned if tp.topic in topics)

    async def _revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        revoked: set[TP] = args[0] if args else set()
        processor.catch_up.revoke((tp.topic, tp.partition) for tp in revoked)
        # Another worker reports these partitions now.
        if lag is not None:
            for tp in revoked:
                lag.remove(tp.topic, tp.partition)
        if metrics is not None:
            metrics.approvals.forget_partitions({tp.partition for tp in revoked})

    async def _recount_pending() -> None:
        # The pending-approvals gauge is recounted from the tables now and then: a restarted
        # or rebalanced worker starts from them, not from what it happened to observe.
        if metrics is None or app.rebalancing or cast(Any, app.tables).recovery.in_recovery:
            return
        owned = {tp.partition for tp in app.consumer.assignment() if tp.topic in topics}
        metrics.approvals.resync(pending_in_state(state, owned))

    app.on_partitions_assigned.connect(_assigned)
    app.on_partitions_revoked.connect(_revoked)
    app.timer(PENDING_RECOUNT_INTERVAL_S)(_recount_pending)
    return app


def _observe_backlog(app: GatewayApp, owned: Sequence[TP]) -> None:
    """Tell the expiry gate each owned partition's high watermark and committed offset.

    The watermark is aiokafka's ``highwater``: the last fetch response's (ListOffsets is wrong
    on Tansu), reset by every new assignment, so the first one seen is from after it. The
    committed offset is faust's: inputs below it were routed and their table writes stored.
    """
    gate = app.processor.catch_up
    consumer = cast(Any, app.consumer)
    committed: Mapping[TP, int | None] = consumer._committed_offset
    for tp in owned:
        key = (tp.topic, tp.partition)
        if not gate.tracks(key):
            gate.assign([key])  # assigned before the signal reached us: tracked from here
        try:
            high = cast(int | None, consumer.highwater(tp))
        except (AssertionError, KeyError, AttributeError):
            high = None  # revoked meanwhile
        gate.observe(key, high, committed.get(tp))


def assigned_partitions(app: GatewayApp) -> set[TP]:
    """The topic partitions this worker owns now (for logs and tests)."""
    return set(app.consumer.assignment())


class _Worker(faust.Worker):
    """faust's worker, whose stop (on SIGTERM or SIGINT) has a deadline."""

    deadline: ShutdownDeadline

    def _repr_name(self) -> str:
        return "Worker"  # log lines keep faust's "[^Worker]: Ready" that tools wait for

    def _schedule_shutdown(self, sig: signal.Signals) -> None:
        # mode calls this for every stop signal (and _BatchSink._fail signals the process
        # itself); only the first one arms the deadline, as only the first starts the stop.
        self.deadline.arm(f"signal {sig.name}")
        super()._schedule_shutdown(sig)


def run_worker(app: GatewayApp, *, loglevel: str = "info") -> int:
    """Run the worker in this process until a signal stops it; the exit code.

    The stop a signal starts ends within ``app.shutdown_grace_s``: if faust has not finished
    by then, the process exits with code 1 from the deadline's thread (runtime/shutdown.py).
    Run it in a process of its own, never inside one that must outlive it.
    """
    # override_logging=False: the worker's own handler (JSON or text, with trace ids) stays;
    # faust would otherwise replace the root handlers with its coloured one. No spinner
    # either: its terminal escapes would land among the log lines (and it hides "Ready").
    worker = _Worker(
        app, loglevel=loglevel, quiet=True, redirect_stdouts=False, override_logging=False
    )
    worker.spinner = None
    # Armed by the first stop signal; stays armed until the process is gone, since what runs
    # after faust returns (closing librdkafka among it) may wait on the broker too.
    worker.deadline = ShutdownDeadline(app.shutdown_grace_s)
    # Everything built so far (modules, the catalog, compiled schemas, faust's services) lives
    # as long as the process: keep it out of the cyclic GC's generations, so full collections
    # only walk what the work itself allocates (shorter pauses, lower p99).
    gc.freeze()
    try:
        worker.execute_from_commandline()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    else:
        code = 0
    if (app.failure is not None or app.crash_reason is not None) and code == 0:
        code = 1
    unconfirmed = app.processor.output.in_flight
    if unconfirmed and code == 0:
        # Their inputs were never acked, so never committed: the next worker reads them again.
        log.error("%d outputs were not confirmed by the broker before the stop", unconfirmed)
        code = EXIT_DEADLINE
    return code
