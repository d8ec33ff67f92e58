"""GatewayMetrics fed with the real pipeline's outcomes: counts, reasons, approvals, latencies."""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.observability.conftest import Traffic
from velocity_stream.contracts import example
from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import RouteKind
from velocity_stream.observability import (
    ConsumerMetrics,
    DecidedBy,
    PendingApprovals,
    pending_in_state,
)

PREFIX = Traffic.PREFIX
T_MS = Traffic.T_MS
variant = Traffic.variant

IN = "velocity_gateway_messages_in_total"
OUT = "velocity_gateway_messages_out_total"
DEAD = "velocity_gateway_dead_letters_total"
PENDING = "velocity_gateway_pending_approvals"
DECISION = "velocity_gateway_decision_latency_seconds"
E2E = "velocity_gateway_end_to_end_latency_seconds"


def _proposal(proposal_id="proposal:writeback:obs-1"):
    base = example("OracleWritebackProposal")
    return variant(base, proposal_id=proposal_id, artifact_id=f"art:{proposal_id}")


def _decision(traffic, proposal_id="proposal:writeback:obs-1", **changes):
    """A decision on ``_proposal(proposal_id)``, naming the digest of its bytes."""
    fields = {
        "proposal_ref": proposal_id,
        "decision_id": f"decision:{proposal_id}",
        "artifact_id": f"art:decision:{proposal_id}",
        "proposal_digest": proposal_digest(traffic.serde.encode(_proposal(proposal_id))),
    }
    fields.update(changes)
    return variant(example("ApprovalDecision"), **fields)


def test_accepted_inputs_count_in_and_out_by_family_and_route(
    traffic, gateway_metrics, sample, examples
):
    for _ in range(3):
        [outcome] = traffic.send(examples["QdSignalBundle"])
        assert outcome.route is RouteKind.ACCEPTED
        gateway_metrics.observe(outcome, now_s=T_MS / 1000 + 0.25)
    [interaction] = traffic.send(examples["InteractionBundle"])
    gateway_metrics.observe(interaction, now_s=T_MS / 1000 + 0.25)

    assert sample(IN, family="QdSignalBundle", route="accepted") == 3
    assert sample(OUT, family="QdSignalBundle", route="accepted") == 3
    assert sample(IN, family="InteractionBundle", route="accepted") == 1
    assert sample(DEAD, family="QdSignalBundle", reason="contract.qd_signal.evidence_required") == 0


def test_dead_letters_are_counted_by_reason_code_and_family(traffic, gateway_metrics, sample):
    topic = traffic.catalog.family("QdSignalBundle").ingress_topic(PREFIX)
    bad_magic = traffic.raw(topic, b"\x07not avro")
    empty = traffic.raw(topic, b"")
    for outcome in (bad_magic, empty, traffic.raw(topic, b"\x07again")):
        gateway_metrics.observe(outcome, now_s=T_MS / 1000)

    assert bad_magic.reason is ReasonCode.DECODE_BAD_MAGIC_BYTE
    assert empty.reason is ReasonCode.DECODE_EMPTY_PAYLOAD
    assert sample(DEAD, family="QdSignalBundle", reason="decode.bad_magic_byte") == 2
    assert sample(DEAD, family="QdSignalBundle", reason="decode.empty_payload") == 1
    assert sample(IN, family="QdSignalBundle", route="dead_letter") == 3
    assert sample(OUT, family="QdSignalBundle", route="dead_letter") == 3


def test_input_from_a_topic_outside_the_catalog_is_family_unknown(traffic, gateway_metrics, sample):
    outcome = traffic.raw(f"{PREFIX}.not-a-family.v1", b"\x00\x00\x00\x00\x01")
    gateway_metrics.observe(outcome, now_s=T_MS / 1000)
    assert sample(DEAD, family="unknown", reason="decode.unknown_topic") == 1


def test_end_to_end_latency_runs_from_the_record_timestamp_to_the_ack(
    traffic, gateway_metrics, sample, examples
):
    [outcome] = traffic.send(examples["QdSignalBundle"], timestamp_ms=T_MS)
    gateway_metrics.observe(outcome, now_s=T_MS / 1000 + 0.040)
    labels = {"family": "QdSignalBundle", "route": "accepted"}
    assert sample(E2E + "_count", **labels) == 1
    assert sample(E2E + "_sum", **labels) == pytest.approx(0.040)
    assert sample(E2E + "_bucket", le="0.05", **labels) == 1
    assert sample(E2E + "_bucket", le="0.025", **labels) == 0


def test_explicit_latency_wins_and_clock_skew_never_goes_negative(
    traffic, gateway_metrics, sample, examples
):
    [first] = traffic.send(examples["QdSignalBundle"])
    gateway_metrics.observe(first, latency_s=1.5)
    [second] = traffic.send(examples["QdSignalBundle"], timestamp_ms=T_MS + 5_000)
    gateway_metrics.observe(second, now_s=T_MS / 1000)  # producer clock 5 s ahead
    labels = {"family": "QdSignalBundle", "route": "accepted"}
    assert sample(E2E + "_count", **labels) == 2
    assert sample(E2E + "_sum", **labels) == pytest.approx(1.5)


def test_held_rows_count_as_held_then_under_their_final_route_when_released(
    traffic, gateway_metrics, sample
):
    batch_id = "batch:2026-04-18-hubspot-01"
    rows = [
        variant(
            example("ImportRowRecord"),
            batch_id=batch_id,
            row_number=n,
            row_id=f"{batch_id}/row/{n}",
            artifact_id=f"art:row:{n}",
        )
        for n in (3, 4)
    ]
    for row in rows:
        [held] = traffic.send(row, timestamp_ms=T_MS)
        assert held.route is RouteKind.HELD
        gateway_metrics.observe(held, now_s=T_MS / 1000 + 1)
    batch = variant(example("RawImportBatch"), batch_id=batch_id, artifact_id=f"art:{batch_id}")
    [accepted] = traffic.send(batch, timestamp_ms=T_MS + 60_000)
    assert len(accepted.released) == 2 and len(accepted.outputs) == 3
    gateway_metrics.observe(accepted, now_s=T_MS / 1000 + 60.5)

    assert sample(IN, family="ImportRowRecord", route="held") == 2
    assert sample(OUT, family="ImportRowRecord", route="held") == 0
    assert sample(IN, family="ImportRowRecord", route="accepted") == 2
    assert sample(OUT, family="ImportRowRecord", route="accepted") == 2
    assert sample(OUT, family="RawImportBatch", route="accepted") == 1
    # Released rows' latency runs from their own timestamps, so it includes the hold.
    rows_e2e = {"family": "ImportRowRecord", "route": "accepted"}
    assert sample(E2E + "_sum", **rows_e2e) == pytest.approx(2 * 60.5)
    batch_e2e = {"family": "RawImportBatch", "route": "accepted"}
    assert sample(E2E + "_sum", **batch_e2e) == pytest.approx(0.5)


def test_pending_gauge_rises_with_proposals_and_falls_with_decisions(
    traffic, gateway_metrics, sample
):
    start = T_MS / 1000
    for n in range(3):
        [pending] = traffic.send(_proposal(f"proposal:writeback:obs-{n}"))
        assert pending.route is RouteKind.PENDING_APPROVAL
        gateway_metrics.observe(pending, now_s=start + n)
    assert sample(PENDING) == 3

    [decided] = traffic.send(_decision(traffic, "proposal:writeback:obs-0"))
    assert decided.route is RouteKind.DECISION_APPLIED
    gateway_metrics.observe(decided, now_s=start + 600)
    rejected = _decision(
        traffic, "proposal:writeback:obs-1", decision="REJECTED", decision_notes="No."
    )
    [closed] = traffic.send(rejected)
    gateway_metrics.observe(closed, now_s=start + 1 + 30)

    assert sample(PENDING) == 1
    assert sample(DECISION + "_count", decided_by="reviewer") == 2
    assert sample(DECISION + "_sum", decided_by="reviewer") == pytest.approx(600 + 30)
    # The approval produced the accepted decision and a commit record.
    assert sample(OUT, family="ApprovalDecision", route="decision_applied") == 3


def test_redelivered_proposal_is_pending_once(traffic, gateway_metrics, sample):
    message = traffic.message(_proposal())
    first = traffic.runner.run([message])[0]
    again = traffic.runner.replay(message)
    for outcome in (first, again):
        gateway_metrics.observe(outcome, now_s=T_MS / 1000)
    assert again.route is RouteKind.PENDING_APPROVAL
    assert sample(PENDING) == 1


def test_auto_approved_proposal_is_never_pending_and_its_latency_is_the_rules(
    traffic, gateway_metrics, sample
):
    low_risk = variant(
        example("NormalizedEntityProposal"),
        proposal_id="proposal:entity:low-risk",
        artifact_id="art:proposal:entity:low-risk",
        review_required=False,
        merge_candidate_refs=(),
        confidence=0.95,
    )
    proposal, decision = traffic.send(low_risk)
    assert (proposal.route, decision.route) == (RouteKind.AUTO_APPROVED, RouteKind.DECISION_APPLIED)
    gateway_metrics.observe(proposal, now_s=100.0)
    assert sample(PENDING) == 0
    gateway_metrics.observe(decision, now_s=100.02)
    assert sample(DECISION + "_count", decided_by="rule") == 1
    assert sample(DECISION + "_sum", decided_by="rule") == pytest.approx(0.02)
    assert sample(DECISION + "_count", decided_by="reviewer") == 0
    assert sample(IN, family="NormalizedEntityProposal", route="auto_approved") == 1


def test_resync_from_state_counts_undecided_proposals_on_the_workers_partitions(
    traffic, gateway_metrics, sample
):
    for n in range(4):
        traffic.send(_proposal(f"proposal:writeback:obs-{n}"))
    traffic.send(_decision(traffic, "proposal:writeback:obs-2"))

    # A restarted worker: nothing observed yet, the tables are all it has.
    found = []
    for partition in range(traffic.catalog.gateway.partitions):
        found += pending_in_state(traffic.runner.state(partition))
    keys = sorted(key for key, _ in found)
    assert keys == [f"proposal:writeback:obs-{n}".encode() for n in (0, 1, 3)]

    gateway_metrics.approvals.resync(found)
    assert sample(PENDING) == 3
    # Only the partitions a worker owns (its tables also hold standby copies of others).
    owned = {found[0][1]}
    kept = [
        item
        for n in range(traffic.catalog.gateway.partitions)
        for item in pending_in_state(traffic.runner.state(n), owned)
    ]
    assert kept and sorted(kept) == sorted(item for item in found if item[1] in owned)
    [decided] = traffic.send(_decision(traffic, "proposal:writeback:obs-0"))
    gateway_metrics.observe(decided, now_s=T_MS / 1000 + 10)
    assert sample(PENDING) == 2
    # Seen only in state, so its wait is unknown: no latency is made up.
    assert sample(DECISION + "_count", decided_by="reviewer") == 0


def test_revoked_partitions_stop_counting_their_proposals(metrics, sample):
    approvals = PendingApprovals(metrics.pending_approvals)
    approvals.pending(b"p-a", 0, 10.0)
    approvals.pending(b"p-b", 1, 10.0)
    approvals.auto_approved(b"p-c", 1, 10.0)
    approvals.forget_partitions({1})
    assert approvals.count == 1 and sample(PENDING) == 1
    assert approvals.decided(b"p-b", 20.0) is None
    assert approvals.decided(b"p-a", 25.0) == (15.0, DecidedBy.REVIEWER)
    assert sample(PENDING) == 0


def test_tracking_is_bounded_and_the_gauge_stays_consistent(metrics, sample):
    approvals = PendingApprovals(metrics.pending_approvals, max_tracked=3)
    for n in range(5):
        approvals.pending(f"p-{n}".encode(), 0, float(n))
    assert approvals.count == 3 and sample(PENDING) == 3
    assert approvals.decided(b"p-0", 9.0) is None  # forgotten, oldest first
    assert approvals.decided(b"p-4", 9.0) == (5.0, DecidedBy.REVIEWER)


def test_consumer_metrics_count_applied_duplicate_and_rejected_events(metrics, sample):
    read_model = ConsumerMetrics("client360", metrics)
    read_model.applied(5)
    read_model.applied()
    read_model.applied(0)
    read_model.duplicates(2)
    read_model.rejected(ReasonCode.DECODE_BAD_MAGIC_BYTE)
    assert sample("velocity_consumer_events_applied_total", consumer="client360") == 6
    assert sample("velocity_consumer_events_duplicate_total", consumer="client360") == 2
    rejected = "velocity_consumer_events_rejected_total"
    assert sample(rejected, consumer="client360", reason="decode.bad_magic_byte") == 1


def test_batch_is_observed_only_once_its_outputs_are_stored(traffic, gateway_metrics, sample):
    async def main() -> None:
        loop = asyncio.get_running_loop()
        stored, lost = loop.create_future(), loop.create_future()
        gateway_metrics.observe_when_stored(stored, traffic.send(example("QdSignalBundle")))
        gateway_metrics.observe_when_stored(lost, traffic.send(example("QdSignalBundle")))
        await asyncio.sleep(0)
        assert sample(IN, family="QdSignalBundle", route="accepted") == 0
        stored.set_result(None)
        lost.set_exception(RuntimeError("broker refused the batch"))
        await asyncio.sleep(0)

    asyncio.run(main())
    # The lost batch is not counted: its inputs are redelivered and counted then.
    assert sample(IN, family="QdSignalBundle", route="accepted") == 1
    assert sample(E2E + "_count", family="QdSignalBundle", route="accepted") == 1


def test_proposal_observed_after_its_decision_is_not_pending(metrics, sample):
    # Batches can be acknowledged out of order, and a proposal can be redelivered after a crash.
    approvals = PendingApprovals(metrics.pending_approvals)
    assert approvals.decided(b"p-1", 5.0) is None
    approvals.pending(b"p-1", 0, 4.0)
    assert approvals.count == 0 and sample(PENDING) == 0
    approvals.resync([(b"p-1", 0)])  # but the tables are the truth
    assert approvals.count == 1 and sample(PENDING) == 1


def test_a_stored_batch_counts_every_outcome_as_one_at_a_time_would(
    traffic, gateway_metrics, sample
):
    # Counts of a batch are summed per (family, route) before they reach the counters: the
    # totals must be those of observing each outcome, released ones and dead letters included.
    batch_id = "batch:2026-04-18-hubspot-02"
    row = variant(
        example("ImportRowRecord"),
        batch_id=batch_id,
        row_number=1,
        row_id=f"{batch_id}/row/1",
        artifact_id="art:row:b1",
    )
    batch = variant(example("RawImportBatch"), batch_id=batch_id, artifact_id=f"art:{batch_id}")
    topic = traffic.catalog.family("QdSignalBundle").ingress_topic(PREFIX)
    outcomes = [
        *traffic.send(example("QdSignalBundle")),
        *traffic.send(example("QdSignalBundle")),
        *traffic.send(example("InteractionBundle")),
        *traffic.send(row),  # held
        *traffic.send(batch),  # accepted, releasing the row
        traffic.raw(topic, b"\x07not avro"),
    ]

    async def main() -> None:
        stored = asyncio.get_running_loop().create_future()
        gateway_metrics.observe_when_stored(stored, outcomes)
        stored.set_result(None)
        await asyncio.sleep(0)

    asyncio.run(main())
    assert sample(IN, family="QdSignalBundle", route="accepted") == 2
    assert sample(OUT, family="QdSignalBundle", route="accepted") == 2
    assert sample(IN, family="InteractionBundle", route="accepted") == 1
    assert sample(IN, family="ImportRowRecord", route="held") == 1
    assert sample(OUT, family="ImportRowRecord", route="held") == 0
    assert sample(IN, family="ImportRowRecord", route="accepted") == 1
    assert sample(OUT, family="ImportRowRecord", route="accepted") == 1
    assert sample(IN, family="RawImportBatch", route="accepted") == 1
    assert sample(OUT, family="RawImportBatch", route="accepted") == 1
    assert sample(IN, family="QdSignalBundle", route="dead_letter") == 1
    assert sample(OUT, family="QdSignalBundle", route="dead_letter") == 1
    assert sample(DEAD, family="QdSignalBundle", reason="decode.bad_magic_byte") == 1
    assert sample(E2E + "_count", family="QdSignalBundle", route="accepted") == 2
