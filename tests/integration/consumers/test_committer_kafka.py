"""The graph committer on the real broker and both databases: applied changes (and their
applied records on the AppliedGraphChange topic), refusals on the dead-letter topic, and
redelivery."""

from __future__ import annotations

import io

import fastavro
import pytest

from consumers.applied import COMMITTER, applied_id
from consumers.committer.runner import CommitterRunner
from consumers.committer.store import GraphStore
from tests.integration.consumers.conftest import Gateway
from tests.integration.consumers.to_end import run_to_end
from tests.unit.consumers import events as ev
from velocity_stream.contracts.applied_graph_change import AppliedGraphChange
from velocity_stream.contracts.commit_record import CommitRecord
from velocity_stream.kafka.reader import TopicReader
from velocity_stream.protocol import headers as h
from velocity_stream.serde import frame

pytestmark = pytest.mark.integration
CLIENT = "client:acme"


def _commit_of(serde, catalog, value: bytes) -> CommitRecord:
    record = serde.decode(value, catalog.commits)
    assert isinstance(record, CommitRecord)
    return record


def _dead_letters(settings, catalog) -> list:
    return _read_all(settings, catalog.dead_letter_topic(settings.topic_prefix))


def _applied_records(settings, catalog, serde) -> list[AppliedGraphChange]:
    family = catalog.family("AppliedGraphChange")
    found = []
    for message in _read_all(settings, family.ingress_topic(settings.topic_prefix)):
        record = serde.decode(message.value, family)
        assert isinstance(record, AppliedGraphChange) and record.source_system == COMMITTER
        assert message.key == record.change_id.encode()
        found.append(record)
    # Nothing of the committer's goes to the ClientGraphDelta ingress topic any more.
    delta_ingress = catalog.family("ClientGraphDelta").ingress_topic(settings.topic_prefix)
    assert _read_all(settings, delta_ingress) == []
    return found


def _read_all(settings, topic: str) -> list:
    # Up to the end the fetch responses report: the committer waits for every delivery
    # before run() returns, so nothing of its is still on the way.
    with TopicReader(settings, role="it-reader", stall_timeout=30) as reader:
        return list(reader.read_all(topic))


def test_committer_applies_approved_changes_and_dead_letters_refusals(
    provisioned, catalog, serde, gateway: Gateway, producer, graph_store: GraphStore
):
    seed = ev.delta(
        "seed",
        ev.upsert_node(CLIENT, "CLIENT", name="Acme"),
        ev.upsert_node("person:priya", "PERSON", given_name="Priya"),
        ev.upsert_node("person:p-dup", "PERSON", email="p@x.example"),
        ev.upsert_edge("person:priya", CLIENT, "CONTACT_OF"),
        ev.upsert_edge("person:p-dup", CLIENT, "CONTACT_OF"),
    )
    gateway.publish([seed])
    runner = CommitterRunner(provisioned, catalog, serde, graph_store, producer)
    first = run_to_end(runner, graph_store, provisioned)
    assert (first.applied, first.refused) == (1, 0)

    merge = ev.entity_proposal("e1", "person:priya", merge=("person:p-dup",), family_name="Raman")
    merge_again = ev.entity_proposal("e2", "person:priya", merge=("person:p-dup",))
    ghost = ev.writeback("w1", "opportunity:ghost", stage=("A", "B"))
    gateway.publish([(merge, "decision:e1", 1)])
    run_to_end(runner, graph_store, provisioned)  # the first merge lands before the second is read
    gateway.publish([(merge_again, "decision:e2", 2), (ghost, "decision:w1", 3)])
    second = run_to_end(runner, graph_store, provisioned)
    assert (second.applied, second.refused) == (0, 2)

    survivor, merged = graph_store.node("person:priya"), graph_store.node("person:p-dup")
    assert survivor is not None and merged is not None
    assert survivor.attributes == {
        "email": "p@x.example",
        "family_name": "Raman",
        "given_name": "Priya",
    }
    assert (merged.status.value, merged.merged_into) == ("MERGED", "person:priya")
    applied = graph_store.change("decision:e1")
    assert applied is not None
    assert (applied["proposal_ref"], applied["decision_ref"], applied["outcome"]) == (
        "proposal:e1",
        "decision:e1",
        "APPLIED",
    )

    letters = {
        _commit_of(serde, catalog, m.value).decision_id: m
        for m in _dead_letters(provisioned, catalog)
    }
    assert set(letters) == {"decision:e2", "decision:w1"}
    # What it applied, and only that, is on the applied topic for the read models.
    applied = _applied_records(provisioned, catalog, serde)
    assert sorted(r.artifact_id for r in applied) == [
        applied_id("decision:e1"),
        applied_id("delta:seed"),
    ]
    assert graph_store.unpublished() == []
    twice = dict(letters["decision:e2"].headers)
    assert twice[h.DLQ_REASON] == b"persistence.already_merged"
    assert twice[h.DLQ_STAGE] == b"persistence"
    assert twice[h.DLQ_SOURCE_TOPIC] == catalog.commits_topic(provisioned.topic_prefix).encode()
    assert letters["decision:e2"].key == b"proposal:e2"
    assert dict(letters["decision:w1"].headers)[h.DLQ_REASON] == b"persistence.entity_not_found"

    # Redelivered commit records (a gateway retry) apply nothing and dead-letter nothing new.
    before = graph_store.dump()
    gateway.publish([(merge, "decision:e1", 1), (ghost, "decision:w1", 3)])
    third = run_to_end(runner, graph_store, provisioned)
    assert (third.applied, third.refused, third.duplicates) == (0, 0, 2)
    after = graph_store.dump()
    assert {k: v for k, v in after.items() if k != "offsets"} == {
        k: v for k, v in before.items() if k != "offsets"
    }
    assert len(_dead_letters(provisioned, catalog)) == 2
    assert len(_applied_records(provisioned, catalog, serde)) == 2


def test_commit_records_that_break_their_contract_are_dead_lettered_and_change_nothing(
    provisioned, catalog, serde, gateway: Gateway, producer, graph_store: GraphStore
):
    """Whoever can write the commits topic can write any bytes: the committer decodes each
    record with the contract, dead-letters every one that breaks it (original key and bytes,
    a stable reason code) and keeps going with the next."""
    prefix = provisioned.topic_prefix
    commits = catalog.commits_topic(prefix)
    seed = ev.delta("seed", ev.upsert_node(CLIENT, "CLIENT", name="Acme"))
    gateway.publish([seed])
    runner = CommitterRunner(provisioned, catalog, serde, graph_store, producer)
    assert run_to_end(runner, graph_store, provisioned).applied == 1
    before = graph_store.dump()

    entity = ev.entity_proposal("e1", "person:forged")
    topic = catalog.family(entity.FAMILY).ingress_topic(prefix)
    good = ev.commit(entity, serde.encode(entity), topic, "decision:e1")
    version = catalog.commits.latest
    body = io.BytesIO()
    forged = good.to_avro() | {"artifact_id": "commit:decision:other"}
    fastavro.schemaless_writer(body, fastavro.parse_schema(version.schema), forged)
    bad = {
        # the format-1 JSON the gateway wrote before commit records had a contract
        b"json": (b'{"format":1,"proposal_id":"proposal:e1"}', "decode.bad_magic_byte"),
        b"other-family": (
            serde.encode(ev.interaction(CLIENT, 1)),
            "decode.wrong_family",
        ),
        b"truncated": (serde.encode(good)[:-4], "decode.corrupt_body"),
        b"forged-id": (
            frame(serde.schema_id(version), body.getvalue()),
            "contract.commit_record.artifact_id_mismatch",
        ),
        b"garbage-proposal": (
            serde.encode(ev.commit(entity, b"\0\0\0\0\1xx", topic, "decision:g1")),
            "contract.commit_record.proposal_invalid",
        ),
    }
    # Each under the key its record names (where it names one), so only the contract fails.
    futures = [producer.publish_raw(commits, b"proposal:e1", value) for value, _ in bad.values()]
    for future in futures:
        future.result(30)
    refused = run_to_end(runner, graph_store, provisioned)
    assert (refused.applied, refused.refused) == (0, len(bad))

    # No graph row, no applied change, nothing in the outbox: only the change log's line per
    # refusal (as for every refusal), with the code.
    after = graph_store.dump()
    kept = {"offsets", "changes"}
    assert {k: v for k, v in after.items() if k not in kept} == {
        k: v for k, v in before.items() if k not in kept
    }
    new = [row for row in after["changes"] if row not in before["changes"]]
    assert sorted(row[5] for row in new) == sorted(code for _, code in bad.values())
    assert {row[4] for row in new} == {"REFUSED"}
    assert graph_store.node("person:forged") is None
    by_value = {m.value: dict(m.headers) for m in _dead_letters(provisioned, catalog)}
    assert len(by_value) == len(bad)
    for value, code in bad.values():
        headers = by_value[value]  # the original bytes, unchanged
        assert headers[h.DLQ_REASON] == code.encode()
        assert headers[h.DLQ_SOURCE_TOPIC] == commits.encode()

    # And it keeps going: the real commit record after them applies.
    gateway.publish([(entity, "decision:e1", 0)])
    assert run_to_end(runner, graph_store, provisioned).applied == 1
    assert graph_store.node("person:forged") is not None
