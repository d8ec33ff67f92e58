"""Where each table changelog partition really ends, so a restarted worker's tables are whole.

faust restores the gateway's tables (memory store) by reading every assigned changelog
partition from its beginning up to a high watermark asked for when recovery starts
(``Recovery._build_highwaters`` -> ``Consumer.highwaters`` -> aiokafka ``end_offsets``, a
ListOffsets request), declares the tables recovered once it has read that far, pauses the
changelog partitions and only then resumes the ingress partitions. The embedded broker (Tansu)
answers ListOffsets with the base offset of the partition's *last batch* + 1: below the real
end whenever that batch holds several records, which is the rule for a worker's changelog
writes (faust's producer batches them). A worker stopped right after its last output (kill -9
or SIGTERM alike) therefore restarted, in 6 of 9 measured restarts, with tables that lacked
entries its changelogs held: rows of a known batch dead-lettered as unknown, a second decision
applied to a decided proposal. The tail is never read later either, as faust stops reading an
active changelog partition once recovered.

The high watermark a *Fetch* response carries is right on Tansu and on Kafka. The adapter
(faust_app.py) answers faust's ``highwaters`` with :meth:`ChangelogEnds.ends`: a short-lived
aiokafka consumer of its own (no group) is assigned the partitions, positioned at their
ListOffsets end (only a starting point, so the fetch returns at most the last batch), and
fetches until every partition's response has reported its high watermark. faust's own recovery
then reads each partition to its true end, applies the records itself (keys decoded, partition
of each key noted, deletions honoured) and resumes the ingress partitions only after that: no
input is routed, and no held input swept, before the tables hold everything the changelogs do.
On Kafka both answers agree, so nothing changes there.

ListOffsets is never trusted as an end: if no fetch response reports a partition's watermark
within the timeout, :class:`ChangelogEndsUnknown` is raised, faust's recovery fails and the
worker stops for its supervisor to restart it, rather than starting on incomplete tables.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping
from typing import Any, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition as KafkaTopicPartition

from velocity_stream.kafka.config import AsyncClientOptions

log = logging.getLogger(__name__)

# A faust TP or any other (topic, partition) tuple: answers are keyed by the caller's objects.
P = TypeVar("P", bound=tuple[str, int])

# How long to wait for a fetch response of every partition before giving up; faust waits for
# its highwaters for broker_request_timeout (90 s or more) before it gives up itself.
DEFAULT_TIMEOUT_S = 30.0


class ChangelogEndsUnknown(RuntimeError):
    """No fetch response reported the high watermark of some changelog partitions in time."""


class WatermarkConsumer(Protocol):
    """What :func:`fetch_ends` needs of a consumer (aiokafka's, assigned the partitions)."""

    async def seek_to_end(self, *partitions: KafkaTopicPartition) -> Any: ...

    def highwater(self, partition: KafkaTopicPartition) -> int | None: ...

    async def getmany(
        self, *partitions: KafkaTopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> Any: ...


async def fetch_ends(
    consumer: WatermarkConsumer,
    partitions: Collection[P],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    poll_ms: int = 100,
    clock: Any = time.monotonic,
) -> dict[P, int]:
    """The end (offset after the last record) of each of ``partitions``, from fetch responses.

    ``consumer`` is assigned ``partitions`` and has no group. Each partition is first positioned
    at its ListOffsets end (at or below the true end on Tansu, exact on Kafka), so a fetch
    returns at most the last batch; aiokafka notes every response's high watermark, even an
    empty one's. Records fetched are dropped: faust's recovery reads and applies them.
    """
    by_key: dict[KafkaTopicPartition, P] = {
        KafkaTopicPartition(tp[0], tp[1]): tp for tp in partitions
    }
    if not by_key:
        return {}
    await consumer.seek_to_end(*by_key)
    ends: dict[P, int] = {}
    deadline = clock() + timeout_s
    while True:
        for key, tp in by_key.items():
            if tp not in ends:
                high = consumer.highwater(key)
                if high is not None:
                    ends[tp] = high
        pending = [key for key, tp in by_key.items() if tp not in ends]
        if not pending:
            return ends
        if clock() >= deadline:
            named = ", ".join(f"{k.topic}/{k.partition}" for k in sorted(pending)[:5])
            raise ChangelogEndsUnknown(
                f"no fetch response reported the end of {len(pending)} changelog partitions "
                f"within {timeout_s} s (e.g. {named}); not starting on incomplete tables"
            )
        await consumer.getmany(*pending, timeout_ms=poll_ms)


class ChangelogEnds:
    """Answers faust's ``Consumer.highwaters`` for table recovery with fetch-response watermarks."""

    def __init__(
        self, options: AsyncClientOptions, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.options = options
        self.timeout_s = timeout_s

    async def ends(self, partitions: Collection[P]) -> Mapping[P, int]:
        """The true end of each changelog partition (the next offset to be written)."""
        if not partitions:
            return {}
        started = time.monotonic()
        kwargs = self.options.aiokafka_consumer_kwargs()
        kwargs["client_id"] = f"{self.options.client_id}-recovery"
        consumer = AIOKafkaConsumer(
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **{k: v for k, v in kwargs.items() if k != "enable_auto_commit"},
        )
        await consumer.start()
        try:
            consumer.assign([KafkaTopicPartition(tp[0], tp[1]) for tp in partitions])
            ends = await fetch_ends(consumer, partitions, timeout_s=self.timeout_s)
        finally:
            await consumer.stop()
        log.info(
            "table recovery reads %d changelog partitions to their ends from fetch responses "
            "(found in %.0f ms)",
            len(ends),
            (time.monotonic() - started) * 1000,
        )
        return ends
