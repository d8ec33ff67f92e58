"""Compatibility engine timings: one reader/writer pair, and the whole catalog policy check.

Targets (issue 4): one pair under 200 us; every family and version of the catalog under 1 s.
For scale, the same run times ``fastavro.parse_schema`` of the same schema (a parse only, no
resolution) as a baseline. Each figure is the median of ``--runs`` runs.
Run: ``python bench/compat.py [--runs 7]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import fastavro

from velocity_stream.compat import check_compatibility, parse_schema
from velocity_stream.compat.catalog_check import check_catalog
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.contracts.schema_files import AvroSchema

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "avro_schemas"


def per_call_us(action: Callable[[], object], runs: int, calls: int) -> float:
    """Median over ``runs`` of the mean time of one call, in microseconds."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(calls):
            action()
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def once_ms(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def evolved(schema: AvroSchema) -> AvroSchema:
    """The schema plus an optional field: the usual additive minor version."""
    newer = copy.deepcopy(schema)
    fields = newer["fields"]
    assert isinstance(fields, list)
    fields.append({"name": "bench_note", "type": ["null", "string"], "default": None})
    return newer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    runs = args.runs

    catalog = load_catalog(SCHEMAS)
    biggest = max(
        (v for family in catalog for v in family.versions),
        key=lambda v: len(json.dumps(v.schema)),
    )
    writer = biggest.schema
    reader = evolved(writer)
    text_reader, text_writer = json.dumps(reader), json.dumps(writer)
    parsed_reader, parsed_writer = parse_schema(reader), parse_schema(writer)
    assert check_compatibility(parsed_reader, parsed_writer).compatible

    print(
        f"pair: {biggest.family} {biggest.version} ({len(text_writer)} bytes of JSON) "
        "read by itself plus an optional field"
    )
    parsed = per_call_us(lambda: check_compatibility(parsed_reader, parsed_writer), runs, 2000)
    print(f"  check, schemas parsed once      {parsed:8.1f} us   (target < 200 us)")
    cached = per_call_us(lambda: check_compatibility(text_reader, text_writer), runs, 2000)
    print(f"  check, JSON text (parse cached) {cached:8.1f} us")
    cold = per_call_us(lambda: check_compatibility(reader, writer), runs, 300)
    print(f"  check, dicts parsed every call  {cold:8.1f} us")
    baseline = per_call_us(lambda: fastavro.parse_schema(writer, _write_hint=False), runs, 300)
    print(f"  baseline: fastavro.parse_schema of one schema {baseline:8.1f} us")

    versions = sum(len(family.versions) for family in catalog)
    print(f"catalog: {len(catalog.families)} families, {versions} versions")
    policy = once_ms(lambda: check_catalog(SCHEMAS, check_models=False), runs)
    print(f"  policy (load + parse + check)   {policy:8.1f} ms   (target < 1000 ms)")
    full = once_ms(lambda: check_catalog(SCHEMAS), runs)
    print(f"  policy + model drift            {full:8.1f} ms")
    try:
        against = once_ms(lambda: check_catalog(SCHEMAS, "HEAD"), runs)
        print(f"  policy + drift --against HEAD   {against:8.1f} ms")
    except Exception as error:  # no git history here: say so, keep the other figures
        print(f"  --against HEAD not measured: {error}")
    command = [
        sys.executable,
        "-c",
        "from velocity_stream.compat.catalog_check import check_catalog;"
        f"check_catalog(__import__('pathlib').Path({str(SCHEMAS)!r}), 'HEAD')",
    ]
    process = once_ms(lambda: subprocess.run(command, check=True), max(3, runs // 2))
    print(f"  fresh interpreter, imports included {process:6.1f} ms")


if __name__ == "__main__":
    main()
