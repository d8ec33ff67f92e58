"""Every Prometheus metric the project exports, defined once, and the typed calls that move them.

Workers never touch prometheus_client objects directly: the gateway runtime calls
:class:`GatewayMetrics`, the stream consumers call :class:`ConsumerMetrics`, and both feed
consumer lag through a :class:`~velocity_stream.observability.lag.LagTracker`. Names, labels
and buckets live here so the docs (docs/metrics.md) have one place to agree with.
"""

from __future__ import annotations

import asyncio
import threading
import time
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from typing import Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from velocity_stream.contracts.catalog import Catalog
from velocity_stream.errors import ReasonCode
from velocity_stream.observability.approvals import PendingApprovals
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.protocol.routes import RouteKind

UNKNOWN_FAMILY = "unknown"

# The routes the pending-approvals gauge and the decision latency follow.
_APPROVAL_ROUTES = frozenset(
    {RouteKind.PENDING_APPROVAL, RouteKind.AUTO_APPROVED, RouteKind.DECISION_APPLIED}
)


class Outcome(Protocol):
    """What the metrics read of one gateway outcome (the gateway's ``Outcome`` has it): plain
    values, so this package imports nothing of the gateway."""

    @property
    def route(self) -> RouteKind: ...
    @property
    def outputs(self) -> Sequence[object]: ...
    @property
    def reason(self) -> ReasonCode | None: ...
    @property
    def source(self) -> InboundMessage | None: ...
    @property
    def released(self) -> Sequence[Outcome]: ...


# End to end: a Tansu fetch wait of 10 ms to a held record released minutes later.
END_TO_END_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
)
# Decisions are made by people (minutes to days) or by auto rules (one gateway round trip).
DECISION_BUCKETS = (
    0.1,
    1.0,
    10.0,
    60.0,
    300.0,
    900.0,
    3600.0,
    4 * 3600.0,
    12 * 3600.0,
    24 * 3600.0,
    3 * 24 * 3600.0,
    7 * 24 * 3600.0,
)


class VelocityMetrics:
    """The metric objects, registered on one registry (a fresh one per test, the global one
    in a worker so the process and GC collectors come along)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else REGISTRY
        r = self.registry
        self.messages_in = Counter(
            "velocity_gateway_messages_in",
            "Gateway inputs by family and the route they ended in (a held input counts once "
            "as held, then again under its final route when released or expired).",
            ("family", "route"),
            registry=r,
        )
        self.messages_out = Counter(
            "velocity_gateway_messages_out",
            "Records the gateway produced (acknowledged by the broker), by the route and "
            "family of the input that caused them.",
            ("family", "route"),
            registry=r,
        )
        self.dead_letters = Counter(
            "velocity_gateway_dead_letters",
            "Inputs dead-lettered, by reason code (docs/reason-codes.md) and family.",
            ("family", "reason"),
            registry=r,
        )
        self.pending_approvals = Gauge(
            "velocity_gateway_pending_approvals",
            "Proposals routed to human review and not yet decided, on this worker's partitions "
            "(sum over workers for the total).",
            registry=r,
        )
        self.decision_latency = Histogram(
            "velocity_gateway_decision_latency_seconds",
            "From the gateway seeing a proposal to it applying the decision on it.",
            ("decided_by",),
            buckets=DECISION_BUCKETS,
            registry=r,
        )
        self.end_to_end_latency = Histogram(
            "velocity_gateway_end_to_end_latency_seconds",
            "From the producer's record timestamp to the gateway's outputs being acknowledged.",
            ("family", "route"),
            buckets=END_TO_END_BUCKETS,
            registry=r,
        )
        self.consumer_lag = Gauge(
            "velocity_consumer_lag",
            "Records between a consumer's position and the high watermark of the last fetch "
            "response (never ListOffsets, which embedded brokers can get wrong).",
            ("group", "topic", "partition"),
            registry=r,
        )
        self.events_applied = Counter(
            "velocity_consumer_events_applied",
            "Events a stream consumer applied to its store (rate() of it is the apply rate); "
            "duplicates it skipped are not counted.",
            ("consumer",),
            registry=r,
        )
        self.events_duplicate = Counter(
            "velocity_consumer_events_duplicate",
            "Redelivered events a stream consumer recognised and skipped.",
            ("consumer",),
            registry=r,
        )
        self.events_rejected = Counter(
            "velocity_consumer_events_rejected",
            "Records a stream consumer could not apply, by reason code.",
            ("consumer", "reason"),
            registry=r,
        )


_default: VelocityMetrics | None = None
_default_lock = threading.Lock()


def default_metrics() -> VelocityMetrics:
    """The process-wide metrics on prometheus_client's global registry, made on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = VelocityMetrics()
        return _default


class GatewayMetrics:
    """What the gateway runtime reports: one :meth:`observe` per outcome, after its outputs
    are acknowledged (and per outcome of the expiry sweep).

    ``topic_families`` maps ingress topics to family names (see :meth:`for_catalog`), so an
    outcome's family comes from the topic it was read from, even for inputs too broken to
    decode. Label children are cached: the gateway calls this for every message.
    """

    def __init__(
        self,
        topic_families: Mapping[str, str],
        metrics: VelocityMetrics | None = None,
    ) -> None:
        self.metrics = metrics or default_metrics()
        self.topic_families = dict(topic_families)
        self.approvals = PendingApprovals(self.metrics.pending_approvals)
        self._in: dict[tuple[str, RouteKind], Counter] = {}
        self._out: dict[tuple[str, RouteKind], Counter] = {}
        self._latency: dict[tuple[str, RouteKind], Histogram] = {}

    @classmethod
    def for_catalog(
        cls, catalog: Catalog, topic_prefix: str, metrics: VelocityMetrics | None = None
    ) -> GatewayMetrics:
        """Families named from the catalog's ingress topics under ``topic_prefix``."""
        topics = catalog.ingress_topics(topic_prefix)
        return cls({topic: family.name for topic, (family, _) in topics.items()}, metrics)

    def family_of(self, outcome: Outcome) -> str:
        source = outcome.source
        if source is None:
            return UNKNOWN_FAMILY
        return self.topic_families.get(source.topic, UNKNOWN_FAMILY)

    def observe(
        self,
        outcome: Outcome,
        family: str | None = None,
        latency_s: float | None = None,
        *,
        now_s: float | None = None,
    ) -> None:
        """Count one outcome (and the held inputs it released) once its outputs are acked.

        ``latency_s`` is the end-to-end latency of ``outcome`` itself; by default it is
        ``now_s`` (default: the wall clock) minus the input's record timestamp. Released
        outcomes always use their own input's timestamp, so their latency includes the hold.
        """
        now = time.time() if now_s is None else now_s
        self._observe(outcome, family or self.family_of(outcome), latency_s, now)

    def observe_when_stored(
        self, stored: asyncio.Future[None], outcomes: Sequence[Outcome]
    ) -> None:
        """Observe ``outcomes`` when ``stored`` (a batch's delivery barrier) resolves.

        Nothing is counted when the outputs were not stored: the inputs will be redelivered
        and counted then. The end-to-end latency is measured at that moment.
        """
        if not outcomes:
            return

        def settled(future: asyncio.Future[None]) -> None:
            if future.cancelled() or future.exception() is not None:
                return
            now = time.time()
            # A batch's outcomes mostly share a few (family, route) pairs: tally them here
            # and add each pair's total once (a labelled metric takes a lock per add).
            tally = _Tally()
            observe = self._observe
            family_of = self.family_of
            for outcome in outcomes:
                observe(outcome, family_of(outcome), None, now, tally)
            self._add(tally)

        stored.add_done_callback(settled)

    def _add(self, tally: _Tally) -> None:
        for key, n in tally.ins.items():
            counter = self._in.get(key)
            if counter is None:
                counter = self._in[key] = self.metrics.messages_in.labels(key[0], key[1].value)
            counter.inc(n)
        for key, n in tally.outs.items():
            counter = self._out.get(key)
            if counter is None:
                counter = self._out[key] = self.metrics.messages_out.labels(key[0], key[1].value)
            counter.inc(n)
        for (family, reason), n in tally.dead.items():
            self.metrics.dead_letters.labels(family, reason).inc(n)
        for key, seconds in tally.latencies.items():
            histogram = self._latency.get(key)
            if histogram is None:
                histogram = self._latency[key] = self.metrics.end_to_end_latency.labels(
                    key[0], key[1].value
                )
            observe_many(histogram, seconds)

    def _observe(
        self,
        outcome: Outcome,
        family: str,
        latency_s: float | None,
        now: float,
        tally: _Tally | None = None,
    ) -> None:
        """Count ``outcome``; with ``tally`` given, its counts and latency are added there
        for the caller to add to the metrics (:meth:`_add`), else at once."""
        single = tally is None
        if tally is None:
            tally = _Tally()
        route = outcome.route
        key = (family, route)
        ins = tally.ins
        ins[key] = ins.get(key, 0) + 1
        # ``outputs`` already holds the released outcomes' outputs (appended last); count
        # each output under the outcome that made it.
        own = len(outcome.outputs)
        released = outcome.released
        if released:
            own -= sum(len(item.outputs) for item in released)
        if own > 0:
            outs = tally.outs
            outs[key] = outs.get(key, 0) + own
            if latency_s is not None:
                seconds: float | None = latency_s
            else:
                # From the record's timestamp; none when the producer set none.
                source = outcome.source
                stamp = source.timestamp_ms if source is not None else 0
                # Producer and gateway clocks differ a little; negative means "at once".
                seconds = max(0.0, now - stamp / 1000.0) if stamp > 0 else None
            if seconds is not None:
                latencies = tally.latencies.get(key)
                if latencies is None:
                    tally.latencies[key] = [seconds]
                else:
                    latencies.append(seconds)
        if route in _APPROVAL_ROUTES:
            self._approvals(outcome, now)
        elif route is RouteKind.DEAD_LETTER:
            reason = outcome.reason.value if outcome.reason is not None else "unknown"
            dead = tally.dead
            dead[family, reason] = dead.get((family, reason), 0) + 1
        for item in released:
            self._observe(item, self.family_of(item), None, now, tally)
        if single:
            self._add(tally)

    def _approvals(self, outcome: Outcome, now: float) -> None:
        route = outcome.route
        source = outcome.source
        if source is None or source.key is None:
            return
        if route is RouteKind.PENDING_APPROVAL:
            self.approvals.pending(source.key, source.partition, now)
        elif route is RouteKind.AUTO_APPROVED:
            self.approvals.auto_approved(source.key, source.partition, now)
        elif route is RouteKind.DECISION_APPLIED:
            decided = self.approvals.decided(source.key, now)
            if decided is not None:
                waited, by = decided
                self.metrics.decision_latency.labels(by.value).observe(waited)


class _Tally:
    """One batch's counts and latencies by label set, added to the metrics at once."""

    __slots__ = ("dead", "ins", "latencies", "outs")

    def __init__(self) -> None:
        self.ins: dict[tuple[str, RouteKind], int] = {}
        self.outs: dict[tuple[str, RouteKind], int] = {}
        self.dead: dict[tuple[str, str], int] = {}
        self.latencies: dict[tuple[str, RouteKind], list[float]] = {}


def observe_many(histogram: Histogram, values: Sequence[float]) -> None:
    """``histogram.observe(v)`` for each of ``values``, taking each bucket's lock once.

    prometheus_client has no call for many observations; each ``observe`` takes two locks
    (the sum and a bucket), which cost more than anything else the gateway does per record
    for its metrics. This bins the values first (a value lands in the first bucket whose upper
    bound it does not exceed, as ``observe`` puts it) and adds each bucket's count and the sum
    once, through the child's ``_upper_bounds``, ``_buckets`` and ``_sum``. A
    prometheus_client without them gets one ``observe`` per value
    (tests/unit/observability/test_observe_many.py holds the two to the same result).
    """
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for value in values:
            histogram.observe(value)
        return
    counts = [0] * len(bounds)
    last = len(bounds) - 1
    for value in values:
        counts[min(bisect_left(bounds, value), last)] += 1
    for bucket, n in zip(buckets, counts, strict=True):
        if n:
            bucket.inc(n)
    total.inc(sum(values))


class ConsumerMetrics:
    """What a stream consumer (read model, committer) reports, under its name."""

    def __init__(self, consumer: str, metrics: VelocityMetrics | None = None) -> None:
        self.consumer = consumer
        self.metrics = metrics or default_metrics()
        self._applied = self.metrics.events_applied.labels(consumer)
        self._duplicates = self.metrics.events_duplicate.labels(consumer)

    def applied(self, n: int = 1) -> None:
        """``n`` events were applied (count after the store's transaction committed)."""
        if n > 0:
            self._applied.inc(n)

    def duplicates(self, n: int = 1) -> None:
        """``n`` redelivered events were recognised and skipped."""
        if n > 0:
            self._duplicates.inc(n)

    def rejected(self, reason: str, n: int = 1) -> None:
        """``n`` records could not be applied, for ``reason`` (a reason code)."""
        if n > 0:
            self.metrics.events_rejected.labels(self.consumer, str(reason)).inc(n)
