"""Run a consumer until its store holds the end of every partition it reads, then stop it.

A runner's own exit is ``max_idle_s`` of silence (1.5 s here), paid after every run; that was
most of these tests' time. The ends are read before the run by consuming the runner's topics
to their end (fetch responses: ListOffsets is wrong on Tansu). The runner is stopped once its
stored offsets reached every end and stayed unchanged for ``QUIET_S``, so a runner that would
read records again still gets the time to show it; ``max_idle_s`` stays the bound when it
never gets there (a record it skips without storing its offset, say).

Only for runners whose work for a batch is done when the batch's offsets are stored (the sink
and the committer): the Client360 runner refreshes snapshots on a later, empty poll.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from velocity_stream.kafka.clients import new_consumer, topic_partitions
from velocity_stream.settings import Settings

QUIET_S = 0.5
POLL_S = 0.02


class Runner(Protocol):
    def topics(self) -> list[str]: ...

    def run(
        self, *, stop: threading.Event | None = None, max_idle_s: float | None = None
    ) -> Any: ...


class HasOffsets(Protocol):
    def offsets(self) -> dict[tuple[str, int], int]: ...


def fetched_ends(
    settings: Settings, topics: Sequence[str], timeout: float = 30
) -> dict[tuple[str, int], int]:
    """The end offset of every non-empty partition of ``topics``, counted by consuming."""
    consumer = new_consumer(
        settings,
        f"it-ends-{uuid.uuid4().hex[:8]}",
        client_id="it-ends",
        overrides={"enable.partition.eof": True},
    )
    try:
        assignment = [
            TopicPartition(topic, partition, OFFSET_BEGINNING)
            for topic in sorted(set(topics))
            for partition in topic_partitions(consumer, topic) or []
        ]
        consumer.assign(assignment)
        pending = {(tp.topic, tp.partition) for tp in assignment}
        ends: dict[tuple[str, int], int] = {}
        deadline = time.monotonic() + timeout
        while pending:
            assert time.monotonic() < deadline, f"no end for {sorted(pending)} in {timeout} s"
            for message in consumer.consume(1000, POLL_S):
                key = (message.topic() or "", message.partition() or 0)
                error = message.error()
                offset = message.offset() or 0
                if error is None:
                    ends[key] = max(ends.get(key, 0), offset + 1)
                elif error.code() == KafkaError._PARTITION_EOF:
                    ends[key] = max(ends.get(key, 0), offset)
                    pending.discard(key)
        return {key: end for key, end in ends.items() if end > 0}
    finally:
        consumer.close()


def run_to_end(
    runner: Runner, store: HasOffsets, settings: Settings, max_idle_s: float = 1.5
) -> Any:
    """``runner.run()``, stopped once ``store`` holds every end offset of its topics."""
    ends = fetched_ends(settings, runner.topics())
    stop = threading.Event()

    def caught_up(offsets: dict[tuple[str, int], int]) -> bool:
        return all(offsets.get(key, 0) >= end for key, end in ends.items())

    def watch() -> None:
        seen: dict[tuple[str, int], int] | None = None
        since = time.monotonic()
        while not stop.wait(POLL_S):
            try:
                offsets = store.offsets()
            except Exception:  # a busy database: ask again; max_idle_s still bounds the run
                continue
            if offsets != seen:
                seen, since = offsets, time.monotonic()
            if caught_up(offsets) and time.monotonic() - since >= QUIET_S:
                stop.set()

    watcher = threading.Thread(target=watch, name="it-run-to-end", daemon=True)
    watcher.start()
    try:
        return runner.run(stop=stop, max_idle_s=max_idle_s)
    finally:
        stop.set()
        watcher.join()
