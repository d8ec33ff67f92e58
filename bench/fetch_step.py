"""What the adapter's fetch step costs a record against faust's, which it replaced.

The gateway's drain iterates one fetch at a time through ``_BatchConsumer.getmany``, the copy
of faust's ``Consumer.getmany`` that gives unrouted records back to the consumer instead of
dropping them (docs/gateway.md, "Takeover"). Both are driven here over the same fetch (6
partitions, ``--count`` records, faust's own round-robin scheduler) by the same stand-in
consumer, every record routed (the common case): only the step itself is measured, not the
fetch or the message building. CPU time per record, median of ``--runs`` interleaved runs,
with the load average.

    .venv/bin/python bench/fetch_step.py [--runs 9] [--count 2000] [--rounds 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any, NamedTuple

from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.utils import DefaultSchedulingStrategy

from velocity_stream.gateway.faust_app import _BatchConsumer
from velocity_stream.gateway.runtime.rewind import FetchedRecords

PARTITIONS = 6


class TP(NamedTuple):
    topic: str
    partition: int


class Record(NamedTuple):
    offset: int


def stand_in(count: int) -> SimpleNamespace:
    per = count // PARTITIONS
    tps = [TP("decisions", p) for p in range(PARTITIONS)]
    records = FetchedRecords({tp: [Record(o) for o in range(per)] for tp in tps}, object())
    active = set(tps)

    async def wait_next_records(timeout: float) -> tuple[Any, set[TP]]:
        return records, active

    return SimpleNamespace(
        _wait_next_records=wait_next_records,
        should_stop=False,
        app=SimpleNamespace(
            consumer_generation_id=1,
            monitor=SimpleNamespace(track_tp_end_offset=lambda tp, end: None),
        ),
        flow_active=True,
        _buffered_partitions=set(),
        scheduler=DefaultSchedulingStrategy(),
        _to_message=lambda tp, record: record,
        highwater=lambda tp: 0,
        log=SimpleNamespace(dev=lambda *a, **k: None),
        _thread=None,
    )


def run_us(
    getmany: Callable[[Any, float], AsyncIterator[Any]], consumer: Any, rounds: int
) -> float:
    async def drain() -> int:
        n = 0
        for _ in range(rounds):
            async for _tp, _message in getmany(consumer, 1.0):
                n += 1
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
    steps = {"faust getmany": FaustConsumer.getmany, "adapter getmany": _BatchConsumer.getmany}
    results: dict[str, list[float]] = {name: [] for name in steps}
    before = os.getloadavg()
    for _ in range(args.runs):
        for name, step in steps.items():
            results[name].append(run_us(step, consumer, args.rounds))
    after = os.getloadavg()
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(
        f"fetch step, {args.count} records a fetch over {PARTITIONS} partitions, "
        f"{args.rounds} fetches a run, median of {args.runs} interleaved runs (CPU us/record):"
    )
    for name, median in medians.items():
        spread = ", ".join(f"{v:.3f}" for v in sorted(results[name]))
        print(f"  {name:16} {median:.3f}  (runs: {spread})")
    ratio = medians["adapter getmany"] / medians["faust getmany"]
    print(f"  adapter / faust  {ratio:.2f}x")
    print(f"load average before {before[0]:.2f}, after {after[0]:.2f}")


if __name__ == "__main__":
    main()
