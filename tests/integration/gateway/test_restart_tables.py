"""A worker stopped right after its last output restarts with every table entry it had written.

Issue 12, item 4. Each round publishes fresh import batches and decided proposals, waits for
their outputs, stops the worker with no settling at all (``kill -9`` in one test, SIGTERM in
the other), restarts it and sends inputs whose route depends on the recovered tables: a row of
every batch (accepted only if the ``artifacts`` table knows the batch) and a second,
conflicting decision for every proposal (refused as ``approval.already_decided`` only if the
``decisions`` table holds the first). Every input must reach exactly one route.

Before the fix, the restarted worker's table recovery read each changelog partition only up to
the end reported by ListOffsets, which the embedded broker (Tansu) answers with the base
offset of the last batch + 1: the tail of a multi-record batch was missing after most restarts.

Rounds run on one harness: the restart of a round is the running worker of the next one.
``VELOCITY_RESTART_ROUNDS`` sets the rounds per test (default 3); every round is checked and
the failures are reported together, so a run gives a count.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable

import pytest

from velocity_stream.contracts import example
from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.errors import ReasonCode
from velocity_stream.protocol import headers as h

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROUNDS = int(os.environ.get("VELOCITY_RESTART_ROUNDS", "3"))
# Per round: enough inputs that every partition's last changelog batch holds several records.
BATCHES = 24
PROPOSALS = 24


def test_tables_survive_kill_9_right_after_the_last_output(fresh_gateway):
    _rounds(fresh_gateway, "kill", fresh_gateway.kill)


def test_tables_survive_sigterm_right_after_the_last_output(fresh_gateway):
    def stop() -> None:
        assert fresh_gateway.stop() == 0, fresh_gateway.log()[-3000:]

    _rounds(fresh_gateway, "term", stop)


def _rounds(gw, way: str, stop_worker: Callable[[], None]) -> None:
    gw.start()
    failures: list[str] = []
    for n in range(ROUNDS):
        problems = _round(gw, f"{way}{n}", stop_worker)
        print(f"restart round {way} {n}: {problems or 'ok'}")
        if problems:
            failures.append(f"round {n}: {problems}")
    assert not failures, f"{len(failures)}/{ROUNDS} rounds lost table entries: {failures}"


def _round(gw, tag: str, stop_worker: Callable[[], None]) -> str:
    """One publish, stop, restart and check; a description of what went wrong, or ''."""
    expected: dict[str, set[str]] = {}
    batch_example, row_example = example("RawImportBatch"), example("ImportRowRecord")
    writeback, decision = example("OracleWritebackProposal"), example("ApprovalDecision")
    batches = []
    for i in range(BATCHES):
        b = gw.variant(
            batch_example,
            batch_id=f"batch:{tag}:{i}",
            artifact_id=f"art:{tag}:b{i}",
            row_count=3,
        )
        batches.append(b)
        gw.publish(b, flush=False)
        expected[b.artifact_id] = {"accepted"}
    proposals = []
    digests = []
    for i in range(PROPOSALS):
        p = gw.variant(writeback, proposal_id=f"proposal:{tag}:{i}", artifact_id=f"art:{tag}:p{i}")
        proposals.append(p)
        # A person's decision names the proposal bytes it reviewed.
        digests.append(proposal_digest(gw.publish(p, flush=False)))
        expected[p.artifact_id] = {"pending"}

    def decide(i: int, kind: str, **changes: object):
        return gw.variant(
            decision,
            proposal_ref=proposals[i].proposal_id,
            proposal_family="OracleWritebackProposal",
            decision_id=f"decision:{tag}:{kind}{i}",
            artifact_id=f"art:{tag}:{kind}{i}",
            proposal_digest=digests[i],
            **changes,
        )

    for i in range(PROPOSALS):
        d = decide(i, "d")
        gw.publish(d, flush=False)
        expected[d.artifact_id] = {"accepted", "commit"}
    gw.flush()

    # Wait for every output, then stop at once: no settling between the last output and the stop.
    _wait_for_ids(gw, set(expected))
    stop_worker()
    gw.start()

    rows = []
    for i, b in enumerate(batches):
        r = gw.variant(
            row_example,
            batch_id=b.batch_id,
            row_number=1,
            row_id=f"{b.batch_id}/row/1",
            artifact_id=f"art:{tag}:r{i}",
        )
        rows.append(r)
        gw.publish(r, flush=False)
        expected[r.artifact_id] = {"accepted"}
    again = []
    for i in range(PROPOSALS):
        d = decide(i, "again", decision="REJECTED")
        again.append(d)
        gw.publish(d, flush=False)
        expected[d.artifact_id] = {"dead"}
    gw.flush()
    _wait_for_ids(gw, {r.artifact_id for r in rows} | {d.artifact_id for d in again})
    gw.settle(1.0)

    categories: dict[str, set[str]] = defaultdict(set)
    copies: dict[tuple[str, str], set[tuple[bytes | None, bytes | None]]] = defaultdict(set)
    reasons: dict[str, set[str]] = defaultdict(set)
    for o in gw.outputs:
        aid = gw.artifact_id_of(o)
        if aid is None or not aid.startswith(f"art:{tag}:"):
            continue
        categories[aid].add(gw.category(o))
        copies[(o.topic, aid)].add((o.key, o.value))
        if o.topic == gw.dead_letters:
            reasons[aid].add(o.text(h.DLQ_REASON) or "")
    problems = []
    wrong = {
        aid: (sorted(categories.get(aid, ())), sorted(want))
        for aid, want in expected.items()
        if categories.get(aid) != want
    }
    if wrong:
        lost_rows = sum(1 for r in rows if r.artifact_id in wrong)
        applied_again = sum(1 for d in again if d.artifact_id in wrong)
        problems.append(
            f"{len(wrong)} inputs in the wrong routes ({lost_rows}/{len(rows)} rows, "
            f"{applied_again}/{len(again)} second decisions), e.g. {list(wrong.items())[:3]}, "
            f"reasons {sorted({r for aid in wrong for r in reasons.get(aid, ())})}"
        )
    unexpected = set(categories) - set(expected)
    if unexpected:
        problems.append(f"outputs for inputs never sent: {sorted(unexpected)[:3]}")
    refused = {d.artifact_id for d in again if d.artifact_id not in wrong}
    bad_reason = {
        aid for aid in refused if reasons.get(aid) != {ReasonCode.APPROVAL_ALREADY_DECIDED.value}
    }
    if bad_reason:
        problems.append(f"second decisions refused for another reason: {sorted(bad_reason)[:3]}")
    differing = [k for k, v in copies.items() if len(v) != 1]
    if differing:
        problems.append(f"redelivery changed outputs: {differing[:3]}")
    if not gw.alive():
        problems.append("the restarted worker died")
    return "; ".join(problems)


def _wait_for_ids(gw, ids: set[str], timeout: float = 60.0) -> None:
    """Read until every artifact id in ``ids`` reached some output."""
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    indexed = 0
    while True:
        for o in gw.outputs[indexed:]:
            aid = gw.artifact_id_of(o)
            if aid is not None:
                seen.add(aid)
        indexed = len(gw.outputs)
        missing = ids - seen
        if not missing:
            return
        assert gw.alive(), gw.log()[-3000:]
        if time.monotonic() > deadline:
            pytest.fail(
                f"{len(missing)} inputs never reached an output, e.g. {sorted(missing)[:5]}"
            )
        gw.read(0.05)
