"""What the drain's per-record bookkeeping costs, the adapter's against faust's.

Between aiokafka handing a fetch over and the pipeline taking its records, faust's own path
(``Consumer.getmany``) checks the flow, the generation and the partition for each record, and
makes a faust ``Message`` of it; the drain then tracked each message in faust's unacked set,
turned it into the pipeline's ``InboundMessage`` and, once its outputs were stored, acked it.
The adapter's fetch step (``_BatchConsumer._step``) makes the same checks once per partition of
a fetch, turns aiokafka's records straight into ``InboundMessage`` values, and tracks and acks
the fetch as one entry (``ack_fetched``). Both run here over the same fetch (6 partitions,
``--count`` records) on a stand-in consumer that has faust's real bookkeeping (acked lists and
index, the unacked WeakSet): the broker, the fetch and the pipeline are not measured. CPU time
per record, median of ``--runs`` interleaved runs, with the load average.

    .venv/bin/python bench/fetch_step.py [--runs 9] [--count 2000] [--rounds 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from types import SimpleNamespace
from typing import Any, NamedTuple
from weakref import WeakSet

from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers.aiokafka import Consumer as FaustAiokafkaConsumer
from faust.transport.utils import DefaultSchedulingStrategy
from faust.types import TP

from velocity_stream.gateway.faust_app import _BatchConsumer
from velocity_stream.gateway.messages import InboundMessage
from velocity_stream.gateway.runtime.rewind import FetchedRecords

PARTITIONS = 6
TOPIC = "velocity.interaction-bundle.v1"
HEADERS = [("velocity.trace_id", b"0af7651916cd43dd8448eb211c80319c"), ("source", b"bench")]


class Record(NamedTuple):  # the fields of aiokafka's ConsumerRecord the paths read
    topic: str
    partition: int
    offset: int
    timestamp: int
    timestamp_type: int
    key: bytes
    value: bytes
    checksum: None
    serialized_key_size: int
    serialized_value_size: int
    headers: list[tuple[str, bytes]]


def stand_in(count: int) -> SimpleNamespace:
    """faust's consumer as both paths see it, with its real bookkeeping structures."""
    per = count // PARTITIONS
    tps = [TP(TOPIC, p) for p in range(PARTITIONS)]
    value = b"\0" * 1024
    records = FetchedRecords(
        {
            tp: [
                Record(
                    TOPIC,
                    tp.partition,
                    o,
                    1_700_000_000_000 + o,
                    0,
                    b"k",
                    value,
                    None,
                    1,
                    len(value),
                    HEADERS,
                )
                for o in range(per)
            ]
            for tp in tps
        },
        object(),
    )
    active = set(tps)

    async def wait_next_records(timeout: float) -> tuple[Any, set[TP]]:
        return records, active

    consumer = SimpleNamespace(
        _wait_next_records=wait_next_records,
        should_stop=False,
        app=SimpleNamespace(
            consumer_generation_id=1,
            monitor=SimpleNamespace(track_tp_end_offset=lambda tp, end: None),
            topics=SimpleNamespace(acks_enabled_for=lambda topic: True),
        ),
        flow_active=True,
        _buffered_partitions=set(),
        scheduler=DefaultSchedulingStrategy(),  # type: ignore[abstract]  # faust's stubs
        highwater=lambda tp: 0,
        log=SimpleNamespace(dev=lambda *a, **k: None),
        _thread=None,
        _read_offset=defaultdict(lambda: None),
        _committed_offset=defaultdict(lambda: None),
        _acked=defaultdict(list),
        _acked_index=defaultdict(set),
        _unacked_messages=WeakSet(),
        _n_acked=0,
        _waiting_for_ack=None,
    )
    # A stand-in, not a Consumer: faust's method reads only the attributes set above.
    consumer._to_message = partial(FaustAiokafkaConsumer._to_message, consumer)  # type: ignore[arg-type]
    for name in ("_take", "_dispatch", "_unacked"):
        setattr(consumer, name, partial(getattr(_BatchConsumer, name), consumer))
    return consumer


def reset(consumer: SimpleNamespace) -> None:
    """Forget what the last fetch acked, so every fetch acks the same offsets again."""
    consumer._read_offset.clear()
    consumer._acked.clear()
    consumer._acked_index.clear()
    consumer._n_acked = 0


def old_inbound(message: Any) -> InboundMessage:
    """The drain's conversion of a faust Message before the adapter's fetch step."""
    timestamp = message.timestamp
    return InboundMessage(
        message.topic,
        message.partition,
        message.offset,
        message.key,
        message.value,
        tuple((str(n), bytes(v)) for n, v in message.headers) if message.headers else (),
        round(timestamp * 1000) if timestamp is not None else 0,
    )


async def faust_path(consumer: SimpleNamespace) -> int:
    messages = []
    inbound = []
    track = consumer._unacked_messages.add
    async for _tp, message in FaustConsumer.getmany(consumer, 1.0):  # type: ignore[arg-type]
        track(message)
        messages.append(message)
        inbound.append(old_inbound(message))
    for message in messages:
        FaustConsumer.ack(consumer, message)  # type: ignore[arg-type]
    return len(inbound)


async def adapter_path(consumer: SimpleNamespace) -> int:
    fetched = await _BatchConsumer._step(consumer, frozenset({TOPIC}))  # type: ignore[arg-type]
    assert fetched is not None
    consumer._unacked().add(fetched)
    _BatchConsumer.ack_fetched(consumer, fetched)  # type: ignore[arg-type]
    return len(fetched.inbound)


def run_us(path: Callable[[SimpleNamespace], Any], consumer: SimpleNamespace, rounds: int) -> float:
    async def drain() -> int:
        n = 0
        for _ in range(rounds):
            reset(consumer)
            n += await path(consumer)
        return n

    start = time.process_time()
    n = asyncio.run(drain())
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    consumer = stand_in(args.count)
    paths = {"faust's path": faust_path, "adapter's step": adapter_path}
    assert asyncio.run(faust_path(consumer)) == asyncio.run(adapter_path(consumer))
    results: dict[str, list[float]] = {name: [] for name in paths}
    before = os.getloadavg()
    for _ in range(args.runs):
        for name, path in paths.items():
            results[name].append(run_us(path, consumer, args.rounds))
    after = os.getloadavg()
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(
        f"fetch to pipeline input and ack, {args.count} records a fetch over {PARTITIONS} "
        f"partitions, {args.rounds} fetches a run, median of {args.runs} interleaved runs "
        "(CPU µs/record):"
    )
    for name, median in medians.items():
        spread = ", ".join(f"{v:.2f}" for v in sorted(results[name]))
        print(f"  {name:16} {median:.2f}  (runs: {spread})")
    ratio = medians["adapter's step"] / medians["faust's path"]
    print(f"  adapter / faust  {ratio:.2f}x")
    print(f"load average before {before[0]:.2f}, after {after[0]:.2f}")


if __name__ == "__main__":
    main()
