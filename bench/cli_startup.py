"""Start-up time of `velocity-stream` commands that need no Kafka: medians of several runs of each
command as a subprocess, minus the median of a bare interpreter (``python -c pass``).

    .venv/bin/python bench/cli_startup.py [--runs 7]

The target (issue 13) is under 0.3 s above the bare interpreter for each of these.
tests/unit/cli/test_startup.py guards the cause (what is imported) without timing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--version",),
    ("--help",),
    ("schemas", "list"),
    ("example", "QdSignalBundle"),
    ("validate", "QdSignalBundle", "{artifact}"),
    ("keys", "generate", "--signer", "review-app"),
    ("acls", "plan"),
)


def _median_s(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "velocity_stream.cli.main"]
    with tempfile.TemporaryDirectory() as tmp:
        artifact = Path(tmp) / "artifact.json"
        artifact.write_bytes(
            subprocess.run(
                [*cli, "example", "QdSignalBundle"], check=True, capture_output=True
            ).stdout
        )
        bare = _median_s([sys.executable, "-c", "pass"], args.runs)
        print(f"bare interpreter: {bare * 1000:.0f} ms (median of {args.runs})")
        print(f"{'command':<40} {'median':>8} {'above bare':>11}")
        worst = 0.0
        for command in COMMANDS:
            argv = [part.format(artifact=artifact) for part in command]
            median = _median_s([*cli, *argv], args.runs)
            worst = max(worst, median - bare)
            above = (median - bare) * 1000
            print(f"{' '.join(command):<40} {median * 1000:>6.0f} ms {above:>8.0f} ms")
    print(f"worst above bare: {worst * 1000:.0f} ms (target < 300 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
