"""Consumer lag from fetch-response high watermarks: the arithmetic, the gauge, librdkafka stats."""

from __future__ import annotations

import json

import pytest

from velocity_stream.kafka.clients import cached_high_watermark
from velocity_stream.observability import LagTracker, consumer_lag

LAG = "velocity_consumer_lag"


@pytest.mark.parametrize(
    ("position", "high", "expected"),
    [
        (0, 0, 0),  # empty partition
        (0, 10, 10),  # nothing read of ten records
        (7, 10, 3),  # read offsets 0..6
        (10, 10, 0),  # caught up
        (12, 10, 0),  # watermark from an older fetch response than the position
        (-1001, 10, None),  # librdkafka's "invalid offset"
        (5, -1001, None),  # no fetch response yet
        (None, 10, None),  # aiokafka before the first fetch
        (5, None, None),
    ],
)
def test_lag_is_watermark_minus_position(position, high, expected):
    assert consumer_lag(position, high) == expected


def test_tracker_sets_one_series_per_partition_and_totals(metrics, sample):
    lag = LagTracker("velocity-gateway", metrics)
    assert lag.update("velocity.qd.v1", 0, 40, 100) == 60
    assert lag.update("velocity.qd.v1", 1, 7, 7) == 0
    assert lag.update("velocity.qd.v1", 0, 90, 100) == 10

    labels = {"group": "velocity-gateway", "topic": "velocity.qd.v1"}
    assert sample(LAG, partition="0", **labels) == 10
    assert sample(LAG, partition="1", **labels) == 0
    assert lag.total() == 10
    assert lag.partitions() == [("velocity.qd.v1", 0), ("velocity.qd.v1", 1)]


def test_unknown_watermark_leaves_the_last_value(metrics, sample):
    lag = LagTracker("g", metrics)
    lag.update("t", 0, 3, 8)
    assert lag.update("t", 0, 4, None) is None
    assert sample(LAG, group="g", topic="t", partition="0") == 5


def test_revoked_partition_is_no_longer_reported(metrics, registry):
    lag = LagTracker("g", metrics)
    lag.update("t", 0, 1, 5)
    lag.update("t", 1, 1, 5)
    lag.remove("t", 0)
    lag.remove("t", 9)  # never reported: nothing to do
    assert registry.get_sample_value(LAG, {"group": "g", "topic": "t", "partition": "0"}) is None
    assert lag.lag("t", 0) is None and lag.lag("t", 1) == 4


def _partition(number: int, **fields: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "partition": number,
        "fetch_state": "active",
        "app_offset": -1001,
        "committed_offset": -1001,
        "hi_offset": -1001,
        "lo_offset": -1001,
        "ls_offset": -1001,
        # librdkafka's own figure, from the committed offset: not what we report
        "consumer_lag": -1,
    }
    entry.update(fields)
    return entry


def test_statistics_use_fetch_watermark_and_application_position(metrics, sample):
    stats = {
        "name": "rdkafka#consumer-1",
        "type": "consumer",
        "topics": {
            "velocity.accepted": {
                "topic": "velocity.accepted",
                "partitions": {
                    "0": _partition(0, app_offset=25, committed_offset=20, hi_offset=40),
                    # assigned, nothing handed out yet: falls back to the committed offset
                    "1": _partition(1, committed_offset=12, hi_offset=15),
                    # not fetched by this member
                    "2": _partition(2, fetch_state="none", app_offset=1, hi_offset=99),
                    # no fetch response yet
                    "3": _partition(3, app_offset=5),
                    # the internal unassigned partition
                    "-1": _partition(-1, app_offset=0, hi_offset=50),
                },
            }
        },
    }
    lag = LagTracker("client360", metrics)
    assert lag.update_from_statistics(json.dumps(stats)) == 2

    labels = {"group": "client360", "topic": "velocity.accepted"}
    assert sample(LAG, partition="0", **labels) == 15
    assert sample(LAG, partition="1", **labels) == 3
    assert lag.partitions() == [("velocity.accepted", 0), ("velocity.accepted", 1)]


def test_statistics_that_are_not_json_change_nothing(metrics):
    lag = LagTracker("g", metrics)
    assert lag.update_from_statistics("{not json") == 0
    assert lag.update_from_statistics(b"{}") == 0


class FakeConsumer:
    def __init__(self, answer: tuple[int, int] | None) -> None:
        self.answer = answer
        self.calls: list[tuple[str, int, bool]] = []

    def get_watermark_offsets(self, partition, timeout=None, cached=False):
        self.calls.append((partition.topic, partition.partition, cached))
        return self.answer


def test_cached_watermark_never_asks_the_broker():
    consumer = FakeConsumer((0, 42))
    assert cached_high_watermark(consumer, "t", 3) == 42
    assert consumer.calls == [("t", 3, True)]
    assert cached_high_watermark(FakeConsumer((-1001, -1001)), "t", 3) is None
    assert cached_high_watermark(FakeConsumer(None), "t", 3) is None


def test_batch_positions_use_the_given_fetch_watermarks(metrics):
    lag = LagTracker("g", metrics)
    watermarks = {("a", 0): 10, ("a", 1): 4}
    lag.update_many({("a", 0): 7, ("a", 1): 4, ("b", 0): 1}, lambda t, p: watermarks.get((t, p)))
    assert (lag.lag("a", 0), lag.lag("a", 1), lag.lag("b", 0)) == (3, 0, None)
