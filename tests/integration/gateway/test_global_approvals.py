"""Two workers in one group share the ``approved_decisions`` table whole: an approval processed
by one worker licenses a delta that the other worker processes.

The decision is keyed by its proposal ref, the licensed delta by its delta id
(``applied:<decision id>``), so the two can land on partitions that different workers own.
Each worker must then read every partition of the table's changelog: at start-up (recovery)
and while running (the other worker's writes, as standby updates). Before the fix the table was
an ordinary partitioned one, the delta waited for an approval its worker never saw and was
dead-lettered as ``state.graph_delta.decision_not_approved`` once the hold ran out.

The hold is ``HOLD_MS`` (3 s, conftest.py): a delta must be accepted well within it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.gateway.conftest import HOLD_MS, GatewayHarness
from tests.integration.gateway.test_two_workers import assignments
from velocity_stream.contracts import example
from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.gateway.memory_runner import partition_for
from velocity_stream.protocol import headers as h

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENTITY = "NormalizedEntityProposal"
# Approvals per direction (first -> second, second -> first) in each phase.
PER_DIRECTION = 3
# A licensed delta must be accepted this soon after it is sent (the hold is HOLD_MS).
PROMPT_S = HOLD_MS / 1000 * 0.6
SPLIT_TIMEOUT_S = 60.0


def test_an_approval_on_one_worker_licenses_a_delta_on_the_other(fresh_gateway):
    gw = fresh_gateway
    first = gw.start()
    first_log = gw.log_path
    second = gw.start()
    owned = _wait_for_split(gw, {"first": first_log, "second": gw.log_path})
    print(f"ingress partitions by worker: {owned}")

    # While both run: each approval is processed by one worker, its delta by the other.
    failures = _crosswise(gw, owned, "running")

    # After a restart: the second worker's table is whatever its recovery read. Approvals
    # decided by either worker, licensing deltas on every partition, exist before it stops.
    everywhere = [
        (owned[decided_by], {partition})
        for partition in range(gw.family("ClientGraphDelta").partitions)
        for decided_by in ("first", "second")
    ]
    before = _approve(gw, everywhere)
    gw.process = second
    assert gw.stop() == 0, gw.log()[-3000:]
    restarted = gw.start()
    owned = _wait_for_split(gw, {"first": first_log, "second": gw.log_path})
    print(f"ingress partitions by worker after the restart: {owned}")
    failures += [f"recovered: {f}" for f in _apply(gw, before, owned)]
    failures += _crosswise(gw, owned, "after the restart")
    assert first.poll() is None, "the first worker died"
    assert restarted.poll() is None, "the restarted worker died"
    assert not failures, f"{len(failures)} deltas not accepted promptly: {failures}"


# --- the flow ---------------------------------------------------------------------------------


def _crosswise(gw: GatewayHarness, owned: dict[str, set[int]], phase: str) -> list[str]:
    """Approvals decided on each worker for deltas of the other; the failures, by phase."""
    failures = []
    for decided_by, applied_by in (("first", "second"), ("second", "first")):
        approved = _approve(gw, [(owned[decided_by], owned[applied_by])] * PER_DIRECTION)
        failures += [f"{phase}: {f}" for f in _apply(gw, approved, owned)]
    return failures


def _approve(gw: GatewayHarness, wanted: list[tuple[set[int], set[int]]]) -> list[Any]:
    """For each (decision partitions, delta partitions) of ``wanted``: an approved entity
    proposal whose decision lands on one of the first and whose licensed delta
    (``applied:<decision id>``) on one of the second; waits for every commit."""
    partitions = gw.family("ClientGraphDelta").partitions
    approved = []
    for decision_on, delta_on in wanted:
        proposal_id = _id_on("proposal:global", decision_on, partitions)
        decision_id = _id_on("decision:global", delta_on, partitions, key=lambda d: f"applied:{d}")
        proposal = gw.variant(
            example(ENTITY), proposal_id=proposal_id, artifact_id=f"art:{proposal_id}"
        )
        value = gw.publish(proposal)
        decision = gw.variant(
            example("ApprovalDecision"),
            proposal_ref=proposal_id,
            proposal_family=ENTITY,
            decision_id=decision_id,
            artifact_id=f"art:{decision_id}",
            decision_notes="Checked.",
            proposal_digest=proposal_digest(value),
        )
        gw.publish(decision)
        approved.append((proposal, decision))
    keys = {p.proposal_id.encode() for p, _ in approved}
    gw.wait_for(lambda o: o.topic == gw.commits and o.key in keys, count=len(keys))
    return approved


def _apply(gw: GatewayHarness, approved: list[Any], owned: dict[str, set[int]]) -> list[str]:
    """Send each approval's licensed delta; those not accepted within ``PROMPT_S``."""
    partitions = gw.family("ClientGraphDelta").partitions
    worker_of = {p: name for name, ps in owned.items() for p in ps}
    failures = []
    for proposal, decision in approved:
        delta = gw.variant(
            example("ClientGraphDelta"),
            delta_id=f"applied:{decision.decision_id}",
            artifact_id=f"art:delta:{uuid.uuid4().hex[:10]}",
            decision_ref=decision.decision_id,
            proposal_ref=proposal.proposal_id,
        )
        where = (
            f"decision on {worker_of[partition_for(gw.key_of(decision), partitions)]}, "
            f"delta on {worker_of[partition_for(gw.key_of(delta), partitions)]}"
        )
        key, value = gw.key_of(delta), gw.encode(delta)
        sent = time.monotonic()
        gw.publish(delta)
        # Its one output: accepted (named by its artifact id) or its dead letter (its bytes).
        [out] = gw.wait_for(
            lambda o, a=delta.artifact_id, k=key, v=value: (
                o.text(h.ARTIFACT_ID) == a or (o.key == k and o.value == v)
            ),
            timeout=HOLD_MS / 1000 + 10,
        )
        took = time.monotonic() - sent
        print(f"{delta.delta_id} ({where}): {out.topic} after {took:.2f} s")
        if out.topic != gw.accepted("ClientGraphDelta"):
            failures.append(
                f"{delta.delta_id} ({where}): {out.text(h.DLQ_REASON)} after {took:.2f} s"
            )
        elif took >= PROMPT_S:
            failures.append(f"{delta.delta_id} ({where}): accepted only after {took:.2f} s")
    return failures


# --- partitions -------------------------------------------------------------------------------


def _id_on(prefix: str, partitions: set[int], count: int, key: Callable[[str], str] = str) -> str:
    """A fresh id beginning with ``prefix`` whose ``key(id)`` lands on one of ``partitions``."""
    while True:
        candidate = f"{prefix}:{uuid.uuid4().hex[:10]}"
        if partition_for(key(candidate).encode(), count) in partitions:
            return candidate


def _wait_for_split(gw: GatewayHarness, logs: dict[str, Path]) -> dict[str, set[int]]:
    """The ingress partitions each worker owns, once both own some, together all, and each has
    finished its recovery after its last assignment."""
    topic = gw.ingress("ApprovalDecision")
    count = gw.family("ApprovalDecision").partitions
    deadline = time.monotonic() + SPLIT_TIMEOUT_S
    while True:
        texts = {name: path.read_text(errors="replace") for name, path in logs.items()}
        owned = {}
        for name, text in texts.items():
            found = assignments(text, topic)
            owned[name] = set(found[-1]) if found else set()
        ready = all(_ready_after_last_assignment(text) for text in texts.values())
        union = set().union(*owned.values())
        disjoint = sum(len(p) for p in owned.values()) == len(union)
        if ready and disjoint and union == set(range(count)) and all(owned.values()):
            return owned
        if time.monotonic() > deadline:
            pytest.fail(f"the workers did not split the partitions: {owned}, ready {ready}")
        time.sleep(0.2)


def _ready_after_last_assignment(log: str) -> bool:
    last_assignment = log.rfind("Setting newly assigned partitions")
    return last_assignment >= 0 and bool(
        re.search(r"Recovery\]: Worker ready", log[last_assignment:])
    )
