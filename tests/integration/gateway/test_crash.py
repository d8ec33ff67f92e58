"""kill -9 the worker midway through 20,000 mixed artifacts, restart it, and check the books.

Phase 1 publishes a backlog (stateless artifacts, proposals and their decisions, batches and
their rows, contract violations), starts the worker and kills it with SIGKILL once part of the
backlog is out. The restarted worker must finish the backlog with every input in exactly one
route and nothing accepted missing; redelivered inputs may repeat outputs, but only byte for
byte. Phase 2 then sends inputs whose outcome depends on the tables the killed worker wrote
(decisions for its pending proposals, second decisions, repeated and mutated batches, rows
beyond a batch's row count): they prove the tables were recovered from their changelogs.
"""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

from velocity_stream.contracts import example
from velocity_stream.errors import ReasonCode
from velocity_stream.protocol import headers as h

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STATELESS = 14_800
PROPOSALS = 2_000
DECIDED_BEFORE = 1_000
INVALID = 1_000
BATCHES = 200
ROWS_PER_BATCH = 5
TOTAL = STATELESS + PROPOSALS + DECIDED_BEFORE + INVALID + BATCHES * (1 + ROWS_PER_BATCH)
KILL_AFTER_OUTPUTS = 4_000
# How long outputs may stop before the test calls the worker stuck. A restarted worker first
# starts its process, then reads its changelogs to their end before it routes anything: on a
# busy 2-core machine that alone can take several seconds, so the window is generous; a worker
# that really stopped still fails the test, only later.
STALL_S = 30.0


def test_kill_9_midway_loses_nothing_and_duplicates_nothing(fresh_gateway):
    gw = fresh_gateway
    assert TOTAL == 20_000
    expected: dict[str, set[str]] = {}  # artifact id -> the output categories it must reach

    interaction, qd = example("InteractionBundle"), example("QdSignalBundle")
    for i in range(STATELESS):
        base = interaction if i % 2 else qd
        art = gw.variant(base, artifact_id=f"art:crash:s{i}")
        gw.publish(art, flush=False)
        expected[art.artifact_id] = {"accepted"}
    proposals = []
    writeback = example("OracleWritebackProposal")
    for i in range(PROPOSALS):
        p = gw.variant(writeback, proposal_id=f"proposal:crash:{i}", artifact_id=f"art:crash:p{i}")
        proposals.append(p)
        gw.publish(p, flush=False)
        expected[p.artifact_id] = {"pending"}
    decision = example("ApprovalDecision")

    def decide(i: int, tag: str, **changes: object):
        return gw.variant(
            decision,
            proposal_ref=proposals[i].proposal_id,
            proposal_family="OracleWritebackProposal",
            decision_id=f"decision:crash:{tag}{i}",
            artifact_id=f"art:crash:{tag}{i}",
            proposal_digest=gw.digest_of(proposals[i]),
            **changes,
        )

    for i in range(DECIDED_BEFORE):
        d = decide(i, "d")
        gw.publish(d, flush=False)
        expected[d.artifact_id] = {"accepted", "commit"}
    for i in range(INVALID):
        bad = gw.unchecked(qd, artifact_id=f"art:crash:x{i}", confidence=2.0)
        gw.publish(bad, flush=False)
        expected[bad.artifact_id] = {"dead"}
    batch_example, row_example = example("RawImportBatch"), example("ImportRowRecord")
    batches = []
    for i in range(BATCHES):
        b = gw.variant(
            batch_example,
            batch_id=f"batch:crash:{i}",
            artifact_id=f"art:crash:b{i}",
            row_count=ROWS_PER_BATCH,
        )
        batches.append(b)
        gw.publish(b, flush=False)
        expected[b.artifact_id] = {"accepted"}
        for n in range(1, ROWS_PER_BATCH + 1):
            r = gw.variant(
                row_example,
                batch_id=b.batch_id,
                row_number=n,
                row_id=f"{b.batch_id}/row/{n}",
                artifact_id=f"art:crash:r{i}:{n}",
            )
            gw.publish(r, flush=False)
            expected[r.artifact_id] = {"accepted"}
    gw.flush()
    assert len(expected) == TOTAL

    # Phase 1: run, kill -9 once part of the backlog is out, restart.
    gw.start()
    while len(gw.outputs) < KILL_AFTER_OUTPUTS:
        gw.read(0.05, until=KILL_AFTER_OUTPUTS)
        assert gw.alive(), gw.log()[-3000:]
    gw.kill()
    out_at_kill = len(gw.outputs)
    gw.start()

    seen: set[str] = set()
    indexed = 0

    def seen_ids() -> set[str]:
        # Incremental: decoding every dead letter on every pass would be quadratic.
        nonlocal indexed
        for o in gw.outputs[indexed:]:
            aid = gw.artifact_id_of(o)
            if aid:
                seen.add(aid)
        indexed = len(gw.outputs)
        return seen

    progress = time.monotonic()
    while True:  # until every input shows up, failing if outputs stop coming
        done = seen_ids()
        missing = [aid for aid in expected if aid not in done]
        if not missing:
            break
        if gw.read(1.0):
            progress = time.monotonic()
        assert gw.alive(), gw.log()[-3000:]
        if time.monotonic() - progress > STALL_S:
            pytest.fail(f"{len(missing)} inputs never reached an output, e.g. {missing[:5]}")
    assert out_at_kill < TOTAL, "the worker finished before the kill: the test proved nothing"

    # Phase 2: outcomes that depend on the recovered tables.
    for i in range(DECIDED_BEFORE, PROPOSALS):  # decisions for proposals pending before the kill
        d = decide(i, "late")
        gw.publish(d, flush=False)
        expected[d.artifact_id] = {"accepted", "commit"}
    for i in range(100):  # second decisions for proposals decided before the kill
        d = decide(i, "again", reviewer_ref="human:sayan")
        gw.publish(d, flush=False)
        expected[d.artifact_id] = {"dead"}
    for i in range(50):  # identical batches: duplicates, nothing re-emitted
        gw.publish(batches[i], flush=False)
    for i in range(50, 100):  # same batch id, other content
        mutated = gw.variant(batches[i], artifact_id=f"art:crash:m{i}", row_count=99)
        gw.publish(mutated, flush=False)
        expected[mutated.artifact_id] = {"dead"}
    for i in range(100, 150):  # a row beyond the recovered row count
        r = gw.variant(
            row_example,
            batch_id=batches[i].batch_id,
            row_number=ROWS_PER_BATCH + 1,
            row_id=f"{batches[i].batch_id}/row/extra",
            artifact_id=f"art:crash:o{i}",
        )
        gw.publish(r, flush=False)
        expected[r.artifact_id] = {"dead"}
    gw.flush()
    phase2 = [
        aid
        for aid in expected
        if aid.startswith(("art:crash:late", "art:crash:again", "art:crash:m", "art:crash:o"))
    ]
    progress = time.monotonic()
    while True:
        done = seen_ids()
        missing = [aid for aid in phase2 if aid not in done]
        if not missing:
            break
        if gw.read(1.0):
            progress = time.monotonic()
        if time.monotonic() - progress > STALL_S:
            pytest.fail(
                f"phase 2: {len(missing)} inputs never reached an output, e.g. {missing[:5]}"
            )
    gw.settle(2.0)
    assert gw.alive()

    # The books: every input in exactly its categories, repeats identical, reasons right.
    categories: dict[str, set[str]] = defaultdict(set)
    copies: dict[tuple[str, str], set[tuple[bytes | None, bytes | None]]] = defaultdict(set)
    reasons: dict[str, set[str]] = defaultdict(set)
    for o in gw.outputs:
        aid = gw.artifact_id_of(o)
        assert aid is not None, o
        categories[aid].add(gw.category(o))
        copies[(o.topic, aid)].add((o.key, o.value))
        if o.topic == gw.dead_letters:
            reasons[aid].add(o.text(h.DLQ_REASON) or "")
    wrong = {
        aid: (categories.get(aid), want)
        for aid, want in expected.items()
        if categories.get(aid) != want
    }
    assert not wrong, f"{len(wrong)} inputs in the wrong routes, e.g. {list(wrong.items())[:5]}"
    unexpected = set(categories) - set(expected)
    assert not unexpected, (
        f"outputs for inputs never sent or re-emitted duplicates: {sorted(unexpected)[:5]}"
    )
    differing = {k: v for k, v in copies.items() if len(v) != 1}
    assert not differing, f"redelivery changed outputs: {list(differing)[:5]}"
    assert reasons["art:crash:again0"] == {ReasonCode.APPROVAL_ALREADY_DECIDED.value}
    assert reasons["art:crash:m50"] == {ReasonCode.STATE_BATCH_MUTATED.value}
    assert reasons["art:crash:o100"] == {ReasonCode.STATE_ROW_OUT_OF_RANGE.value}
    assert reasons["art:crash:x0"] == {ReasonCode.CONTRACT_CONFIDENCE_RANGE.value}
    # The identical batches were duplicates: each batch accepted once (copies may repeat).
    assert all(categories[b.artifact_id] == {"accepted"} for b in batches)
