"""Consumer lag per topic and partition, from the high watermarks carried by fetch responses.

Lag is the high watermark minus the consumer's position (the next offset it will read). The
watermark must come from fetch responses: on the embedded broker (Tansu) ListOffsets answers
with the last batch's base offset + 1, so `get_watermark_offsets()` (uncached), `list_offsets`
and aiokafka's `end_offsets` undercount whenever a batch holds more than one record. Where
each client keeps the fetch-response value:

- aiokafka (and faust on it): ``consumer.highwater(tp)``;
- confluent-kafka: ``consumer.get_watermark_offsets(tp, cached=True)``
  (``velocity_stream.kafka.clients.cached_high_watermark``), and the ``hi_offset`` of
  librdkafka's statistics
  (:meth:`LagTracker.update_from_statistics`): librdkafka sets both from each
  FetchResponse's HighwaterMarkOffset; its periodic ListOffsets for statistics only
  refreshes the low watermark.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping

from prometheus_client import Gauge

from velocity_stream.observability.metrics import VelocityMetrics, default_metrics

log = logging.getLogger(__name__)


def consumer_lag(position: int | None, high_watermark: int | None) -> int | None:
    """Records the consumer has not read yet; None when either offset is unknown.

    Both are "next offset" numbers (the high watermark is the offset the next produced record
    will get; the position is the offset the consumer reads next), so no +1 is needed. Clients
    report unknown offsets as None or negative (librdkafka: -1001). A position past the
    watermark (a watermark from an older fetch response) is no lag, not a negative one.
    """
    if position is None or high_watermark is None or position < 0 or high_watermark < 0:
        return None
    return max(0, high_watermark - position)


class LagTracker:
    """Keeps ``velocity_consumer_lag{group,topic,partition}`` for one consumer group."""

    def __init__(self, group: str, metrics: VelocityMetrics | None = None) -> None:
        self.group = group
        self._gauge = (metrics or default_metrics()).consumer_lag
        self._children: dict[tuple[str, int], Gauge] = {}
        self._lags: dict[tuple[str, int], int] = {}

    def update(
        self, topic: str, partition: int, position: int | None, high_watermark: int | None
    ) -> int | None:
        """Record the lag of one partition; returns it (None, and nothing set, when unknown).

        ``position`` is the next offset to read: the last processed record's offset + 1.
        """
        lag = consumer_lag(position, high_watermark)
        if lag is None:
            return None
        key = (topic, partition)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._gauge.labels(self.group, topic, str(partition))
        child.set(lag)
        self._lags[key] = lag
        return lag

    def update_many(
        self,
        positions: Mapping[tuple[str, int], int],
        high_watermark: Callable[[str, int], int | None],
    ) -> None:
        """Update every (topic, partition) -> position of a batch; ``high_watermark(topic,
        partition)`` must read a fetch-response value (e.g. aiokafka's ``highwater``)."""
        for (topic, partition), position in positions.items():
            self.update(topic, partition, position, high_watermark(topic, partition))

    def remove(self, topic: str, partition: int) -> None:
        """The partition was revoked: stop reporting it (another member reports it now)."""
        key = (topic, partition)
        if self._children.pop(key, None) is not None:
            self._gauge.remove(self.group, topic, str(partition))
        self._lags.pop(key, None)

    def lag(self, topic: str, partition: int) -> int | None:
        return self._lags.get((topic, partition))

    def total(self) -> int:
        """Summed lag over every partition this tracker reports."""
        return sum(self._lags.values())

    def partitions(self) -> list[tuple[str, int]]:
        return sorted(self._lags)

    def update_from_statistics(self, stats: str | bytes) -> int:
        """Update from one librdkafka statistics JSON document (a ``stats_cb`` argument).

        Uses each assigned partition's ``hi_offset`` (fetch responses) against its
        ``app_offset`` (last record handed to the application + 1, i.e. the position), or the
        committed offset before anything was handed out. Returns the partitions updated.
        """
        try:
            document = json.loads(stats)
        except ValueError:
            log.warning("librdkafka statistics are not JSON; lag not updated")
            return 0
        updated = 0
        for topic_name, topic in (document.get("topics") or {}).items():
            for entry in (topic.get("partitions") or {}).values():
                partition = int(entry.get("partition", -1))
                if partition < 0 or entry.get("fetch_state") in (None, "none", "stopped"):
                    continue  # the internal UA partition, or one this member does not fetch
                position = _valid(entry.get("app_offset"))
                if position is None:
                    position = _valid(entry.get("committed_offset"))
                high = _valid(entry.get("hi_offset"))
                if self.update(topic_name, partition, position, high) is not None:
                    updated += 1
        return updated


def _valid(value: object) -> int | None:
    if isinstance(value, int) and value >= 0:
        return value
    return None
