"""The gateway runtime's pure parts, without a broker: ids, barriers, the write context, records."""

from __future__ import annotations

import argparse
import asyncio
from types import SimpleNamespace

import pytest

from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.errors import ConfigError
from velocity_stream.gateway import GatewayState, InboundMessage, OutboundMessage, Pipeline
from velocity_stream.gateway.faust_app import _context_partition, _inbound, table_partitions
from velocity_stream.gateway.runtime.output import DeliveryBarrier, OutputDeliveryError
from velocity_stream.gateway.runtime.processor import BatchProcessor, WriteContext
from velocity_stream.observability import current_trace_id, trace_context
from velocity_stream.protocol.headers import TRACE_ID
from velocity_stream.registry.resolvers import preregistered_resolver
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR

PREFIX = "u"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(DEFAULT_SCHEMAS_DIR)


def test_preregistered_ids_agree_between_processes_and_with_the_serde(catalog):
    first, second = preregistered_resolver(catalog, PREFIX), preregistered_resolver(catalog, PREFIX)
    assert first.subjects() == second.subjects()
    serde = AvroSerde(catalog, first, PREFIX)
    other = AvroSerde(catalog, second, PREFIX)
    artifact = example("QdSignalBundle")
    assert serde.encode(artifact) == other.encode(artifact)
    assert len(first.subjects()) == sum(len(f.majors()) for f in catalog.all_families())


class _Message:
    def __init__(self, topic: str = "t") -> None:
        self._topic = topic

    def topic(self) -> str:
        return self._topic


def test_barrier_resolves_only_when_sealed_and_every_report_is_in():
    async def scenario() -> None:
        barrier = DeliveryBarrier(asyncio.get_running_loop())
        barrier.expected = 2
        barrier.on_delivery(None, _Message())
        barrier.on_delivery(None, _Message())
        assert not barrier.done.done()  # not sealed: more outputs may still be added
        barrier.sealed = True
        barrier.check()
        assert barrier.done.done() and barrier.done.exception() is None

    asyncio.run(scenario())


def test_barrier_fails_when_an_output_was_refused():
    async def scenario() -> None:
        barrier = DeliveryBarrier(asyncio.get_running_loop())
        barrier.expected, barrier.sealed = 2, True
        barrier.on_delivery("MSG_TIMED_OUT", _Message())  # type: ignore[arg-type]
        assert not barrier.done.done()
        barrier.on_delivery(None, _Message())
        await asyncio.sleep(0)  # the last report resolves the barrier on the loop
        with pytest.raises(OutputDeliveryError):
            barrier.done.result()

    asyncio.run(scenario())


class _RecordingTable(dict):
    """A table that notes the write context's partition for every write."""

    def __init__(self, context: WriteContext) -> None:
        super().__init__()
        self.context = context
        self.writes: list[tuple[str, int | None]] = []

    def __setitem__(self, key, value) -> None:
        self.writes.append((key, self.context.partition))
        super().__setitem__(key, value)


class _FakeOutput:
    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    def on_too_large(self, stand_in) -> None:
        self.stand_in = stand_in

    def barrier(self) -> DeliveryBarrier:
        return DeliveryBarrier(asyncio.get_running_loop())

    async def send(self, outputs, barrier) -> None:
        self.sent.extend(outputs)
        barrier.expected += len(outputs)

    def seal(self, barrier):
        barrier.sealed = True
        barrier.received = barrier.expected
        barrier.check()
        return barrier.done


def test_batch_processor_writes_each_inputs_state_on_its_own_partition(catalog):
    serde = AvroSerde(catalog, preregistered_resolver(catalog, PREFIX), PREFIX)
    pipeline = Pipeline(catalog, serde, PREFIX, gateway_version="t", clock=lambda: 0)
    context = WriteContext()
    tables = {name: _RecordingTable(context) for name in GatewayState.table_names()}
    output = _FakeOutput()
    processor = BatchProcessor(pipeline, GatewayState(tables), output, context, clock=lambda: 0)
    family = catalog.family("OracleWritebackProposal")
    topic = family.ingress_topic(PREFIX)
    messages = []
    for partition in (1, 4):
        proposal = example(family.name).model_copy(
            update={"proposal_id": f"proposal:{partition}", "artifact_id": f"art:{partition}"}
        )
        key = proposal.proposal_id.encode()
        messages.append(InboundMessage(topic, partition, 0, key, serde.encode(proposal), (), 0))

    async def scenario() -> None:
        done = await processor.process(messages)
        await done

    asyncio.run(scenario())
    writes = tables[GatewayState.PROPOSALS].writes
    assert sorted(writes) == [
        ("OracleWritebackProposal:proposal:1", 1),
        ("OracleWritebackProposal:proposal:4", 4),
    ]
    assert context.partition is None  # cleared after the batch
    assert [o.topic for o in output.sent] == [catalog.approvals_topic(PREFIX)] * 2
    assert processor.stats.inputs == 2 and processor.stats.routes["pending_approval"] == 2


def test_a_table_written_outside_an_input_is_refused():
    class _Table:
        name = "held"

    with pytest.raises(RuntimeError, match="outside an input"):
        _context_partition(_Table(), WriteContext())


def test_tables_need_one_partition_count_across_the_ingress_topics(catalog):
    assert table_partitions(catalog) == 6
    family = next(iter(catalog))
    odd = type(catalog)(
        catalog.root,
        {**catalog.families, family.name: _with_partitions(family, 12)},
        catalog.gateway,
    )
    with pytest.raises(ConfigError, match="one partition count"):
        table_partitions(odd)


def _with_partitions(family, partitions):
    from dataclasses import replace

    return replace(family, partitions=partitions)


def test_consumed_records_become_inbound_messages_with_bytes_headers_and_ms():
    # The attributes aiokafka's ConsumerRecord carries (aiokafka is not imported in tests).
    record = SimpleNamespace(
        topic="topic",
        partition=3,
        offset=42,
        timestamp=1_700_000_000_123,
        headers=[("a", b"1"), ("nullable", None)],
        key=b"key",
        value=b"value",
    )
    inbound = _inbound(record)
    assert inbound == InboundMessage(
        "topic", 3, 42, b"key", b"value", (("a", b"1"), ("nullable", b"")), 1_700_000_000_123
    )


def test_a_record_without_a_timestamp_has_timestamp_zero():
    for missing in (None, -1):
        record = SimpleNamespace(
            topic="t", partition=0, offset=0, timestamp=missing, headers=[], key=None, value=b""
        )
        assert _inbound(record) == InboundMessage("t", 0, 0, None, b"", (), 0)


def test_gateway_command_takes_its_flags():
    from velocity_stream.cli import gateway_cmd

    parser = argparse.ArgumentParser()
    gateway_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["gateway", "--app-id", "g", "--max-batch", "500", "--create-topics"])
    assert (args.app_id, args.max_batch, args.create_topics) == ("g", 500, True)
    assert args.handler is gateway_cmd.run_gateway


def test_batch_processor_sweeps_nothing_until_caught_up_with_the_assignment(catalog):
    serde = AvroSerde(catalog, preregistered_resolver(catalog, PREFIX), PREFIX)
    now = [0]
    pipeline = Pipeline(catalog, serde, PREFIX, gateway_version="t", clock=lambda: now[0])
    output = _FakeOutput()
    processor = BatchProcessor(
        pipeline, GatewayState(), output, WriteContext(), clock=lambda: now[0]
    )
    rows = catalog.family("ImportRowRecord")
    row = example(rows.name)
    held = InboundMessage(
        rows.ingress_topic(PREFIX), 2, 0, row.batch_id.encode(), serde.encode(row), (), 0
    )
    later = InboundMessage(held.topic, 2, 1, b"x", b"not avro", (), 0)
    gate = processor.catch_up
    gate.assign([(held.topic, 2)])
    gate.observe((held.topic, 2), 2, 0)  # two records to read again after the assignment

    async def sweep() -> list[OutboundMessage]:
        before = len(output.sent)
        await (await processor.expire([2]))
        return output.sent[before:]

    async def scenario() -> None:
        await (await processor.process([held]))
        now[0] = 10**9  # far past the hold
        assert await sweep() == []  # offset 1 not read yet
        await (await processor.process([later]))
        [dead] = await sweep()
        assert dead.topic == catalog.dead_letter_topic(PREFIX) and dead.value == held.value

    asyncio.run(scenario())


class _Watching:
    """The real pipeline, noting for each input the trace id and write partition it ran under."""

    def __init__(self, pipeline: Pipeline, context: WriteContext) -> None:
        self.pipeline = pipeline
        self.out = pipeline.out
        self.context = context
        self.seen: list[tuple[int, str | None, int | None]] = []

    def process(self, message, state):
        self.seen.append((message.offset, current_trace_id(), self.context.partition))
        return self.pipeline.process(message, state)


def test_batch_processor_sets_trace_ids_partitions_and_positions_per_input(catalog):
    # The loop changes the write context and notes read positions only when the partition
    # changes, and makes a trace id current only for an input that carries one.
    serde = AvroSerde(catalog, preregistered_resolver(catalog, PREFIX), PREFIX)
    pipeline = Pipeline(catalog, serde, PREFIX, gateway_version="t", clock=lambda: 0)
    context = WriteContext()
    watching = _Watching(pipeline, context)
    output = _FakeOutput()
    processor = BatchProcessor(watching, GatewayState(), output, context, clock=lambda: 0)  # type: ignore[arg-type]
    family = catalog.family("QdSignalBundle")
    topic = family.ingress_topic(PREFIX)
    bundle = example(family.name)
    key, value = str(getattr(bundle, family.key_field)).encode(), serde.encode(bundle)
    traced = ((TRACE_ID, b"trace-7"), ("other", b"x"))
    messages = [
        InboundMessage(topic, 1, 0, key, value, (), 0),
        InboundMessage(topic, 1, 1, key, value, traced, 0),
        InboundMessage(topic, 4, 0, key, b"not avro", (("other", b"y"),), 0),
        InboundMessage(topic, 1, 2, key, value, (), 0),
    ]
    gate = processor.catch_up
    gate.assign([(topic, 1), (topic, 4)])
    gate.observe((topic, 1), 3, None)
    gate.observe((topic, 4), 1, None)

    async def scenario() -> None:
        with trace_context("outer-1"):
            await (await processor.process(messages))
            assert current_trace_id() == "outer-1"  # restored after the batch

    asyncio.run(scenario())
    # (offset, trace id, write partition) as each input was routed
    assert watching.seen == [(0, None, 1), (1, "trace-7", 1), (0, None, 4), (2, None, 1)]
    assert context.partition is None
    assert gate.behind() == [] and gate.caught_up()
    assert processor.stats.routes == {"accepted": 3, "dead_letter": 1}
    assert processor.stats.reasons == {"decode.bad_magic_byte": 1}
    assert [o.topic for o in output.sent].count(catalog.dead_letter_topic(PREFIX)) == 1
