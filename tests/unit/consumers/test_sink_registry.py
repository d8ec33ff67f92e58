"""Every entry of the sink table loads, and is a consumer in the catalog of every family it
reads (which is what gives it its read ACLs: `velocity-stream acls plan`)."""

from __future__ import annotations

import pytest

from consumers.sink.registry import SINKS, sink_entry
from consumers.storage import StoreTables
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.kafka.acls import Operation, plan


@pytest.mark.parametrize("entry", SINKS, ids=lambda e: e.name)
def test_each_sink_loads_and_reads_only_families_that_list_it(entry, catalog: Catalog) -> None:
    sink = entry.load("unit_")
    assert sink.mapper.name == entry.name
    assert isinstance(sink.tables, StoreTables) and hasattr(sink.tables, "rejects")
    topics = sink.mapper.topics(catalog, "velocity")
    assert topics
    families = {f.accepted_topic("velocity", m): f for f in catalog for m in f.majors()}
    families |= {topic: f for topic, (f, _m) in catalog.internal_topics("velocity").items()}
    acls = plan(catalog, "velocity", "gw").acls
    readable = {
        acl.name for acl in acls if acl.role == entry.name and acl.operation is Operation.READ
    }
    for topic in topics:
        if topic in families:  # else the gateway's own approvals or dead-letter topic
            assert entry.name in families[topic].consumers, (topic, families[topic].consumers)
        assert topic in readable


def test_an_unknown_sink_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        sink_entry("nope")
