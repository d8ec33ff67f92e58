"""Dead letters made by the gateway on a real broker, their cause fixed, replayed through the
gateway: accepted exactly once, and a second replay adds nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from velocity_stream.contracts import example
from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.dlq.audit import AuditRecord, audit_topic
from velocity_stream.dlq.records import REPLAY_DLQ_OFFSET, REPLAY_DLQ_TOPIC, REPLAY_OPERATOR
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import InboundMessage
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.protocol import headers as h
from velocity_stream.registry.resolvers import preregistered_resolver
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import Settings

from .conftest import GatewayWorker, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

Cli = Callable[..., tuple[int, Any]]
WaitFor = Callable[..., list[InboundMessage]]


def serde_of(catalog: Catalog, prefix: str) -> AvroSerde:
    """A serde with the ids the CLI uses without a registry (the catalog's fixed order)."""
    return AvroSerde(catalog, preregistered_resolver(catalog, prefix), prefix)


def header(record: InboundMessage, name: str) -> bytes | None:
    found = [value for key, value in record.headers if key == name]
    return found[-1] if found else None


def with_id(records: list[InboundMessage], artifact_id: str) -> list[InboundMessage]:
    return [r for r in records if header(r, h.ARTIFACT_ID) == artifact_id.encode()]


def test_row_whose_batch_came_late_is_replayed_once_and_a_second_replay_adds_nothing(
    gateway: GatewayWorker,
    producer: ArtifactProducer,
    dlq_topics: Settings,
    hold_catalog: Catalog,
    dlq_cli: Cli,
    wait_for: WaitFor,
):
    settings, prefix = dlq_topics, dlq_topics.topic_prefix
    rows = hold_catalog.family("ImportRowRecord")
    dlq = hold_catalog.dead_letter_topic(prefix)
    row, batch = example("ImportRowRecord"), example("RawImportBatch")

    # 1. the row arrives, its batch does not: held, then dead-lettered when the hold expires
    producer.publish(row).result(10)
    [dead] = wait_for(settings, dlq, 1)
    assert header(dead, h.DLQ_REASON) == ReasonCode.STATE_ROW_UNKNOWN_BATCH.value.encode()

    code, listed = dlq_cli("list", "--reason", "state.import_row", "--family", "import-row-record")
    assert code == 0
    [entry] = listed["dead_letters"]
    assert (entry["partition"], entry["offset"]) == (dead.partition, dead.offset)
    assert entry["artifact_id"] == row.artifact_id and entry["replays"] == []

    code, shown = dlq_cli("show", f"{dead.partition}:{dead.offset}")
    assert code == 0 and shown["reason"] == ReasonCode.STATE_ROW_UNKNOWN_BATCH.value
    assert shown["value_hex"] == (dead.value or b"").hex()
    # valid on its own: it only lacked its batch, so the decode reaches the contract and passes
    assert shown["decode"]["stage"] == "ok"
    assert shown["decode"]["record"]["batch_id"] == row.batch_id

    # 2. the cause is fixed: the batch arrives late and is accepted
    producer.publish(batch).result(10)
    wait_for(settings, hold_catalog.family("RawImportBatch").accepted_topic(prefix), 1)

    # 3. a dry run sends nothing
    code, planned = dlq_cli("replay", "--reason", "state.import_row.unknown_batch", "--dry-run")
    assert (
        code == 0
        and planned["dry_run"]
        and planned["selected"] == [f"{dead.partition}:{dead.offset}"]
    )
    assert len(read_topic(settings, rows.ingress_topic(prefix))) == 1

    # 4. replay: back to the ingress topic, through the gateway, accepted
    code, report = dlq_cli(
        "replay", "--reason", "state.import_row.unknown_batch", "--yes", "--operator", "it:ops"
    )
    assert code == 0, report
    [replayed] = report["replayed"]
    assert replayed["target"]["topic"] == rows.ingress_topic(prefix)
    accepted = wait_for(settings, rows.accepted_topic(prefix), 1)
    [copy] = with_id(accepted, row.artifact_id)
    assert copy.value == dead.value and copy.key == dead.key  # the original bytes, unchanged
    assert header(copy, h.ROUTE) == b"accepted"
    assert header(copy, REPLAY_DLQ_TOPIC) == dlq.encode()
    assert header(copy, REPLAY_DLQ_OFFSET) == str(dead.offset).encode()
    assert header(copy, REPLAY_OPERATOR) == b"it:ops"
    assert not any(name.startswith("velocity.dlq.") for name, _ in copy.headers)

    [audit] = read_topic(settings, audit_topic(hold_catalog, prefix))
    record = AuditRecord.decode(audit.value, serde_of(hold_catalog, prefix), hold_catalog)
    assert record.dead_letter == (dlq, dead.partition, dead.offset)
    assert record.operator == "it:ops" and not record.forced
    assert record.target == (
        rows.ingress_topic(prefix),
        replayed["target"]["partition"],
        replayed["target"]["offset"],
    )

    # 5. replay again: skipped by the audit log; nothing is sent, nothing more is accepted
    code, again = dlq_cli("replay", "--reason", "state.import_row.unknown_batch", "--yes")
    assert code == 0
    assert again["selected"] == []
    assert [s["why"] for s in again["skipped"]] == ["already_replayed"]
    assert len(read_topic(settings, rows.ingress_topic(prefix))) == 2  # original + one replay
    wait_for(settings, rows.ingress_topic(prefix), 2)
    assert len(with_id(read_topic(settings, rows.accepted_topic(prefix)), row.artifact_id)) == 1
    assert len(read_topic(settings, dlq)) == 1

    code, listed = dlq_cli("list")
    assert [r["operator"] for r in listed["dead_letters"][0]["replays"]] == ["it:ops"]


def test_forced_replay_of_a_row_repeats_the_same_bytes_for_downstream_dedup(
    gateway: GatewayWorker,
    producer: ArtifactProducer,
    dlq_topics: Settings,
    hold_catalog: Catalog,
    dlq_cli: Cli,
    wait_for: WaitFor,
):
    settings, prefix = dlq_topics, dlq_topics.topic_prefix
    rows = hold_catalog.family("ImportRowRecord")
    row = example("ImportRowRecord")
    producer.publish(row).result(10)
    [dead] = wait_for(settings, hold_catalog.dead_letter_topic(prefix), 1)
    producer.publish(example("RawImportBatch")).result(10)

    assert dlq_cli("replay", "--yes")[0] == 0
    wait_for(settings, rows.accepted_topic(prefix), 1)
    code, forced = dlq_cli("replay", "--yes", "--force")
    assert code == 0 and len(forced["replayed"]) == 1 and forced["forced"]

    # Rows are not tracked by the gateway, so a forced replay is accepted again: the same key,
    # the same bytes, the same artifact id. Readers deduplicate by artifact id.
    copies = with_id(wait_for(settings, rows.accepted_topic(prefix), 2), row.artifact_id)
    assert len(copies) == 2
    assert copies[0].value == copies[1].value == dead.value
    audits = [
        AuditRecord.decode(r.value, serde_of(hold_catalog, prefix), hold_catalog)
        for r in read_topic(settings, audit_topic(hold_catalog, prefix))
    ]
    assert [a.forced for a in audits] == [False, True]


def test_decision_before_its_proposal_is_replayed_into_one_commit_even_when_forced(
    gateway: GatewayWorker,
    producer: ArtifactProducer,
    dlq_topics: Settings,
    hold_catalog: Catalog,
    dlq_cli: Cli,
    wait_for: WaitFor,
    serde: AvroSerde,
):
    settings, prefix = dlq_topics, dlq_topics.topic_prefix
    proposal = example("OracleWritebackProposal")
    # signed by the producer (the fixture's review key); names the bytes of its proposal
    decision = example("ApprovalDecision").model_validate(
        {
            **example("ApprovalDecision").model_dump(),
            "proposal_digest": proposal_digest(serde.encode(proposal)),
        }
    )
    assert decision.proposal_ref == proposal.proposal_id

    producer.publish(decision).result(10)
    [dead] = wait_for(settings, hold_catalog.dead_letter_topic(prefix), 1)
    assert header(dead, h.DLQ_REASON) == ReasonCode.APPROVAL_UNKNOWN_PROPOSAL.value.encode()

    producer.publish(proposal).result(10)
    wait_for(settings, hold_catalog.approvals_topic(prefix), 1)

    code, report = dlq_cli("replay", "--reason", "approval", "--yes")
    assert code == 0 and len(report["replayed"]) == 1
    [commit] = wait_for(settings, hold_catalog.commits_topic(prefix), 1)
    assert header(commit, h.COMMIT_DECISION_ID) == decision.decision_id.encode()

    # Forced: the gateway itself recognises the same decision and emits nothing again.
    decisions = hold_catalog.family("ApprovalDecision")
    code, forced = dlq_cli("replay", "--reason", "approval", "--yes", "--force")
    assert code == 0 and len(forced["replayed"]) == 1
    wait_for(settings, decisions.ingress_topic(prefix), 3)
    # original (held, then expired), replay (applied), forced replay (a duplicate: no output)
    assert wait_until(lambda: gateway.committed(decisions.ingress_topic(prefix)) >= 3), (
        gateway.log_tail()
    )
    assert len(read_topic(settings, hold_catalog.commits_topic(prefix))) == 1
    assert len(read_topic(settings, hold_catalog.dead_letter_topic(prefix))) == 1
    accepted = read_topic(settings, decisions.accepted_topic(prefix))
    assert len(with_id(accepted, decision.artifact_id)) == 1


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_replay_refused_again_is_not_replayed_again_only_its_original_when_forced(
    gateway: GatewayWorker,
    producer: ArtifactProducer,
    dlq_topics: Settings,
    hold_catalog: Catalog,
    dlq_cli: Cli,
    wait_for: WaitFor,
):
    """Replayed before its cause is fixed, a row is dead-lettered again. Before, every
    `dlq replay --yes` then resent the newest copy, without end."""
    settings, prefix = dlq_topics, dlq_topics.topic_prefix
    rows = hold_catalog.family("ImportRowRecord")
    dlq = hold_catalog.dead_letter_topic(prefix)
    producer.publish(example("ImportRowRecord")).result(10)  # its batch never comes
    [dead] = wait_for(settings, dlq, 1)

    code, first = dlq_cli("replay", "--yes", "--operator", "it:ops")
    assert code == 0 and len(first["replayed"]) == 1
    dead, again = wait_for(settings, dlq, 2)  # still no batch: refused again
    assert header(again, REPLAY_DLQ_OFFSET) == str(dead.offset).encode()
    assert header(again, h.DLQ_REASON) == header(dead, h.DLQ_REASON)

    for _ in range(2):  # replaying again sends nothing, and says why
        code, report = dlq_cli("replay", "--yes")
        assert code == 0 and report["selected"] == [] and not report.get("replayed")
        skipped = {s["position"]: s for s in report["skipped"]}
        assert skipped[f"{dead.partition}:{dead.offset}"]["why"] == "already_replayed"
        refused = skipped[f"{again.partition}:{again.offset}"]
        assert refused["why"] == "replay_refused_again"
        assert f"{dead.partition}:{dead.offset}" in refused["detail"]
    assert len(read_topic(settings, rows.ingress_topic(prefix))) == 2  # original + one replay

    # forced: the original only, once
    code, forced = dlq_cli("replay", "--yes", "--force")
    assert code == 0
    assert [r["position"] for r in forced["replayed"]] == [f"{dead.partition}:{dead.offset}"]
    assert [s["why"] for s in forced["skipped"]] == ["replay_refused_again"]
    wait_for(settings, rows.ingress_topic(prefix), 3)
