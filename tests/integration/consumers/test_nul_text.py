"""A text value holding a NUL character, on the real broker and both databases.

Avro strings may hold U+0000, PostgreSQL text may not: one such value, were it let through,
would fail its whole batch on every retry and stop the worker for good. The contract refuses
it (``contract.invalid_field``), so every worker sets that record aside like any other record
that breaks its contract and applies the rest of the batch. The records here are written
straight onto the topics the workers read, as a writer that skips the gateway (or a record
accepted before the rule) would put them there.
"""

from __future__ import annotations

import pytest

from consumers.client360.runner import Client360Runner
from consumers.committer.runner import CommitterRunner
from consumers.committer.store import GraphStore
from consumers.partitions import PartitionSource
from tests.integration.consumers.conftest import NUL_MARK, Gateway, with_nul
from tests.unit.consumers import events as ev
from velocity_stream.protocol import headers as h

pytestmark = pytest.mark.integration
CLIENT = "client:acme"


def _send(gateway: Gateway, topic: str, key: str, value: bytes) -> None:
    gateway.producer.publish_raw(topic, key, value).result(30)


def test_client360_rejects_a_nul_string_and_applies_the_rest(
    provisioned, catalog, serde, gateway: Gateway, client360_store
):
    topic = catalog.family("InteractionBundle").accepted_topic(provisioned.topic_prefix)
    hostile = ev.interaction(CLIENT, 1, summary=f"said {NUL_MARK}")
    _send(gateway, topic, hostile.bundle_id, with_nul(serde, hostile))
    gateway.publish([ev.interaction(CLIENT, 2)])
    store = client360_store()
    stats = Client360Runner(provisioned, catalog, serde, store).run(max_idle_s=1.5)
    assert (stats.records, stats.applied, stats.rejected) == (2, 1, 1)
    rejects = store.dump()["rejects"]
    assert [row[3] for row in rejects] == ["contract.invalid_field"]
    assert all("\x00" not in str(cell) for row in rejects for cell in row)
    snapshot = store.snapshot(CLIENT)
    assert snapshot is not None and len(snapshot.recent_interactions) == 1


def test_committer_dead_letters_a_nul_string_and_applies_the_rest(
    provisioned, catalog, serde, gateway: Gateway, producer, graph_store: GraphStore
):
    topic = catalog.family("ClientGraphDelta").accepted_topic(provisioned.topic_prefix)
    hostile = ev.delta("nul", ev.upsert_node(CLIENT, "CLIENT", name=NUL_MARK))
    _send(gateway, topic, hostile.delta_id, with_nul(serde, hostile))
    gateway.publish([ev.delta("fine", ev.upsert_node("client:other", "CLIENT", name="Other"))])
    runner = CommitterRunner(provisioned, catalog, serde, graph_store, producer)
    stats = runner.run(max_idle_s=1.5)
    assert (stats.records, stats.applied, stats.refused) == (2, 1, 1)
    assert graph_store.node(CLIENT) is None
    assert graph_store.node("client:other") is not None
    dead_topic = catalog.dead_letter_topic(provisioned.topic_prefix)
    with PartitionSource(provisioned, [dead_topic], {}, client_id="it-reader") as source:
        letters = []
        for _ in range(8):
            letters += source.poll_batch(100, 0.5)
            if letters:
                break
    assert len(letters) == 1
    assert dict(letters[0].headers)[h.DLQ_REASON] == b"contract.invalid_field"
    assert letters[0].value == with_nul(serde, hostile)  # the original bytes
