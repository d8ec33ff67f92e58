"""Serde throughput per family: encode+validate and decode+validate against raw fastavro.

The baseline is fastavro's schemaless writer and reader on the same records in the same
run, so the ratio says what the contract layer (pydantic rules, framing, schema lookup)
costs, whatever the machine's speed. Decoding is measured four ways: raw fastavro (a dict,
no contract), ``AvroSerde.decode`` (the compiled reader, building the validated model), the
same serde without compiled readers (fastavro's record, then ``validate_artifact``: the
whole decode before them, and what they fall back to), and ``decode_record`` then
``validate_artifact`` (what the gateway pipeline calls).
Run: ``python bench/serde.py [--runs 5] [--seconds 0.4]``.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import fastavro

from velocity_stream.contracts import example, model_for
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.contracts.interaction import InteractionBundle
from velocity_stream.contracts.metadata import Artifact, validate_artifact
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver, unframe

ROOT = Path(__file__).resolve().parents[1] / "avro_schemas"


def rate(action: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``action`` over about ``seconds`` of this process's CPU time: on a
    shared machine, wall time also counts the time other processes held the core."""
    count, start = 0, time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(200):
            action()
        count += 200
        now = time.process_time()
        if now >= deadline:
            return count / (now - start)


def typical_interaction() -> InteractionBundle:
    """An InteractionBundle of about 1 KB on the wire: a dozen events, attachments, a summary."""
    base = example("InteractionBundle").model_dump()
    base["event_refs"] = [f"gmail:msg/18c{i:013x}" for i in range(12)]
    base["attachments"] = [
        {
            "ref": f"s3://velocity-raw/att/{i:08d}.pdf",
            "media_type": "application/pdf",
            "filename": f"brochure-{i}.pdf",
        }
        for i in range(4)
    ]
    base["summary"] = (
        "Client asked about the two-bedroom units on Harbour Street, wants a viewing next week, "
        "budget confirmed at 850k; spouse joins the call on Friday. " * 2
    )
    return InteractionBundle.model_validate(base)


def measure(
    artifact: Artifact, serde: AvroSerde, before: AvroSerde, runs: int, seconds: float
) -> dict[str, float]:
    family = serde.catalog.family(artifact.FAMILY)
    version = family.version(artifact.SCHEMA_VERSION)
    parsed = fastavro.parse_schema(version.schema)
    record = artifact.to_avro()
    payload = serde.encode(artifact)
    _, body = unframe(payload)
    body_bytes = bytes(body)
    model = model_for(family.name, version.major)
    data = artifact.model_dump()

    def raw_encode() -> None:
        fastavro.schemaless_writer(io.BytesIO(), parsed, record)

    def raw_decode() -> None:
        fastavro.schemaless_reader(io.BytesIO(body_bytes), parsed, None)

    def encode_validated() -> None:
        serde.encode(model.model_validate(data))

    def decode_validated() -> None:
        serde.decode(payload, family, version.major)

    def decode_validated_path() -> None:
        before.decode(payload, family, version.major)

    def record_then_validate() -> None:
        decoded = serde.decode_record(payload, family, version.major)
        validate_artifact(model, decoded.record)

    # The compiled reader must build this artifact itself, or the figures measure the
    # fallback twice.
    assert serde.decode(payload, family, version.major) == artifact
    read = serde._readers[(serde.schema_id(version), family.name, version.major)]
    assert read is not None and read(payload, 5) == artifact, f"{family.name} falls back"

    keys = ("raw_enc", "enc", "raw_dec", "dec", "old_dec", "rec_dec")
    samples: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(runs):
        samples["raw_enc"].append(rate(raw_encode, seconds))
        samples["enc"].append(rate(encode_validated, seconds))
        samples["raw_dec"].append(rate(raw_decode, seconds))
        samples["dec"].append(rate(decode_validated, seconds))
        samples["old_dec"].append(rate(decode_validated_path, seconds))
        samples["rec_dec"].append(rate(record_then_validate, seconds))
    result = {key: statistics.median(values) for key, values in samples.items()}
    # Ratios are taken within each run (the two sides measured back to back, under the same
    # load of a shared machine), then their median.
    for name, (base, side) in RATIOS.items():
        pairs = zip(samples[base], samples[side], strict=True)
        result[name] = statistics.median(b / s for b, s in pairs)
    result["bytes"] = len(payload)
    return result


RATIOS = {
    "enc_ratio": ("raw_enc", "enc"),
    "dec_ratio": ("raw_dec", "dec"),
    "old_ratio": ("raw_dec", "old_dec"),
    "rec_ratio": ("raw_dec", "rec_dec"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3)
    args = parser.parse_args()
    catalog = load_catalog(ROOT)
    resolver = InMemorySchemaResolver()
    serde = AvroSerde(catalog, resolver, "velocity")
    before = AvroSerde(catalog, resolver, "velocity", compiled=False)
    cases: list[tuple[str, Artifact]] = [(f.name, example(f.name)) for f in catalog]
    cases.append(("InteractionBundle (1 KB)", typical_interaction()))
    print(
        f"medians of {args.runs} runs; rates in artifacts/s of CPU time on one core; ratios are "
        f"medians of each run's ratio; load average {os.getloadavg()[0]:.2f}"
    )
    header = (
        f"{'family':<26}{'bytes':>6}{'raw enc':>10}{'enc+val':>10}{'ratio':>7}"
        f"{'raw dec':>10}{'dec+val':>10}{'ratio':>7}{'old dec':>10}{'ratio':>7}"
        f"{'rec+val':>10}{'ratio':>7}"
    )
    print(header)
    for name, artifact in cases:
        r = measure(artifact, serde, before, args.runs, args.seconds)
        print(
            f"{name:<26}{r['bytes']:>6.0f}{r['raw_enc']:>10.0f}{r['enc']:>10.0f}"
            f"{r['enc_ratio']:>6.2f}x{r['raw_dec']:>10.0f}{r['dec']:>10.0f}"
            f"{r['dec_ratio']:>6.2f}x{r['old_dec']:>10.0f}"
            f"{r['old_ratio']:>6.2f}x{r['rec_dec']:>10.0f}"
            f"{r['rec_ratio']:>6.2f}x"
        )
    print(
        "ratio = raw fastavro rate / validated rate in the same run (lower is better; targets "
        "enc+val <= 1.0x, dec+val <= 1.3x)\n"
        "dec+val: AvroSerde.decode (the compiled reader builds the model)\n"
        "old dec: the same without compiled readers (fastavro's record, then validate_artifact)\n"
        "rec+val: decode_record (compiled, plain) then validate_artifact, as the gateway does\n"
        f"load average {os.getloadavg()[0]:.2f} after"
    )


if __name__ == "__main__":
    main()
