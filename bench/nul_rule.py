"""What the contract's NUL rule (no string holds U+0000) costs a validation: each family's
example validated from its Avro data with the rule and, as the baseline in the same run,
with the check switched off. Then the same for a decode by the compiled reader
(``AvroSerde.decode``), which refuses a NUL as it reads each string and so builds the model
without the check: raw fastavro's decode as the baseline, the decode as it is ("read"), and
the decode with the model's full validators, the check included ("check"). Medians of
``--runs`` interleaved runs of ``--count`` calls each, in CPU time.

    .venv/bin/python bench/nul_rule.py [--runs 5] [--count 2000] [--python]

The check is the native one (``_fastnul``) where it is built; ``--python`` measures the check
compiled to Python per model class, which validation uses where it is not.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import fastavro

from velocity_stream.contracts import metadata, nul_check
from velocity_stream.contracts.catalog import Family, load_catalog
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.metadata import Artifact, validate_artifact
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver, unframe
from velocity_stream.settings import load_settings

FAMILIES = ("InteractionBundle", "TranscriptBundle", "ClientGraphDelta", "QdSignalBundle")


def _run_us(work: Callable[[], object], count: int) -> float:
    start = time.process_time()  # CPU time: other processes on the machine count less
    for _ in range(count):
        work()
    return (time.process_time() - start) / count * 1e6


def _medians_us(work: Callable[[], object], runs: int, count: int) -> tuple[float, float]:
    """(without the check, with it): runs interleaved, so a change of load hits both."""
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
    parser.add_argument("--python", action="store_true", help="the Python check, not the native")
    args = parser.parse_args()
    if args.python:
        nul_check.NATIVE_CHECK = False
    check = "native" if nul_check.NATIVE_CHECK else "compiled to Python"
    print(f"load average {os.getloadavg()[0]:.2f}; medians of {args.runs} x {args.count}")
    print(f"the NUL check: {check}")
    print(f"{'family':<20} {'without us':>10} {'with us':>10} {'ratio':>6}")
    for family in FAMILIES:
        model = type(example(family))
        data = example(family).to_avro()

        def validate(model: type[metadata.Artifact] = model, data: dict[str, Any] = data) -> object:
            return validate_artifact(model, data)

        without, with_rule = _medians_us(validate, args.runs, args.count)
        print(f"{family:<20} {without:>10.1f} {with_rule:>10.1f} {with_rule / without:>6.2f}")
    print(f"load average {os.getloadavg()[0]:.2f} after")
    _decodes(args.runs, args.count)
    return 0


def _decodes(runs: int, count: int) -> None:
    catalog = load_catalog(load_settings().schemas_dir)
    resolver = InMemorySchemaResolver()
    serde = AvroSerde(catalog, resolver, "velocity")
    checking = AvroSerde(catalog, resolver, "velocity")
    print(f"decode; load average {os.getloadavg()[0]:.2f}; medians of {runs} x {count}")
    print(
        f"{'family':<20} {'raw us':>8} {'check us':>8} {'read us':>8} {'check x':>7} {'read x':>7}"
    )
    for name in FAMILIES:
        family = catalog.family(name)
        payload = serde.encode(example(name))
        version = family.latest
        parsed = fastavro.parse_schema(version.schema)
        body = bytes(unframe(payload)[1])
        # The checking serde compiles its reader while the variant is hidden from the builder.
        variant = Artifact._check_rules.__after_read__
        del Artifact._check_rules.__after_read__
        try:
            checking.decode(payload, family)
        finally:
            Artifact._check_rules.__after_read__ = variant  # type: ignore[attr-defined]
        assert serde.decode(payload, family) == checking.decode(payload, family)
        sides = _decode_sides(body, parsed, payload, family, checking, serde)
        samples: dict[str, list[float]] = {side: [] for side in sides}
        for _ in range(runs):
            for side, work in sides.items():
                samples[side].append(_run_us(work, count))
        raw, check, read = (statistics.median(samples[side]) for side in sides)
        ratios = f"{check / raw:>6.2f}x {read / raw:>6.2f}x"
        print(f"{name:<20} {raw:>8.1f} {check:>8.1f} {read:>8.1f} {ratios}")
    print(f"load average {os.getloadavg()[0]:.2f} after")


def _decode_sides(
    body: bytes, parsed: Any, payload: bytes, family: Family, checking: AvroSerde, serde: AvroSerde
) -> dict[str, Callable[[], object]]:
    return {
        "raw": lambda: fastavro.schemaless_reader(io.BytesIO(body), parsed, None),
        "check": lambda: checking.decode(payload, family),
        "read": lambda: serde.decode(payload, family),
    }


if __name__ == "__main__":
    raise SystemExit(main())
