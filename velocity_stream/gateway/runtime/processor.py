"""Runs batches of inputs through the pure pipeline and hands their outputs to the producer.

The adapter (faust_app.py) calls :meth:`BatchProcessor.process` with each fetched batch and
acks the batch's input offsets when the returned future resolves. Per batch, in order:

1. each input is routed by ``Pipeline.process`` with the write context set to the input's
   topic and partition, so its table writes go to that partition's changelog;
2. every output is queued on the output producer under the batch's delivery barrier;
3. the future resolves once the broker has stored every output (acks=all);
4. only then does the adapter ack the inputs; faust commits acked offsets later, after
   flushing the table changelog writes. A crash anywhere before 4 redelivers the inputs, and
   the pipeline repeats their first outputs byte for byte (at-least-once, deterministic).

An output refused as too large (step 2 or 3) is replaced by a dead letter of its input
(``route.output_too_large``; a dead letter too large itself loses the input's bytes and says
so) and the batch goes on: a bad message never stops the worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from velocity_stream.errors import ReasonCode
from velocity_stream.gateway.catchup import CatchUp, TopicPartition
from velocity_stream.gateway.messages import OutboundMessage, Outcome
from velocity_stream.gateway.outputs import output_size
from velocity_stream.gateway.pipeline import Pipeline
from velocity_stream.gateway.runtime.output import OutputProducer
from velocity_stream.gateway.state import GatewayState
from velocity_stream.observability import GatewayMetrics, trace_context, trace_id_from_headers
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.protocol.routes import RouteKind

log = logging.getLogger(__name__)


@dataclass(slots=True)
class WriteContext:
    """Which input the tables are being written for: its topic and partition.

    faust keeps a table key on the changelog partition of the event that wrote it; the batch
    path has no faust event per input, so the tables read the partition from here instead.
    """

    topic: str | None = None
    partition: int | None = None

    def set(self, topic: str | None, partition: int | None) -> None:
        self.topic = topic
        self.partition = partition


@dataclass
class GatewayStats:
    """Running counts for logs, tests and the benchmark."""

    inputs: int = 0
    outputs: int = 0
    batches: int = 0
    # Age (now - record timestamp) of each batch's newest input when processed: how far
    # behind the worker runs, including the fetch wait.
    max_age_ms: int = 0
    total_age_ms: int = 0
    routes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)

    def count_all(self, outcomes: Sequence[Outcome]) -> None:
        """Count each of ``outcomes`` by route (and a dead letter by reason), adding to the
        route counters once per route."""
        routes: dict[RouteKind, int] = {}
        for outcome in outcomes:
            route = outcome.route
            routes[route] = routes.get(route, 0) + 1
            if route is RouteKind.DEAD_LETTER and outcome.reason is not None:
                self.reasons[outcome.reason.value] += 1
        for route, n in routes.items():
            self.routes[route.value] += n

    def summary(self) -> str:
        routes = ", ".join(f"{name}={n}" for name, n in sorted(self.routes.items()))
        mean_age = self.total_age_ms / self.batches if self.batches else 0.0
        return (
            f"{self.inputs} inputs in {self.batches} batches, {self.outputs} outputs ({routes}); "
            f"input age at processing: mean {mean_age:.0f} ms, max {self.max_age_ms} ms"
        )


class BatchProcessor:
    """Pipeline + state + output producer; one per worker, used from the event loop only."""

    def __init__(
        self,
        pipeline: Pipeline,
        state: GatewayState,
        output: OutputProducer,
        context: WriteContext,
        *,
        clock: Callable[[], int] | None = None,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.state = state
        self.output = output
        self.context = context
        self.clock = clock or (lambda: time.time_ns() // 1_000_000)
        self.stats = GatewayStats()
        self.metrics = metrics
        # Holds expire only once the worker has read its backlog as of assignment (the
        # adapter reports assignments and watermarks; see catchup.py for why).
        self.catch_up = CatchUp()
        self._sweeping = False
        output.on_too_large(self.stand_in)

    async def process(self, messages: Sequence[InboundMessage]) -> asyncio.Future[None]:
        """Route ``messages`` in order and queue their outputs; the future is the barrier.

        The loop runs once per input, so it does only what each input needs: the write
        context and the read position change with the partition (a fetch hands records over
        a partition at a time), a trace id is made current only for an input that carries
        one (the batch runs with none), and routes are counted once per batch.
        """
        process = self.pipeline.process
        state = self.state
        context = self.context
        outputs: list[OutboundMessage] = []
        extend = outputs.extend
        outcomes: list[Outcome] = []
        append = outcomes.append
        positions: dict[TopicPartition, int] = {}
        last: InboundMessage | None = None
        try:
            with trace_context(None):
                for message in messages:
                    if (
                        last is None
                        or message.partition != last.partition
                        or message.topic != last.topic
                    ):
                        if last is not None:
                            positions[(last.topic, last.partition)] = last.offset + 1
                        context.set(message.topic, message.partition)
                    last = message
                    headers = message.headers
                    # The producer's trace id goes on every log line written while routing it.
                    trace = trace_id_from_headers(headers) if headers else None
                    if trace is None:
                        outcome = process(message, state)
                    else:
                        with trace_context(trace):
                            outcome = process(message, state)
                    append(outcome)
                    extend(outcome.outputs)
        finally:
            context.set(None, None)
            if last is not None:
                positions[(last.topic, last.partition)] = last.offset + 1
            # Also when routing raised: the pipeline never does, and a position noted too
            # early only matters to a worker that is stopping anyway.
            self.catch_up.read(positions)
        stats = self.stats
        stats.count_all(outcomes)
        stats.inputs += len(messages)
        stats.batches += 1
        if messages:
            age = max(0, self.clock() - messages[-1].timestamp_ms)
            stats.total_age_ms += age
            stats.max_age_ms = max(stats.max_age_ms, age)
        return await self._ship(outputs, outcomes)

    async def expire(self, partitions: Iterable[int]) -> asyncio.Future[None]:
        """Sweep held inputs of each partition (with that partition as the write context).

        Nothing is swept until :attr:`catch_up` says the worker has read its backlog as of
        assignment: a hold restored from the changelog may already have been released by an
        input that is still to be read again (its deadline may have passed while the worker
        was down).
        """
        if not self.catch_up.caught_up():
            if self._sweeping:
                self._sweeping = False
                log.info("held inputs wait: catching up with the backlog of a new assignment")
            return await self._ship([], [])
        if not self._sweeping:
            self._sweeping = True
            log.info("caught up with the backlog as of assignment: sweeping held inputs")
        now = self.clock()
        outputs: list[OutboundMessage] = []
        outcomes: list[Outcome] = []
        try:
            for partition in sorted(partitions):
                # The partition's own changelog must receive the sweep's writes; inputs
                # released here write keys of the same partition (their own keys).
                self.context.set(None, partition)
                for outcome in self.pipeline.expire(now, self.state, partitions=(partition,)):
                    outcomes.append(outcome)
                    outputs.extend(outcome.outputs)
        finally:
            self.context.set(None, None)
        self.stats.count_all(outcomes)
        return await self._ship(outputs, outcomes)

    def stand_in(self, output: OutboundMessage, why: str) -> OutboundMessage | None:
        """The dead letter to send in place of ``output``, refused as too large; None if none."""
        replacement = self.pipeline.out.refused(output, why)
        source = output.source
        where = (
            f"{source.topic}/{source.partition}@{source.offset}"
            if source is not None
            else "an unknown input"
        )
        size = output_size(output)
        if replacement is None:
            log.critical(
                "the broker refused the %d-byte output of %s to %s as too large (%s) and "
                "nothing smaller can stand in for it: check the topic's max.message.bytes",
                size,
                where,
                output.topic,
                why,
            )
            return None
        if output.topic == self.pipeline.routes.dead_letter_topic:
            log.error(
                "the %d-byte dead letter of %s is too large for %s (%s): sent without the "
                "input's bytes and headers; the original stays at those coordinates",
                size,
                where,
                output.topic,
                why,
            )
        else:
            log.error(
                "the broker refused the %d-byte output of %s to %s as too large (%s): "
                "dead-lettered as %s",
                size,
                where,
                output.topic,
                why,
                ReasonCode.ROUTE_OUTPUT_TOO_LARGE.value,
            )
            self._count_refusal(source)
        return replacement

    def _count_refusal(self, source: InboundMessage | None) -> None:
        reason = ReasonCode.ROUTE_OUTPUT_TOO_LARGE
        self.stats.reasons[reason.value] += 1
        if self.metrics is not None:
            # The input itself is counted under its route when its batch is stored; the dead
            # letter in place of its refused output is counted here, by its reason.
            probe = Outcome(RouteKind.DEAD_LETTER, (), reason, source)
            family = self.metrics.family_of(probe)
            self.metrics.metrics.dead_letters.labels(family, reason.value).inc()

    async def _ship(
        self, outputs: list[OutboundMessage], outcomes: list[Outcome]
    ) -> asyncio.Future[None]:
        barrier = self.output.barrier()
        if outputs:
            await self.output.send(outputs, barrier)
            self.stats.outputs += len(outputs)
        done = self.output.seal(barrier)
        if self.metrics is not None:
            # Counted once the broker stored the outputs; a lost batch is counted on redelivery.
            self.metrics.observe_when_stored(done, outcomes)
        return done
