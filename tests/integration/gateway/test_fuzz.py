"""Thousands of random and mutated payloads at every ingress topic: the worker never stops.

Kinds: random bytes, bit flips in valid Avro, wrong and foreign schema ids, truncations, huge
declared lengths, null and empty values, odd keys and headers. Every input must come out exactly
once (found by its source coordinates), the worker must stay up without a restart, and every
input is dead-lettered, except the rare bit flip that leaves a still-valid artifact, which must
then really be valid and be routed like any valid artifact.
"""

from __future__ import annotations

import random
import struct
from collections import defaultdict
from functools import partial

import pytest
from confluent_kafka import KafkaError, Message

from velocity_stream.contracts import example
from velocity_stream.errors import VelocityError
from velocity_stream.protocol import headers as h

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COUNT = 10_000
SEED = 20260418
HUGE_VARINT = b"\xfe\xff\xff\xff\xff\xff\xff\xff\x7f"  # zigzag length ~2**62


def payloads(gw, rng: random.Random, count: int):
    """(topic, key, value, headers, kind) tuples, every kind of damage, all ingress topics."""
    topics = list(gw.catalog.ingress_topics(gw.prefix))
    valid: dict[str, bytes] = {}
    for topic, (family, major) in gw.catalog.ingress_topics(gw.prefix).items():
        try:
            valid[topic] = gw.encode(example(family.name, major))
        except VelocityError:
            continue
    known_ids = sorted({struct.unpack(">I", v[1:5])[0] for v in valid.values()})
    kinds = [
        "random",
        "zero-random",
        "bitflip",
        "wrong-id",
        "foreign-id",
        "truncate",
        "huge",
        "null",
    ]
    for i in range(count):
        topic = topics[i % len(topics)]
        base = valid.get(topic) or next(iter(valid.values()))
        kind = kinds[i % len(kinds)]
        if kind == "random":
            value: bytes | None = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 600)))
        elif kind == "zero-random":
            value = b"\x00" + bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 600)))
        elif kind == "bitflip":
            data = bytearray(base)
            for _ in range(rng.randint(1, 4)):
                position = rng.randrange(5, len(data))
                data[position] ^= 1 << rng.randrange(8)
            value = bytes(data)
        elif kind == "wrong-id":
            value = b"\x00" + struct.pack(">I", rng.randint(10_000, 2**32 - 1)) + base[5:]
        elif kind == "foreign-id":
            own = struct.unpack(">I", base[1:5])[0]
            foreign = rng.choice([i for i in known_ids if i != own])
            value = b"\x00" + struct.pack(">I", foreign) + base[5:]
        elif kind == "truncate":
            value = base[: rng.randrange(0, len(base))]
        elif kind == "huge":
            # The first field (artifact_id, a string) now claims an enormous length.
            value = base[:5] + HUGE_VARINT + base[6:]
        else:
            value = None if i % 2 else b""
        key = None if i % 7 == 0 else f"fuzz-{i}".encode()
        headers = [("fuzz", kind.encode())]
        if i % 11 == 0:
            headers.append(("empty", b""))
        yield topic, key, value, headers, kind


def test_fuzzed_payloads_never_stop_the_worker_and_are_all_dead_lettered(fresh_gateway):
    gw = fresh_gateway
    gw.start()
    pid = gw.process.pid
    rng = random.Random(SEED)
    sent: dict[tuple[str, int, int], str] = {}
    failures: list[KafkaError] = []

    def delivered(kind: str, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            failures.append(error)
        else:
            sent[(message.topic(), message.partition(), message.offset())] = kind

    for topic, key, value, headers, kind in payloads(gw, rng, COUNT):
        while True:
            try:
                gw.producer.produce(
                    topic,
                    value=value,
                    key=key,
                    headers=headers,
                    on_delivery=partial(delivered, kind),
                )
                break
            except BufferError:
                gw.producer.poll(0.05)
    gw.flush()
    assert not failures and len(sent) == COUNT

    routes: dict[tuple[str, int, int], list[str]] = defaultdict(list)
    outputs_by_source = {}
    idle = 0
    while not set(sent) <= set(routes):
        new = gw.read(2.0)
        for o in new:
            if o.topic == gw.dead_letters:
                source = _coordinates(
                    o, h.DLQ_SOURCE_TOPIC, h.DLQ_SOURCE_PARTITION, h.DLQ_SOURCE_OFFSET
                )
                routes[source].append("dead")
            else:
                source = _coordinates(o, h.SOURCE_TOPIC, h.SOURCE_PARTITION, h.SOURCE_OFFSET)
                routes[source].append(o.topic)
                outputs_by_source[source] = o
        assert gw.alive(), gw.log()[-3000:]
        idle = 0 if new else idle + 1
        if idle >= 5:  # held inputs expire after a few seconds; ten idle seconds is a stall
            missing = sorted(set(sent) - set(routes))
            pytest.fail(f"{len(missing)} fuzzed inputs never came out, e.g. {missing[:5]}")

    assert gw.process.pid == pid and gw.alive(), "the worker restarted or died"
    assert set(routes) <= set(sent) | _auto_decisions(gw), "outputs for inputs never sent"
    dead = {s for s in sent if routes[s] == ["dead"] or set(routes[s]) == {"dead"}}
    alive_routes = {s: routes[s] for s in sent if s not in dead}
    # A bit flip may leave a valid artifact (a changed letter in a string): then it is routed
    # like any valid artifact, and must really be valid.
    for source, topics in alive_routes.items():
        assert "dead" not in topics, (source, topics)
        assert sent[source] == "bitflip", (source, sent[source], topics)
        family, major = gw.catalog.ingress_topics(gw.prefix)[source[0]]
        gw.serde.decode(outputs_by_source[source].value, family, major)
    # Every input that is not a bit flip is dead-lettered (checked above); most flips break the
    # record too (a flip inside a text field often leaves a valid artifact, ~15% here).
    flips = [s for s in sent if sent[s] == "bitflip"]
    assert len(alive_routes) < 0.3 * len(flips), f"{len(alive_routes)} of {len(flips)} flips valid"
    assert len(dead) + len(alive_routes) == COUNT
    errors = [line for line in gw.log().splitlines() if "Traceback" in line or "[CRITICAL]" in line]
    assert not errors, errors[:5]


def _coordinates(output, topic: str, partition: str, offset: str) -> tuple[str, int, int]:
    return (output.text(topic), int(output.text(partition)), int(output.text(offset)))


def _auto_decisions(gw) -> set[tuple[str, int, int]]:
    """Coordinates of decisions the gateway itself wrote (a still-valid flipped low-risk entity)."""
    decisions = gw.family("ApprovalDecision").ingress_topic(gw.prefix)
    return {
        (o.text(h.SOURCE_TOPIC), int(o.text(h.SOURCE_PARTITION)), int(o.text(h.SOURCE_OFFSET)))
        for o in gw.outputs
        if o.text(h.SOURCE_TOPIC) == decisions
    }
