"""The Client360 read model on the real broker, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from consumers.client360.runner import Client360Runner, RunnerOptions, RunStats
from consumers.client360.store import Client360Store
from consumers.partitions import PartitionSource
from tests.integration.consumers.conftest import Gateway, kill_then_restart, without_offsets
from tests.unit.consumers import events as ev
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.client360 import Client360Snapshot
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import Settings

pytestmark = pytest.mark.integration
CLIENT = "client:acme"
IDLE_S = 1.5


def _run(
    settings: Settings,
    catalog: Catalog,
    serde: AvroSerde,
    store: Client360Store,
    producer: ArtifactProducer | None,
    batch_size: int = 500,
) -> RunStats:
    runner = Client360Runner(
        settings, catalog, serde, store, producer, RunnerOptions(batch_size=batch_size)
    )
    return runner.run(max_idle_s=IDLE_S)


def _published(settings: Settings, catalog: Catalog, serde: AvroSerde) -> list[Client360Snapshot]:
    family = catalog.family("Client360Snapshot")
    topic = family.ingress_topic(settings.topic_prefix)
    found: list[Client360Snapshot] = []
    with PartitionSource(settings, [topic], {}, client_id="it-snapshot-reader") as source:
        idle = 0
        while idle < 4:
            batch = source.poll_batch(500, 0.5)
            idle = 0 if batch else idle + 1
            for message in batch:
                snapshot = serde.decode(message.value, family)
                assert isinstance(snapshot, Client360Snapshot)
                assert message.key == snapshot.client_ref.encode()
                found.append(snapshot)
    return found


def test_seeded_client_snapshot_is_built_stored_and_published(
    provisioned, catalog, serde, gateway: Gateway, producer, client360_store
):
    gateway.publish(ev.seeded_client(CLIENT))
    store = client360_store()
    stats = _run(provisioned, catalog, serde, store, producer)
    assert stats.applied == len(ev.seeded_client(CLIENT)) and stats.rejected == 0
    snapshot = store.snapshot(CLIENT)
    assert snapshot is not None
    assert snapshot.identity.display_name == "Acme Holdings (Priya Raman)"
    assert [o.stage for o in snapshot.active_opportunities] == ["SITE_VISITS"]  # the commit
    assert len(snapshot.recent_interactions) == 20
    assert {f.code for f in snapshot.risk_flags} == {
        "duplicate_contact_merged",
        "qd.churn_risk",
        "qd.operator_input_only",
    }
    assert "decision:w1" in snapshot.provenance.source_refs
    published = _published(provisioned, catalog, serde)
    assert published, "no snapshot reached the Client360Snapshot topic"
    assert published[-1] == snapshot  # the last one published is the stored one
    assert store.pending() == []


def test_redelivered_records_change_nothing(
    provisioned, catalog, serde, gateway: Gateway, client360_store
):
    history = ev.client_history(12)
    gateway.publish(history)
    store = client360_store()
    first = _run(provisioned, catalog, serde, store, None)
    assert first.applied == len(history)
    before = without_offsets(store.dump())
    again = history[::3]  # the gateway (or anyone) sends some records a second time
    gateway.publish(again)
    second = _run(provisioned, catalog, serde, store, None)
    assert (second.applied, second.duplicates, second.snapshots_changed) == (0, len(again), 0)
    assert without_offsets(store.dump()) == before


def test_rebuild_from_the_earliest_offsets_equals_the_incremental_run(
    provisioned, catalog, serde, gateway: Gateway, producer, client360_store
):
    history = ev.client_history(30)
    half = len(history) // 2
    incremental = client360_store()
    gateway.publish(history[:half])
    _run(provisioned, catalog, serde, incremental, producer, batch_size=37)
    gateway.publish(history[half:])
    _run(provisioned, catalog, serde, incremental, producer, batch_size=37)
    expected = incremental.dump()
    assert len(expected["snapshots"]) == 30
    # Rebuild in place, as `consume client360 --rebuild` does: drop, create, replay.
    incremental.drop()
    incremental.create()
    _run(provisioned, catalog, serde, incremental, producer, batch_size=1000)
    assert incremental.dump() == expected


def test_kill_9_mid_stream_then_restart_gives_the_tables_of_an_uninterrupted_run(
    provisioned,
    catalog,
    serde,
    gateway: Gateway,
    producer,
    client360_store: Callable[..., Client360Store],
    store_url,
):
    history = ev.client_history(250)
    ends = gateway.publish(history)
    crashed = client360_store()
    prefix = crashed.tables.offsets.name.removesuffix("c360_offsets")
    kill_then_restart(provisioned, store_url, "client360", crashed, prefix, ends)

    uninterrupted = client360_store()
    _run(provisioned, catalog, serde, uninterrupted, producer, batch_size=500)
    assert crashed.dump() == uninterrupted.dump()
    assert len(uninterrupted.dump()["snapshots"]) == 250
