"""The governance mapping and store without a broker: every record kind, every arrival order,
redelivery, and what a forger can and cannot do with the topics the store reads."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from consumers.applied import applied_change
from consumers.committer.graph import Refusal
from consumers.committer.runner import dead_letter_headers
from consumers.governance.mapping import NOTHING
from consumers.governance.queries import audit_trail, proposal_history
from consumers.governance.sink import GovernanceMapper
from consumers.governance.states import current_state
from consumers.governance.store import apply_rows
from consumers.governance.tables import GovernanceTables, governance_tables
from consumers.reading import ArtifactReader, UnreadableRecord
from consumers.storage import OffsetsStore, open_engine
from tests.unit.consumers import events as ev
from velocity_stream.contracts import example, validate_artifact
from velocity_stream.contracts.applied_graph_change import AppliedGraphChange
from velocity_stream.contracts.approval import ApprovalDecision
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.errors import ReasonCode
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.records import Headers, InboundMessage
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import Settings

PREFIX = "unit"
CATALOG = load_catalog(Settings().schemas_dir)
MAPPER = GovernanceMapper(governance_tables("unit_"))
ROUTES = MAPPER.routes(CATALOG, PREFIX)
DECISIONS = CATALOG.family("ApprovalDecision")
DECISION_TOPIC = DECISIONS.accepted_topic(PREFIX)
APPLIED_TOPIC = CATALOG.family("AppliedGraphChange").ingress_topic(PREFIX)
_offsets = itertools.count()
OPS = [ev.upsert_node("opportunity:o1", "OPPORTUNITY", stage="B")]


@pytest.fixture(scope="module")
def serde() -> AvroSerde:
    return AvroSerde(CATALOG, InMemorySchemaResolver(), PREFIX)


@pytest.fixture(scope="module")
def reader(serde: AvroSerde) -> ArtifactReader:
    return ArtifactReader(CATALOG, serde, PREFIX)


class Store(OffsetsStore[GovernanceTables]):
    def apply(self, messages: Sequence[InboundMessage], reader: ArtifactReader) -> None:
        with self.engine.begin() as conn:
            apply_rows(conn, self.tables, [MAPPER.rows(m, reader) for m in messages])


@pytest.fixture
def store() -> Iterator[Store]:
    made = Store(open_engine("sqlite://"), governance_tables("unit_"))
    made.create()
    yield made
    made.engine.dispose()


def _message(topic: str, key: str, value: bytes, headers: Headers = (), ts: int = 0) -> Any:
    return InboundMessage(topic, 0, next(_offsets), key.encode(), value, headers, ts)


def proposed(serde: AvroSerde, proposal: Artifact, rule: str | None = None) -> InboundMessage:
    """The gateway's approvals record of ``proposal`` (pending, or auto-approved by ``rule``)."""
    source = CATALOG.family(proposal.FAMILY).ingress_topic(PREFIX)
    headers: list[tuple[str, bytes]] = [(h.SOURCE_TOPIC, source.encode())]
    if rule is None:
        headers.append((h.APPROVAL_STATE, h.APPROVAL_STATE_PENDING))
    else:
        headers += [
            (h.APPROVAL_STATE, h.APPROVAL_STATE_AUTO_APPROVED),
            (h.APPROVAL_RULE, rule.encode()),
        ]
    pid = str(getattr(proposal, "proposal_id"))  # noqa: B009
    return _message(ROUTES.approvals_topic, pid, serde.encode(proposal), tuple(headers), 1000)


def decision(
    proposal: Artifact,
    did: str,
    minute: int,
    outcome: str = "APPROVED",
    reviewer: str = "human:sayan",
) -> ApprovalDecision:
    data = example("ApprovalDecision").model_dump(mode="python")
    data.update(
        artifact_id=f"art:{did}",
        decision_id=did,
        proposal_ref=str(getattr(proposal, "proposal_id")),  # noqa: B009
        proposal_family=proposal.FAMILY,
        reviewer_ref=reviewer,
        created_by=reviewer,
        decision=outcome,
        decision_notes="because",
        decided_at=ev.at(minute),
        created_at=ev.at(minute),
    )
    if reviewer.startswith("rule:"):
        data.update(provenance={"origin": "SYSTEM"}, source_system="approval-rules")
    made = validate_artifact(ApprovalDecision, data)
    assert isinstance(made, ApprovalDecision)
    return made


def decided(serde: AvroSerde, made: ApprovalDecision, topic: str = DECISION_TOPIC) -> Any:
    return _message(topic, made.proposal_ref, serde.encode(made))


def applied(serde: AvroSerde, proposal: Artifact, did: str, minute: int) -> InboundMessage:
    pid = str(getattr(proposal, "proposal_id"))  # noqa: B009
    record = applied_change(did, pid, did, OPS, int(ev.at(minute).timestamp() * 1000))
    return _message(APPLIED_TOPIC, record.change_id, serde.encode(record))


def refused(serde: AvroSerde, proposal: Artifact, did: str, minute: int) -> InboundMessage:
    """The committer's dead letter of the commit record of ``did``."""
    topic = CATALOG.family(proposal.FAMILY).ingress_topic(PREFIX)
    record = ev.commit(proposal, serde.encode(proposal), topic, did, minute)
    commit = InboundMessage(
        ROUTES.commits_topic, 2, 41, record.proposal_id.encode(), serde.encode(record), (), 7000
    )
    refusal = Refusal(ReasonCode.PERSISTENCE_UNSUPPORTED_CHANGE, "no", "proposal_family")
    headers = dead_letter_headers(commit, refusal)
    return _message(ROUTES.dead_letter_topic, record.proposal_id, commit.value or b"", headers)


WB = ev.writeback("w1", "opportunity:o1", stage=("A", "B"))
NEP = ev.entity_proposal("e1", "person:p1", given_name="Ada")


def test_the_mapper_reads_only_the_topics_the_gateway_or_committer_alone_writes() -> None:
    topics = MAPPER.topics(CATALOG, PREFIX)
    assert ROUTES.approvals_topic in topics and DECISION_TOPIC in topics
    assert APPLIED_TOPIC in topics and ROUTES.dead_letter_topic in topics
    assert DECISIONS.ingress_topic(PREFIX) not in topics  # anyone may write there
    assert ROUTES.commits_topic not in topics


def test_a_pending_proposal_is_stored_with_its_fields(store, serde, reader) -> None:
    store.apply([proposed(serde, WB), proposed(serde, NEP)], reader)
    with store.engine.connect() as conn:
        wb = proposal_history(conn, store.tables, "proposal:w1")
        nep = proposal_history(conn, store.tables, "proposal:e1")
    assert wb.proposal is not None and nep.proposal is not None
    assert wb.state == nep.state == "PENDING"
    assert wb.proposal["target_ref"] == "opportunity:o1"
    assert wb.proposal["operation"] == "UPDATE"
    assert wb.proposal["target_type"] == "OPPORTUNITY"
    assert wb.proposal["batch_id"] is None
    assert set(WB.evidence_refs) <= set(wb.proposal["evidence_refs"])  # type: ignore[attr-defined]
    assert nep.proposal["target_ref"] == "person:p1"
    assert nep.proposal["batch_id"] == NEP.batch_id  # type: ignore[attr-defined]
    assert [s.state for s in wb.states] == ["PENDING"]


def test_the_full_path_in_every_order_gives_the_same_tables(serde, reader) -> None:
    items = [
        proposed(serde, WB),
        decided(serde, decision(WB, "d1", 5)),
        applied(serde, WB, "d1", 6),
        proposed(serde, NEP, rule="trusted-import"),
        decided(serde, decision(NEP, "d2", 3, reviewer="rule:trusted-import")),
    ]
    dumps = []
    for order in itertools.permutations(items):
        made = Store(open_engine("sqlite://"), governance_tables("unit_"))
        made.create()
        for item in order:  # one record per batch: the worst interleaving
            made.apply([item], reader)
        dumps.append(made.dump())
        made.engine.dispose()
    assert all(d == dumps[0] for d in dumps)
    states = {row[0]: row[12] for row in dumps[0]["proposals"]}
    assert states == {"proposal:w1": "COMMITTED", "proposal:e1": "APPROVED"}


def test_a_decision_before_its_proposal_is_kept_and_counted_when_it_arrives(
    store, serde, reader
) -> None:
    store.apply([decided(serde, decision(WB, "d1", 5, "REJECTED"))], reader)
    with store.engine.connect() as conn:
        early = proposal_history(conn, store.tables, "proposal:w1")
    assert early.proposal is None and [d.decision_id for d in early.decisions] == ["d1"]
    store.apply([proposed(serde, WB)], reader)
    with store.engine.connect() as conn:
        later = proposal_history(conn, store.tables, "proposal:w1")
    assert later.state == "REJECTED"
    assert [s.state for s in later.states] == ["PENDING", "REJECTED"]


def test_redelivery_changes_nothing(store, serde, reader) -> None:
    items = [
        proposed(serde, WB),
        decided(serde, decision(WB, "d1", 5)),
        applied(serde, WB, "d1", 6),
    ]
    store.apply(items, reader)
    before = store.dump()
    store.apply(items + items, reader)  # again, and twice in one batch
    assert store.dump() == before


def test_an_auto_rule_decision_names_its_rule(store, serde, reader) -> None:
    store.apply(
        [
            proposed(serde, NEP, rule="trusted-import"),
            decided(serde, decision(NEP, "d2", 3, reviewer="rule:trusted-import")),
        ],
        reader,
    )
    with store.engine.connect() as conn:
        history = proposal_history(conn, store.tables, "proposal:e1")
    assert [(d.reviewer, d.rule) for d in history.decisions] == [
        ("rule:trusted-import", "trusted-import")
    ]
    assert {s.state for s in history.states} == {"AUTO_APPROVED", "APPROVED"}
    assert history.state == "APPROVED"


def test_a_committer_refusal_marks_the_proposal_refused_with_its_code(store, serde, reader) -> None:
    store.apply([proposed(serde, WB), decided(serde, decision(WB, "d1", 5))], reader)
    store.apply([refused(serde, WB, "d1", 5)], reader)
    with store.engine.connect() as conn:
        history = proposal_history(conn, store.tables, "proposal:w1")
    assert history.state == "REFUSED"
    assert [(c.outcome, c.reason) for c in history.commits] == [
        ("REFUSED", ReasonCode.PERSISTENCE_UNSUPPORTED_CHANGE.value)
    ]


def test_a_forged_commit_dead_letter_through_the_gateway_is_ignored(store, serde, reader) -> None:
    """A producer sends the bytes of a commit record to an ingress topic with a forged reason
    block naming the commits topic; the gateway refuses it and appends its own block, which
    names the ingress topic: the store goes by the last block and ignores the dead letter."""
    genuine = refused(serde, WB, "d1", 5)
    ingress = CATALOG.family(WB.FAMILY).ingress_topic(PREFIX)
    gateway_block: Headers = (
        (h.DLQ_REASON, b"decode.wrong_family"),
        (h.DLQ_SOURCE_TOPIC, ingress.encode()),
        (h.DLQ_SOURCE_PARTITION, b"0"),
        (h.DLQ_SOURCE_OFFSET, b"9"),
    )
    forged = InboundMessage(
        genuine.topic, 0, 99, genuine.key, genuine.value, genuine.headers + gateway_block, 0
    )
    assert MAPPER.rows(forged, reader) is NOTHING
    store.apply([proposed(serde, WB), decided(serde, decision(WB, "d1", 5)), forged], reader)
    with store.engine.connect() as conn:
        assert proposal_history(conn, store.tables, "proposal:w1").state == "APPROVED"


def test_a_dead_letter_of_anything_else_is_ignored(serde, reader) -> None:
    plain = _message(ROUTES.dead_letter_topic, "k", b"\x00garbage", ((h.DLQ_REASON, b"x"),))
    assert MAPPER.rows(plain, reader) is NOTHING
    assert MAPPER.rows(_message(ROUTES.dead_letter_topic, "k", b"", ()), reader) is NOTHING


def test_a_committer_dead_letter_with_a_broken_commit_record_is_refused(serde, reader) -> None:
    genuine = refused(serde, WB, "d1", 5)
    broken = InboundMessage(genuine.topic, 0, 5, genuine.key, b"\x00\x00", genuine.headers, 0)
    with pytest.raises(UnreadableRecord):
        MAPPER.rows(broken, reader)


def test_a_decision_on_the_ingress_topic_is_never_read(serde, reader) -> None:
    forged = decided(serde, decision(WB, "d9", 5), topic=DECISIONS.ingress_topic(PREFIX))
    assert MAPPER.rows(forged, reader) is NOTHING


@pytest.mark.parametrize(
    "tamper",
    ["garbage", "truncated", "decision_on_approvals", "unknown_source", "wrong_key"],
)
def test_hostile_approvals_records_are_refused_with_a_code(serde, reader, tamper: str) -> None:
    good = proposed(serde, WB)
    value, headers, key = good.value or b"", good.headers, good.key
    if tamper == "garbage":
        value = b"\xff\x00garbage"
    elif tamper == "truncated":
        value = value[: len(value) // 2]
    elif tamper == "decision_on_approvals":
        value = serde.encode(decision(WB, "d1", 5))
    elif tamper == "unknown_source":
        headers = ((h.SOURCE_TOPIC, DECISIONS.ingress_topic(PREFIX).encode()),)
    else:
        key = b"proposal:other"
    hostile = InboundMessage(good.topic, 0, 1, key, value, headers, 0)
    with pytest.raises(UnreadableRecord) as refused_:
        MAPPER.rows(hostile, reader)
    assert refused_.value.code in set(ReasonCode)


def test_an_importer_delta_applied_is_not_a_proposal_commit(serde, reader) -> None:
    record = applied_change("delta:1", None, None, OPS, 1000)
    message = _message(APPLIED_TOPIC, record.change_id, serde.encode(record))
    assert MAPPER.rows(message, reader) is NOTHING


def test_an_applied_record_from_another_producer_is_refused(serde, reader) -> None:
    data = applied_change("d1", "proposal:w1", "d1", OPS, 1000).model_dump(mode="python")
    data.update(source_system="mallory")
    forged = validate_artifact(AppliedGraphChange, data)
    message = _message(APPLIED_TOPIC, "d1", serde.encode(forged))
    with pytest.raises(UnreadableRecord) as refused_:
        MAPPER.rows(message, reader)
    assert refused_.value.code is ReasonCode.AUTH_NOT_OWNER


def test_precedence_not_arrival_decides_the_current_state() -> None:
    assert current_state([("COMMITTED", 1, "c"), ("APPROVED", 9, "d"), ("PENDING", 20, "p")]) == (
        "COMMITTED",
        1,
    )
    assert current_state([("AUTO_APPROVED", 1, "r"), ("PENDING", 5, "p")]) == ("AUTO_APPROVED", 1)
    # same rank: the later wins; at the same time COMMITTED goes first
    assert current_state([("REFUSED", 3, "x"), ("COMMITTED", 2, "y")]) == ("REFUSED", 3)
    assert current_state([("REFUSED", 3, "x"), ("COMMITTED", 3, "y")]) == ("COMMITTED", 3)
    assert current_state([]) is None


def test_the_audit_trail_filters_by_target_reviewer_and_time(store, serde, reader) -> None:
    other = ev.writeback("w2", "opportunity:o2", stage=("B", "C"))
    store.apply(
        [
            proposed(serde, WB),
            proposed(serde, other),
            proposed(serde, NEP),
            decided(serde, decision(WB, "d1", 5)),
            decided(serde, decision(other, "d2", 10, "REJECTED", reviewer="human:ravi")),
            decided(serde, decision(NEP, "d3", 20, reviewer="rule:trusted-import")),
            decided(serde, decision(ev.writeback("w9", "opportunity:o9", stage="D"), "d4", 30)),
        ],
        reader,
    )
    t = store.tables
    ms = ev.at
    with store.engine.connect() as conn:
        ids = lambda **kw: [d.decision_id for d in audit_trail(conn, t, **kw)]  # noqa: E731
        assert ids() == ["d1", "d2", "d3", "d4"]
        assert ids(target_ref="opportunity:o2") == ["d2"]
        assert ids(reviewer="human:sayan") == ["d1", "d4"]
        assert ids(reviewer="rule:trusted-import") == ["d3"]
        since, until = int(ms(10).timestamp() * 1000), int(ms(30).timestamp() * 1000)
        assert ids(since_ms=since, until_ms=until) == ["d2", "d3"]
        assert ids(reviewer="human:sayan", since_ms=since) == ["d4"]
        assert ids(limit=1) == ["d1"]
        trail = audit_trail(conn, t, reviewer="human:ravi")
    assert trail[0].target_ref == "opportunity:o2" and trail[0].outcome == "REJECTED"
    assert audit_trail.__doc__


def test_the_sink_path_writes_what_the_rows_say(store, serde, reader) -> None:
    """map() -> the framework's SinkStore with the governance apply hook gives the same tables
    as the rows written directly."""
    from consumers.governance.sink import governance_sink
    from consumers.sink.store import SinkStore

    items = [
        decided(serde, decision(WB, "d1", 5)),
        proposed(serde, WB),
        applied(serde, WB, "d1", 6),
        refused(serde, NEP, "d2", 4),
        proposed(serde, NEP, rule="trusted-import"),
    ]
    store.apply(items, reader)
    sink = governance_sink("unit_")
    through = SinkStore(open_engine("sqlite://"), sink.tables, sink.apply)
    through.create()
    mapper = sink.mapper
    mapper.topics(CATALOG, PREFIX)
    through.apply([mapper.map(m, reader) for m in items[:2]], [], {})
    through.apply([mapper.map(m, reader) for m in items[2:]], [], {})
    assert through.dump() == store.dump()
