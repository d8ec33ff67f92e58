"""Two workers in one group split the partitions; when one dies the other takes its partitions
over, recovers their state from the changelogs, and the approval flow goes on."""

from __future__ import annotations

import re

import pytest

from velocity_stream.contracts import example

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 60
ALL_PARTITIONS = tuple(range(6))


def test_second_worker_takes_over_pending_proposals_of_a_killed_one(fresh_gateway):
    gw = fresh_gateway
    first = gw.start()
    second = gw.start()
    proposals = [
        gw.variant(
            example("OracleWritebackProposal"),
            proposal_id=f"proposal:two:{i}",
            artifact_id=f"art:two:{i}",
        )
        for i in range(N)
    ]
    for p in proposals:
        gw.publish(p, flush=False)
    gw.flush()
    gw.wait_for(lambda o: o.topic == gw.approvals, count=N, timeout=90)
    survivor_log = gw.log_path  # the second start's log
    decisions_topic = gw.ingress("ApprovalDecision")
    split = assignments(survivor_log.read_text(), decisions_topic)[-1]
    assert split != ALL_PARTITIONS, "the two workers should share the partitions"
    gw.process = first
    gw.kill()  # the other must now own every partition, with the proposals it never saw
    gw.process = second
    decision = example("ApprovalDecision")
    for p in proposals:
        gw.publish(
            gw.variant(
                decision,
                proposal_ref=p.proposal_id,
                proposal_family="OracleWritebackProposal",
                decision_id=f"decision:two:{p.proposal_id}",
                artifact_id=f"art:two:d:{p.proposal_id}",
                proposal_digest=gw.digest_of(p),
            ),
            flush=False,
        )
    gw.flush()
    keys = {p.proposal_id.encode() for p in proposals}
    commits = gw.wait_for(lambda o: o.topic == gw.commits and o.key in keys, count=N, timeout=120)
    assert {c.key for c in commits} == keys
    assert not [o for o in gw.outputs if o.topic == gw.dead_letters]
    assert assignments(survivor_log.read_text(), decisions_topic)[-1] == ALL_PARTITIONS


def assignments(log: str, topic: str) -> list[tuple[int, ...]]:
    """The partitions of ``topic`` in each assignment a worker logged, in order.

    Read from aiokafka's own "Setting newly assigned partitions {...}" line, which reads the
    same whichever log format (text or JSON) the worker writes.
    """
    pattern = re.compile(rf"topic='{re.escape(topic)}', partition=(\d+)")
    return [
        tuple(sorted(int(p) for p in pattern.findall(line)))
        for line in log.splitlines()
        if "Setting newly assigned partitions" in line
    ]
