"""Guards against drift: the metrics doc names every metric, the package exports what it says."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import CollectorRegistry

import velocity_stream.observability as observability
from velocity_stream.observability import VelocityMetrics

DOC = Path(__file__).resolve().parents[3] / "docs" / "metrics.md"


def _exported_names(registry: CollectorRegistry) -> set[str]:
    names: set[str] = set()
    for family in registry.collect():
        suffix = "_total" if family.type == "counter" else ""
        names.add(family.name + suffix)
    return names


def test_every_metric_is_documented_and_every_documented_metric_exists():
    registry = CollectorRegistry()
    VelocityMetrics(registry)
    exported = _exported_names(registry)
    table_rows = re.findall(r"^\| `(velocity_[a-z_]+)` \|", DOC.read_text(), re.MULTILINE)
    assert set(table_rows) == exported
    assert all(name.startswith("velocity_") for name in exported)


def test_all_lists_exactly_the_public_names():
    public = {
        name
        for name, value in vars(observability).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("velocity_stream.observability.")
    }
    assert set(observability.__all__) == public
