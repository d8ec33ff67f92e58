"""What the contract's NUL rule (no string holds U+0000) costs a validation: each family's
example validated from its Avro data with the rule and, as the baseline in the same run,
with the check switched off. Medians of ``--runs`` interleaved runs of ``--count``
validations each, in CPU time.

    .venv/bin/python bench/nul_rule.py [--runs 5] [--count 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from velocity_stream.contracts import metadata
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.metadata import validate_artifact

FAMILIES = ("InteractionBundle", "TranscriptBundle", "ClientGraphDelta", "QdSignalBundle")


def _run_us(work: Callable[[], object], count: int) -> float:
    start = time.process_time()  # CPU time: other processes on the machine count less
    for _ in range(count):
        work()
    return (time.process_time() - start) / count * 1e6


def _medians_us(work: Callable[[], object], runs: int, count: int) -> tuple[float, float]:
    """(without the walk, with it): runs interleaved, so a change of load hits both."""
    rule = metadata._holds_nul
    without, with_rule = [], []
    for _ in range(runs):
        try:
            metadata._holds_nul = lambda artifact: False  # the baseline: no check
            without.append(_run_us(work, count))
        finally:
            metadata._holds_nul = rule
        with_rule.append(_run_us(work, count))
    return statistics.median(without), statistics.median(with_rule)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; medians of {args.runs} x {args.count}")
    print(f"{'family':<20} {'without us':>10} {'with us':>10} {'ratio':>6}")
    for family in FAMILIES:
        model = type(example(family))
        data = example(family).to_avro()

        def validate(model: type[metadata.Artifact] = model, data: dict = data) -> object:
            return validate_artifact(model, data)

        without, with_rule = _medians_us(validate, args.runs, args.count)
        print(f"{family:<20} {without:>10.1f} {with_rule:>10.1f} {with_rule / without:>6.2f}")
    print(f"load average {os.getloadavg()[0]:.2f} after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
