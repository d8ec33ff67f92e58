"""Topic planning: missing, matched and drifted topics from catalog specs and cluster state."""

from __future__ import annotations

from velocity_stream.contracts.catalog import TopicSpec
from velocity_stream.kafka.topics import (
    Drift,
    TopicReport,
    TopicState,
    TopicStatus,
    compare,
    plan_topics,
)

SPEC = TopicSpec("velocity.qd-signal-bundle.v1", 6, "delete", 604_800_000)


def state(partitions: int = 6, rf: int = 1, **configs: str) -> TopicState:
    cfg = {"cleanup.policy": "delete", "retention.ms": "604800000"}
    cfg.update({k.replace("_", "."): v for k, v in configs.items()})
    return TopicState(SPEC.name, partitions, rf, cfg)


def test_missing_topic_is_planned_for_creation():
    report = plan_topics([SPEC], {}, replication_factor=1)
    assert [o.status for o in report.outcomes] == [TopicStatus.MISSING]
    assert report.ok


def test_identical_topic_matches():
    outcome = compare(SPEC, state(), 1)
    assert outcome.status is TopicStatus.MATCHED
    assert outcome.drifts == () and outcome.notes == ()


def test_fewer_partitions_is_drift():
    outcome = compare(SPEC, state(partitions=4), 1)
    assert outcome.status is TopicStatus.DRIFTED
    assert outcome.drifts == (Drift("partitions", "6", "4"),)


def test_more_partitions_is_drift_too_because_keys_would_move():
    assert compare(SPEC, state(partitions=12), 1).status is TopicStatus.DRIFTED


def test_different_cleanup_policy_and_retention_are_drift():
    outcome = compare(SPEC, state(cleanup_policy="compact", retention_ms="1000"), 1)
    assert outcome.status is TopicStatus.DRIFTED
    assert {d.setting for d in outcome.drifts} == {"cleanup.policy", "retention.ms"}
    assert "catalog delete, cluster compact" in str(outcome.drifts[0])


def test_cleanup_policy_lists_compare_as_sets():
    spec = TopicSpec("t", 6, "compact,delete", 1)
    outcome = compare(
        spec, TopicState("t", 6, 1, {"cleanup.policy": "delete, compact", "retention.ms": "1"}), 1
    )
    assert outcome.status is TopicStatus.MATCHED


def test_replication_factor_mismatch_is_drift():
    outcome = compare(SPEC, state(rf=1), 3)
    assert outcome.drifts == (Drift("replication factor", "3", "1"),)


def test_config_the_broker_does_not_report_is_a_note_not_drift():
    # Tansu only reports configs set at creation; absence is "unknown", not "different".
    outcome = compare(SPEC, TopicState(SPEC.name, 6, 1, {"cleanup.policy": "delete"}), 1)
    assert outcome.status is TopicStatus.MATCHED
    assert outcome.notes == ("retention.ms not reported by the broker (catalog: 604800000)",)


def test_unreadable_configs_are_noted_and_partitions_still_checked():
    outcome = compare(SPEC, TopicState(SPEC.name, 3, 1, None), 1)
    assert outcome.status is TopicStatus.DRIFTED
    assert "could not be read" in outcome.notes[0]


def test_report_is_not_ok_with_drift_or_failure():
    other = TopicSpec("b", 1, "delete", 1)
    drifted = compare(SPEC, state(partitions=4), 1)
    assert not TopicReport((drifted,)).ok
    from velocity_stream.kafka.topics import TopicOutcome

    assert not TopicReport((TopicOutcome(other, TopicStatus.FAILED),)).ok
    assert TopicReport((TopicOutcome(other, TopicStatus.CREATED),)).ok


def test_plan_keeps_catalog_order():
    specs = [TopicSpec(f"t{i}", 1, "delete", 1) for i in range(5)]
    existing = {"t3": TopicState("t3", 1, 1, {"cleanup.policy": "delete", "retention.ms": "1"})}
    report = plan_topics(specs, existing, 1)
    assert [o.spec.name for o in report.outcomes] == ["t0", "t1", "t2", "t3", "t4"]
    assert report.with_status(TopicStatus.MATCHED)[0].spec.name == "t3"
