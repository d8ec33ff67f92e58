"""Drives the pipeline over in-memory messages, partitioned like Kafka, with dict-backed state.

Unit tests, the fuzz test and quick experiments use it instead of a broker. It keeps one
:class:`GatewayState` per partition number (as faust keeps a table's keys with the partition
that wrote them), so a stateful rule whose keys are not co-partitioned fails here exactly as
it would on a cluster. Keys pick partitions with Kafka's murmur2 partitioner, which every
producer of ours is configured to use.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable

from velocity_stream.gateway.catchup import CatchUp
from velocity_stream.gateway.messages import OutboundMessage, Outcome
from velocity_stream.gateway.pipeline import Pipeline
from velocity_stream.gateway.state import GatewayState, Table
from velocity_stream.protocol.records import Headers, InboundMessage

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash of ``data`` as an unsigned 32-bit value (seed 0x9747b28c)."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length % 4
    if rest == 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_for(key: bytes | None, partitions: int) -> int:
    """The partition the Java client (and librdkafka's murmur2_random) picks for ``key``.

    Keyless records go to partition 0 here; real producers spread them, and nothing keyed
    by state is ever keyless.
    """
    if key is None:
        return 0
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class MemoryRunner:
    """Feeds messages to a :class:`Pipeline` and records every output by topic.

    Outputs that target an ingress topic (an auto rule's decision) are fed back in after the
    message that made them, as the gateway would consume them from Kafka.
    """

    def __init__(self, pipeline: Pipeline, *, feedback: bool = True) -> None:
        self.pipeline = pipeline
        self.feedback = feedback
        catalog = pipeline.catalog
        prefix = pipeline.topic_prefix
        self._partitions: dict[str, int] = {}
        for family in catalog:
            for major in family.majors():
                self._partitions[family.ingress_topic(prefix, major)] = family.partitions
                self._partitions[family.accepted_topic(prefix, major)] = family.partitions
        self._default_partitions = catalog.gateway.partitions
        self._states: dict[int, GatewayState] = {}
        self._offsets: dict[tuple[str, int], int] = defaultdict(int)
        self._ingress = frozenset(pipeline.ingress_topics())
        self.produced: dict[str, list[OutboundMessage]] = defaultdict(list)
        self.outcomes: list[Outcome] = []
        # The worker's expiry gate (catchup.py): open unless a test assigns partitions to it.
        self.catch_up = CatchUp()

    # --- Kafka-like plumbing --------------------------------------------------------------

    def partitions_of(self, topic: str) -> int:
        return self._partitions.get(topic, self._default_partitions)

    def state(self, partition: int) -> GatewayState:
        """The state a worker owning ``partition`` holds."""
        state = self._states.get(partition)
        if state is None:
            tables: dict[str, Table] = {name: {} for name in GatewayState.table_names()}
            state = self._states[partition] = GatewayState(tables)
        return state

    def message(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Headers = (),
        timestamp_ms: int = 0,
        partition: int | None = None,
    ) -> InboundMessage:
        """A record as the broker would hand it out: partition by key, next offset."""
        if partition is None:
            partition = partition_for(key, self.partitions_of(topic))
        offset = self._offsets[(topic, partition)]
        self._offsets[(topic, partition)] = offset + 1
        return InboundMessage(topic, partition, offset, key, value, tuple(headers), timestamp_ms)

    def high_watermark(self, topic: str, partition: int) -> int:
        """The offset the next record of ``topic``/``partition`` gets."""
        return self._offsets.get((topic, partition), 0)

    # --- running --------------------------------------------------------------------------

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Headers = (),
        timestamp_ms: int = 0,
    ) -> list[Outcome]:
        """Produce one record to ``topic`` and process it (and anything it feeds back)."""
        return self.run([self.message(topic, key, value, headers, timestamp_ms)])

    def run(self, messages: Iterable[InboundMessage]) -> list[Outcome]:
        """Process ``messages`` in order; returns their outcomes then fed-back ones, in order."""
        queue = deque(messages)
        results: list[Outcome] = []
        while queue:
            message = queue.popleft()
            outcome = self.pipeline.process(message, self.state(message.partition))
            self.catch_up.read({(message.topic, message.partition): message.offset + 1})
            results.append(outcome)
            queue.extend(self._record(outcome, message.timestamp_ms))
        return results

    def replay(self, message: InboundMessage) -> Outcome:
        """Process an already-processed message again, as after a crash before its commit."""
        outcome = self.pipeline.process(message, self.state(message.partition))
        self.catch_up.read({(message.topic, message.partition): message.offset + 1})
        self.outcomes.append(outcome)
        return outcome

    def expire(self, now_ms: int) -> list[Outcome]:
        """Run the expiry sweep on every partition, then process anything it fed back.

        Like the worker, it sweeps nothing until :attr:`catch_up` has caught up.
        """
        if not self.catch_up.caught_up():
            return []
        results: list[Outcome] = []
        fed: list[InboundMessage] = []
        for partition, state in sorted(self._states.items()):
            for outcome in self.pipeline.expire(now_ms, state, partitions=(partition,)):
                results.append(outcome)
                fed.extend(self._record(outcome, now_ms))
        return results + (self.run(fed) if fed else [])

    def _record(self, outcome: Outcome, timestamp_ms: int) -> list[InboundMessage]:
        self.outcomes.append(outcome)
        fed: list[InboundMessage] = []
        for output in outcome.outputs:
            self.produced[output.topic].append(output)
            if self.feedback and output.topic in self._ingress:
                fed.append(
                    self.message(
                        output.topic, output.key, output.value, output.headers, timestamp_ms
                    )
                )
        return fed

    def topic(self, name: str) -> list[OutboundMessage]:
        """Everything produced to ``name`` so far."""
        return list(self.produced.get(name, ()))
