"""Two workers in one group split the partitions; when one dies the other takes its partitions
over, recovers their state from the changelogs, and the approval flow goes on."""

from __future__ import annotations

import pytest

from velocity_stream.contracts import example

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 60


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
    assert split != "{0-5}", "the two workers should share the partitions"
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
            ),
            flush=False,
        )
    gw.flush()
    keys = {p.proposal_id.encode() for p in proposals}
    commits = gw.wait_for(lambda o: o.topic == gw.commits and o.key in keys, count=N, timeout=120)
    assert {c.key for c in commits} == keys
    assert not [o for o in gw.outputs if o.topic == gw.dead_letters]
    assert assignments(survivor_log.read_text(), decisions_topic)[-1] == "{0-5}"


def assignments(log: str, topic: str) -> list[str]:
    """The partitions of ``topic`` in each assignment a worker logged, in order."""
    found = []
    for block in log.split("Setting newly assigned partitions")[1:]:
        for line in block.splitlines()[:40]:
            if f"| {topic} " in line:
                found.append(line.split("|")[2].strip())
                break
    return found
