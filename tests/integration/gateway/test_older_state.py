"""A worker started over the changelogs an older version left behind.

Older versions kept a fifth table, ``approved_decisions`` (a global one), and appended the
licence an approval granted to every ``proposals`` record. Neither is read any more: the
worker must start without subscribing the old changelog, write nothing to it, and decide a
proposal it knows only from an old-format ``proposals`` record (the commit record carries the
bytes that record kept).
"""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition

from velocity_stream.contracts import example
from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.contracts.catalog import TopicSpec
from velocity_stream.gateway import GatewayState, partition_for
from velocity_stream.gateway.state import ProposalRecord, pack, proposal_key, unpack
from velocity_stream.kafka.topics import TopicAdmin

pytestmark = pytest.mark.integration

WRITEBACK = "OracleWritebackProposal"
DECISION = "ApprovalDecision"
MERGE_LICENCE = b'[["MERGE_NODES","client:old","client:older"]]'


def _read_all(bootstrap: str, topic: str, partitions: int) -> list[tuple[bytes, bytes]]:
    """Every record of ``topic``: read from the start until nothing came for 3 s."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"older-state-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        records: list[tuple[bytes, bytes]] = []
        idle = 0
        while idle < 10:
            message = consumer.poll(0.3)
            if message is None:
                idle += 1
                continue
            if message.error() is None:
                records.append((message.key() or b"", message.value() or b""))
        return records
    finally:
        consumer.close()


def test_a_worker_over_an_older_versions_changelogs_decides_and_leaves_them(fresh_gateway):
    gw = fresh_gateway
    bootstrap = gw.settings.kafka_bootstrap_servers or ""
    app_id = f"{gw.prefix}-gateway"
    partitions = gw.family(WRITEBACK).partitions
    admin = TopicAdmin(gw.settings)
    old_table = f"{app_id}-approved_decisions-changelog"
    proposals = f"{app_id}-proposals-changelog"
    created = admin.create(
        [TopicSpec(name, partitions, "compact", -1) for name in (old_table, proposals)], 1
    )
    assert created == {old_table: None, proposals: None}

    # What the older version wrote: an approval in the old table, and a pending proposal
    # whose record ends with the licence approving it would have granted.
    proposal_id = f"proposal:older:{uuid.uuid4().hex[:8]}"
    p = gw.variant(example(WRITEBACK), proposal_id=proposal_id, artifact_id=f"art:{proposal_id}")
    value = gw.encode(p)
    partition = partition_for(proposal_id.encode(), partitions)
    record = ProposalRecord(
        WRITEBACK,
        proposal_id,
        p.created_by,
        None,
        b"d" * 32,
        (gw.ingress(WRITEBACK), partition, 0),
        value,
    )
    key = proposal_key(WRITEBACK, proposal_id)
    old_value = pack([*unpack(record.encode()), MERGE_LICENCE])
    gw.producer.produce(
        proposals, key=json.dumps(key).encode(), value=old_value, partition=partition
    )
    gw.producer.produce(
        old_table,
        key=json.dumps("decision:older").encode(),
        value=pack([b"OracleWritebackProposal", b"proposal:x", MERGE_LICENCE]),
        partition=0,
    )
    gw.flush()

    gw.start()
    decision = gw.variant(
        example(DECISION),
        proposal_ref=proposal_id,
        proposal_family=WRITEBACK,
        decision_id=f"decision:{uuid.uuid4().hex[:8]}",
        artifact_id=f"art:decision:{uuid.uuid4().hex[:8]}",
        proposal_digest=proposal_digest(value),
        source_system="review-app",
        reviewer_ref="human:sayan",
        created_by="human:sayan",
    )
    gw.publish(decision)
    [commit] = gw.wait_for(lambda o: o.topic == gw.commits and o.key == proposal_id.encode())
    committed = gw.commit_record(commit.value)
    assert committed.decision_id == decision.decision_id
    assert committed.proposal == value  # the bytes the old-format record kept
    assert gw.stop() == 0, gw.log()[-3000:]

    # The old table's changelog holds what it held, and no worker wrote to it.
    assert _read_all(bootstrap, old_table, partitions) == [
        (
            json.dumps("decision:older").encode(),
            pack([b"OracleWritebackProposal", b"proposal:x", MERGE_LICENCE]),
        )
    ]
    changelogs = {t for t in admin.topic_names() if t.startswith(f"{app_id}-")}
    tables = {f"{app_id}-{name}-changelog" for name in GatewayState.table_names()}
    assert changelogs == tables | {old_table}
    assert "approved_decisions" not in GatewayState.table_names()
