"""observe_many against prometheus_client's own observe: the same buckets, count and sum."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram

from velocity_stream.observability.metrics import END_TO_END_BUCKETS, observe_many

# On a bound, just either side of one, below the first, beyond the last finite one, zero.
VALUES = [0.0, 0.001, 0.005, 0.0050001, 0.0099, 0.01, 0.3, 1.0, 899.0, 900.0, 901.0, 1e9]


def _samples(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    return {
        (sample.name, sample.labels.get("le", "")): sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if not sample.name.endswith("_created")
    }


def _histogram() -> tuple[CollectorRegistry, Histogram]:
    registry = CollectorRegistry()
    histogram = Histogram(
        "latency_seconds", "test", ("route",), buckets=END_TO_END_BUCKETS, registry=registry
    )
    return registry, histogram


@pytest.mark.parametrize("values", [VALUES, [], [0.02] * 5, list(reversed(VALUES))])
def test_observe_many_gives_what_observing_one_at_a_time_gives(values: list[float]) -> None:
    one_registry, one = _histogram()
    many_registry, many = _histogram()
    child = one.labels("accepted")
    for value in values:
        child.observe(value)
    observe_many(many.labels("accepted"), values)
    expected = _samples(one_registry)
    got = _samples(many_registry)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name] == pytest.approx(value), name
    # Not vacuous: the counts moved where there were values.
    assert got[("latency_seconds_count", "")] == len(values)


def test_observe_many_adds_to_what_is_there() -> None:
    registry, histogram = _histogram()
    child = histogram.labels("accepted")
    child.observe(0.02)
    observe_many(child, [0.02, 7.0])
    samples = _samples(registry)
    assert samples[("latency_seconds_bucket", "0.025")] == 2
    assert samples[("latency_seconds_bucket", "10.0")] == 3
    assert samples[("latency_seconds_sum", "")] == pytest.approx(7.04)
