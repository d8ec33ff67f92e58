"""What a signature costs a decision: Ed25519 signing and verifying against encoding it.

Everything runs in one process, no Kafka. Each side handles the same decision messages (the
example ApprovalDecision, varied per message, encoded before the clock starts except for the
encoding side itself):

- encode: the serde's Avro encoding of the decision (the producer pays it for every publish);
- sha256: hashlib.sha256 of the encoded message (what the decision's proposal_digest costs);
- sign: SigningKey.headers(topic, key, value) (the producer's extra work, headers included);
- verify: KeyRing.verify(...) on a signed message (the gateway's extra work per decision);
- pipeline: the gateway's Pipeline.process of a signed decision, signature stage included,
  on an empty state (the decision is held for its proposal): what the stage is a part of.

Each round runs every side once, in a rotating order; a figure is the median over rounds of
the microseconds per message.

    python bench/signing.py [--messages 5000] [--runs 7]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import statistics
import time
from collections.abc import Callable

from velocity_stream.contracts.approval import ApprovalDecision
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.metadata import validate_artifact
from velocity_stream.gateway import GatewayState, InboundMessage, Pipeline
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR
from velocity_stream.trust import REVIEW_APP_SIGNER, RULES_SIGNER, KeyRing, SigningKey

PREFIX = "bench"
SIDES = {
    "encode": "serde.encode(decision) (baseline)",
    "sha256": "sha256 of the encoded message",
    "sign": "SigningKey.headers(topic, key, value)",
    "verify": "KeyRing.verify(...) of a signed message",
    "pipeline": "Pipeline.process(signed decision), all stages",
}


def decisions(count: int) -> list[ApprovalDecision]:
    data = example("ApprovalDecision").model_dump()
    made = []
    for n in range(count):
        data.update(
            artifact_id=f"art:decision:bench:{n}",
            decision_id=f"decision:bench:{n}",
            proposal_ref=f"proposal:writeback:bench-{n}",
            decision_notes=f"Matches the call #{n}; move to site visits.",
        )
        made.append(validate_artifact(ApprovalDecision, data))
    return made


def measure(args: argparse.Namespace) -> int:
    catalog = load_catalog(DEFAULT_SCHEMAS_DIR)
    serde = AvroSerde(catalog, InMemorySchemaResolver(), PREFIX)
    family = catalog.family("ApprovalDecision")
    topic = family.ingress_topic(PREFIX)
    review = SigningKey.generate(REVIEW_APP_SIGNER, "bench-review")
    rules = SigningKey.generate(RULES_SIGNER, "bench-rules")
    ring = KeyRing([review.verify_key, rules.verify_key])
    pipeline = Pipeline(
        catalog, serde, PREFIX, gateway_version="bench", clock=lambda: 0, verify_keys=ring
    )
    artifacts = decisions(args.messages)
    messages = [(str(a.proposal_ref).encode(), serde.encode(a)) for a in artifacts]
    signed = [(key, value, review.headers(topic, key, value)) for key, value in messages]
    inbound = [
        InboundMessage(topic, 0, offset, key, value, headers, 1_000)
        for offset, (key, value, headers) in enumerate(signed)
    ]
    assert all(ring.verify(topic, k, v, hd, REVIEW_APP_SIGNER) is None for k, v, hd in signed)

    def encode() -> None:
        for artifact in artifacts:
            serde.encode(artifact)

    def sha256() -> None:
        for _, value in messages:
            hashlib.sha256(value).hexdigest()

    def sign() -> None:
        for key, value in messages:
            review.headers(topic, key, value)

    def verify() -> None:
        for key, value, headers in signed:
            ring.verify(topic, key, value, headers, REVIEW_APP_SIGNER)

    def process() -> None:
        state = GatewayState()
        for message in inbound:
            pipeline.process(message, state)

    sides: dict[str, Callable[[], None]] = {
        "encode": encode,
        "sha256": sha256,
        "sign": sign,
        "verify": verify,
        "pipeline": process,
    }
    runs: dict[str, list[float]] = {side: [] for side in sides}
    names = list(sides)
    for round_ in range(args.runs):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for side in order:
            gc.collect()
            started = time.perf_counter()
            sides[side]()
            runs[side].append((time.perf_counter() - started) / args.messages * 1e6)
    median = {side: statistics.median(values) for side, values in runs.items()}

    size = statistics.mean(len(value) for _, value in messages)
    print(f"decision value: {size:.0f} B  messages per run: {args.messages}  runs: {args.runs}")
    for side, label in SIDES.items():
        print(f"{label:<52} {median[side]:8.1f} us")
    base = median["encode"]
    print(f"{'ratio sign / encode:':<52} {median['sign'] / base:8.2f}")
    print(f"{'ratio verify / encode:':<52} {median['verify'] / base:8.2f}")
    print(f"{'verify share of the pipeline:':<52} {median['verify'] / median['pipeline']:8.0%}")
    for side in sides:
        print(f"{side + ' runs:':<12}" + ", ".join(f"{r:.1f}" for r in runs[side]))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    return measure(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
