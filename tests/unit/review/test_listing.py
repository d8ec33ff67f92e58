"""The queue's filter, sort and paging: a pure query over queue entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from velocity_stream.contracts import example
from velocity_stream.review.listing import (
    QueryProblem,
    QueueQuery,
    needs_confirmation,
    paginate,
    queue_query,
)
from velocity_stream.review.proposals import proposal_view
from velocity_stream.review.queue import ProposalState, QueueEntry

NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)


def entry(
    n: int,
    *,
    family: str = "OracleWritebackProposal",
    confidence: float = 0.8,
    hours_old: float = 1,
    created_by: str = "ai:oracle",
    target: str = "opportunity:acme-3bhk",
) -> QueueEntry:
    artifact = example(family)
    view = proposal_view(family, f"proposal:{n:05d}", artifact)
    view = type(view)(
        **{
            **{name: getattr(view, name) for name in view.__slots__},  # type: ignore[attr-defined]
            "confidence": confidence,
            "created_at": NOW - timedelta(hours=hours_old),
            "created_by": created_by,
            "target_ref": target,
        }
    )
    return QueueEntry(view, ProposalState.PENDING, None, None)


def ids(entries: list[QueueEntry]) -> list[str]:
    return [e.view.proposal_id for e in entries]


def test_each_filter_keeps_only_what_it_names():
    entries = [
        entry(1, confidence=0.3, hours_old=50, created_by="ai:oracle"),
        entry(2, family="NormalizedEntityProposal", target="person:priya-raman"),
        entry(3, confidence=0.95, hours_old=2, created_by="system:import-normalizer"),
    ]
    cases = {
        QueueQuery(family="NormalizedEntityProposal"): ["proposal:00002"],
        QueueQuery(operation="MERGE"): ["proposal:00002"],
        QueueQuery(operation="update"): ["proposal:00001", "proposal:00003"],
        QueueQuery(target="PRIYA"): ["proposal:00002"],
        QueueQuery(proposer="normalizer"): ["proposal:00003"],
        QueueQuery(min_confidence=0.9): ["proposal:00003"],
        QueueQuery(max_confidence=0.5): ["proposal:00001"],
        QueueQuery(min_age_hours=24): ["proposal:00001"],
        QueueQuery(max_age_hours=1.5): ["proposal:00002"],
        QueueQuery(): ["proposal:00001", "proposal:00003", "proposal:00002"],
    }
    for query, expected in cases.items():
        assert ids(query.apply(entries, NOW).items) == expected, query


def test_sorts_by_age_and_confidence():
    entries = [
        entry(1, confidence=0.5, hours_old=3),
        entry(2, confidence=0.9, hours_old=1),
        entry(3, confidence=0.7, hours_old=2),
    ]
    assert ids(QueueQuery(sort="newest").apply(entries, NOW).items) == [
        "proposal:00002",
        "proposal:00003",
        "proposal:00001",
    ]
    assert ids(QueueQuery(sort="confidence").apply(entries, NOW).items)[0] == "proposal:00001"
    assert ids(QueueQuery(sort="-confidence").apply(entries, NOW).items)[0] == "proposal:00002"


def test_pages_cover_every_entry_once_and_clamp_past_the_end():
    items = list(range(45))
    pages = [paginate(items, n, 20) for n in (1, 2, 3)]
    assert [p.items for p in pages] == [items[:20], items[20:40], items[40:]]
    assert [(p.first, p.last, p.pages) for p in pages] == [(1, 20, 3), (21, 40, 3), (41, 45, 3)]
    assert paginate(items, 99, 20).page == 3
    empty = paginate([], 1, 20)
    assert (empty.items, empty.pages, empty.first) == ([], 1, 0)


def test_the_query_string_round_trips_and_leaves_defaults_out():
    query = queue_query(
        {"family": "OracleWritebackProposal", "min_confidence": "60", "sort": "newest", "page": "2"}
    )
    assert query.min_confidence == pytest.approx(0.6)
    assert query.params() == (
        "family=OracleWritebackProposal&min_confidence=0.6&sort=newest&page=2"
    )
    assert queue_query(dict(pair.split("=") for pair in query.params().split("&"))) == query
    assert QueueQuery().params() == ""
    assert QueueQuery().params(page=3) == "page=3"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"sort": "random"}, "sort"),
        ({"min_confidence": "high"}, "min_confidence"),
        ({"max_confidence": "150"}, "max_confidence"),
        ({"page": "0"}, "page"),
        ({"size": "100000"}, "size"),
        ({"min_age_hours": "-1"}, "min_age_hours"),
    ],
)
def test_an_unusable_parameter_is_named(params, parameter):
    with pytest.raises(QueryProblem) as raised:
        queue_query(params)
    assert raised.value.parameter == parameter
    assert str(raised.value).startswith(f"{parameter}: ")


def test_merges_and_low_confidence_need_a_confirmation():
    assert needs_confirmation(entry(1, family="NormalizedEntityProposal")) == "it merges records"
    assert "below 60%" in (needs_confirmation(entry(2, confidence=0.4)) or "")
    assert needs_confirmation(entry(3, confidence=0.81)) is None


def test_the_queues_pending_list_follows_every_change_after_being_cached():
    from velocity_stream.review.queue import AppliedDecision, ApprovalQueue

    queue = ApprovalQueue()
    first, second = entry(1, hours_old=2), entry(2, hours_old=1)
    queue.add_proposal(first.view, ProposalState.PENDING)
    assert ids(queue.pending()) == ["proposal:00001"]
    queue.add_proposal(second.view, ProposalState.PENDING)
    assert ids(queue.pending()) == ["proposal:00001", "proposal:00002"]
    assert queue.pending_count() == 2
    queue.add_decision(first.key, AppliedDecision("d", "a", "human:x", True, "", None))
    assert ids(queue.pending()) == ["proposal:00002"]
    queue.pending().clear()  # a caller's copy: the cache is not touched
    assert queue.pending_count() == 1
