"""The intel consumer on the real broker, on SQLite and on PostgreSQL: the demo lands, copies
resolve by stamp, redelivery changes nothing, kill -9 and rebuild give the uninterrupted
tables, and hostile records become rejects without stopping the worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from consumers.intel.tables import IntelTables
from tests.integration.consumers.conftest import (
    NUL_MARK,
    Gateway,
    SinkUnderTest,
    kill_then_restart,
    with_nul,
    without_offsets,
)
from tests.unit.consumers import events as ev
from velocity_stream.contracts.interaction import InteractionBundle
from velocity_stream.contracts.qd_signal import QdSignalBundle
from velocity_stream.contracts.transcript import TranscriptBundle
from velocity_stream.devstack.seed import demo_data

pytestmark = pytest.mark.integration
INTEL = (InteractionBundle, TranscriptBundle, QdSignalBundle)

SinkFactory = Callable[..., SinkUnderTest]


def _tables(made: SinkUnderTest) -> IntelTables:
    tables = made.store.tables
    assert isinstance(tables, IntelTables)
    return tables


def _rows(made: SinkUnderTest, name: str) -> list[tuple[Any, ...]]:
    return made.store.dump()[name]


def test_the_demo_lands_in_the_intel_tables_linked_to_its_clients(
    provisioned, catalog, serde, gateway: Gateway, sink_store: SinkFactory
):
    demo = [a for a in demo_data(datetime.now(UTC)).artifacts if isinstance(a, INTEL)]
    interactions = [a for a in demo if isinstance(a, InteractionBundle)]
    transcripts = [a for a in demo if isinstance(a, TranscriptBundle)]
    signals = [a for a in demo if isinstance(a, QdSignalBundle)]
    assert interactions and transcripts and signals
    gateway.accept(demo)
    made = sink_store("intel")
    stats = made.run(provisioned, catalog, serde)
    assert (stats.records, stats.applied, stats.rejected, stats.unchanged) == (
        len(demo),
        len(demo),
        0,
        0,
    )
    dump = made.store.dump()
    assert len(dump["interactions"]) == len(interactions)
    assert len(dump["transcripts"]) == len(transcripts)
    assert len(dump["transcript_segments"]) == sum(len(t.speaker_segments) for t in transcripts)
    assert len(dump["qd_signals"]) == len(signals)
    assert len(dump["qd_signal_evidence"]) == sum(
        len(set(s.supporting_evidence_refs)) for s in signals
    )
    # every transcript reaches its client through its interaction
    t = _tables(made)
    query = select(t.transcripts.c.transcript_id, t.interactions.c.client_ref).join(
        t.interactions, t.interactions.c.bundle_id == t.transcripts.c.interaction_ref
    )
    with made.store.engine.connect() as conn:
        linked = {tid: client for tid, client in conn.execute(query)}
    assert linked == {
        tr.transcript_id: next(
            i.client_ref for i in interactions if i.bundle_id == tr.interaction_ref
        )
        for tr in transcripts
    }
    # one transcript's segments, in order, as spoken
    first = transcripts[0]
    segments = [
        (speaker, start, end, text)
        for tid, _seq, speaker, start, end, text in dump["transcript_segments"]
        if tid == first.transcript_id
    ]
    assert sorted(segments, key=lambda s: s[1]) == [
        (s.speaker, s.start_ms, s.end_ms, s.text) for s in first.speaker_segments
    ]


def test_the_newest_copy_wins_with_its_segments_whatever_the_arrival_order(
    provisioned, catalog, serde, gateway: Gateway, sink_store: SinkFactory
):
    bundle = "bundle:client:acme:1"
    newest = ev.transcript(bundle, minute=20, lines=["only line"], copy=":v3")
    older = ev.transcript(bundle, minute=10, lines=["a", "b", "c"], copy=":v2")
    oldest = ev.transcript(bundle, minute=0, lines=["x", "y"], copy=":v1")
    made = sink_store("intel")
    gateway.accept([oldest])
    made.run(provisioned, catalog, serde)
    assert [row[5] for row in _rows(made, "transcript_segments")] == ["x", "y"]
    gateway.accept([newest, older])  # the newest arrives first
    stats = made.run(provisioned, catalog, serde)
    assert stats.unchanged == 1  # the older copy changed nothing
    (row,) = _rows(made, "transcripts")
    assert row[1] == "art:tr:bundle:client:acme:1:v3"
    assert [r[5] for r in _rows(made, "transcript_segments")] == ["only line"]


def test_redelivered_records_change_nothing(
    provisioned, catalog, serde, gateway: Gateway, sink_store: SinkFactory
):
    history = ev.intel_history(40)
    gateway.accept(history)
    made = sink_store("intel")
    first = made.run(provisioned, catalog, serde)
    assert first.applied == len(history) and first.unchanged == 0
    before = without_offsets(made.store.dump())
    again = history[::3]
    gateway.accept(again)
    second = made.run(provisioned, catalog, serde)
    assert (second.records, second.unchanged, second.rejected) == (len(again), len(again), 0)
    assert without_offsets(made.store.dump()) == before


def test_rebuild_from_the_earliest_offsets_equals_the_incremental_run(
    provisioned, catalog, serde, gateway: Gateway, sink_store: SinkFactory
):
    history = ev.intel_history(60)
    # later copies of some transcripts, some older and some newer than the first ones
    history += [
        ev.transcript(f"bundle:client:{n % 16}:{n}", minute=n + delta, lines=["v2"], copy=":v2")
        for n, delta in [(3, 5), (7, -5), (11, 1), (50, -1)]
    ]
    half = len(history) // 2
    made = sink_store("intel")
    gateway.accept(history[:half])
    made.run(provisioned, catalog, serde, batch_size=37)
    gateway.accept(history[half:])
    made.run(provisioned, catalog, serde, batch_size=37)
    expected = made.store.dump()
    assert len(expected["transcripts"]) == 60
    made.store.drop()  # as `consume intel --rebuild` does
    made.store.create()
    made.run(provisioned, catalog, serde, batch_size=1000)
    assert made.store.dump() == expected


def test_kill_9_mid_backlog_then_restart_gives_the_tables_of_an_uninterrupted_run(
    provisioned, catalog, serde, gateway: Gateway, sink_store: SinkFactory, store_url
):
    history = ev.intel_history(700)
    ends = gateway.publish(history)
    crashed = sink_store("intel")
    kill_then_restart(provisioned, store_url, "intel", crashed.store, crashed.prefix, ends, 20)

    uninterrupted = sink_store("intel")
    uninterrupted.run(provisioned, catalog, serde)
    assert crashed.store.dump() == uninterrupted.store.dump()
    assert len(uninterrupted.store.dump()["transcripts"]) == 700


def test_hostile_records_become_rejects_and_the_worker_goes_on(
    provisioned, catalog, serde, gateway: Gateway, producer, sink_store: SinkFactory
):
    prefix = provisioned.topic_prefix
    interactions = catalog.family("InteractionBundle").accepted_topic(prefix)
    transcripts = catalog.family("TranscriptBundle").accepted_topic(prefix)
    signals = catalog.family("QdSignalBundle").accepted_topic(prefix)
    good = ev.interaction("client:acme", 1)
    body = serde.encode(good)
    a_signal = serde.encode(ev.signal("client:acme", 1))
    nul = ev.transcript("bundle:client:acme:1", lines=[f"before{NUL_MARK}after"])
    hostile = [
        (interactions, b"not avro at all"),
        (interactions, b""),
        (interactions, b"\x00\x00\x0f\x42\x3f" + body[5:]),  # a schema id nobody registered
        (interactions, body[: len(body) // 2]),  # truncated
        (transcripts, body),  # a valid InteractionBundle on the transcript topic
        (signals, a_signal[:-3]),  # truncated at the end
        (transcripts, with_nul(serde, nul)),  # a NUL character PostgreSQL text cannot hold
    ]
    for topic, value in hostile:
        producer.publish_raw(topic, b"k", value).result(30)
    gateway.accept([good])  # after the hostile ones
    made = sink_store("intel")
    stats = made.run(provisioned, catalog, serde)
    assert (stats.records, stats.rejected, stats.applied) == (len(hostile) + 1, len(hostile), 1)
    assert [row[0] for row in _rows(made, "interactions")] == [good.bundle_id]
    reasons = sorted(row[3] for row in _rows(made, "rejects"))
    assert reasons == [
        "contract.invalid_field",  # the NUL character
        "decode.bad_magic_byte",
        "decode.corrupt_body",
        "decode.corrupt_body",
        "decode.empty_payload",
        "decode.unknown_schema_id",
        "decode.wrong_family",
    ]
    assert all(detail and "\x00" not in detail for *_, detail in _rows(made, "rejects"))
    again = made.run(provisioned, catalog, serde)  # nothing new: nothing more rejected
    assert again.records == 0 and len(_rows(made, "rejects")) == len(hostile)
