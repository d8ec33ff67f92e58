from __future__ import annotations

from velocity_stream.contracts.catalog import CompatibilityMode
from velocity_stream.registry.records import (
    ConfigRecord,
    IdWatermark,
    LogRecord,
    Marker,
    SchemaRecord,
    SchemaTombstone,
    decode,
    encode,
)
from velocity_stream.registry.state import RegistryState


def claim(
    subject: str, version: int, schema_id: int, fp: str, deleted: bool = False
) -> SchemaRecord:
    return SchemaRecord(subject, version, schema_id, fp, f'{{"fp":"{fp}"}}', deleted)


def fold(records: list[LogRecord]) -> tuple[RegistryState, list[bool]]:
    state = RegistryState()
    return state, [state.apply(r) for r in records]


def test_every_record_kind_round_trips_through_its_bytes() -> None:
    records: list[LogRecord] = [
        claim("s", 1, 1, "a"),
        claim("s", 1, 1, "a", deleted=True),
        SchemaTombstone("s", 1, 1, "a"),
        ConfigRecord("s", CompatibilityMode.FULL),
        ConfigRecord(None, CompatibilityMode.NONE),
        ConfigRecord("s", None),
        IdWatermark(9),
        Marker("t"),
    ]
    for record in records:
        assert decode(*encode(record)) == record


def test_a_later_claim_for_a_taken_version_loses() -> None:
    state, outcomes = fold([claim("s", 1, 1, "a"), claim("s", 1, 2, "b")])
    assert outcomes == [True, False]
    assert state.versions("s")[0].schema_id == 1
    assert 2 not in state.schemas
    assert state.max_id == 2  # the losing id is burnt, never handed out again


def test_a_later_claim_for_a_taken_id_loses() -> None:
    state, outcomes = fold([claim("s", 1, 1, "a"), claim("t", 1, 1, "b")])
    assert outcomes == [True, False]
    assert "t" not in state.subjects


def test_a_schema_keeps_its_first_id_across_subjects() -> None:
    _, outcomes = fold([claim("s", 1, 1, "a"), claim("t", 1, 2, "a"), claim("t", 1, 1, "a")])
    assert outcomes == [True, False, True]


def test_the_same_claim_twice_is_accepted_once_in_effect() -> None:
    state, outcomes = fold([claim("s", 1, 1, "a"), claim("s", 1, 1, "a")])
    assert outcomes == [True, True]
    assert len(state.versions("s")) == 1


def test_a_schema_cannot_be_a_second_live_version_of_one_subject() -> None:
    state, outcomes = fold([claim("s", 1, 1, "a"), claim("s", 2, 1, "a")])
    assert [v.version for v in state.versions("s")] == [1]
    assert outcomes == [True, False]


def test_a_withdrawn_losing_claim_does_not_touch_the_winner() -> None:
    state, _ = fold([claim("s", 1, 1, "a"), claim("s", 1, 2, "b"), SchemaTombstone("s", 1, 2, "b")])
    assert [v.schema_id for v in state.versions("s")] == [1]


def test_hard_delete_forgets_the_schema_but_not_its_id() -> None:
    state, _ = fold(
        [
            claim("s", 1, 1, "a"),
            claim("s", 1, 1, "a", deleted=True),
            SchemaTombstone("s", 1, 1, "a"),
        ]
    )
    assert state.subjects == {}
    assert state.schemas == {}
    assert state.max_id == 1


def test_replaying_the_compacted_log_gives_the_same_state() -> None:
    log: list[LogRecord] = [
        claim("s", 1, 1, "a"),
        claim("s", 2, 2, "b"),
        claim("s", 2, 3, "c"),  # loses
        SchemaTombstone("s", 2, 3, "c"),  # its writer withdraws it
        claim("t", 1, 3, "c"),
        ConfigRecord("s", CompatibilityMode.FULL),
        claim("s", 1, 1, "a", deleted=True),
        IdWatermark(3),
        SchemaTombstone("s", 1, 1, "a"),
        ConfigRecord("s", CompatibilityMode.NONE),
        Marker("x"),
    ]
    full, _ = fold(log)
    # Compaction keeps the last record per key, in offset order, and drops tombstones.
    last: dict[bytes, tuple[int, LogRecord]] = {}
    for offset, record in enumerate(log):
        last[encode(record)[0]] = (offset, record)
    compacted = [
        record
        for _, record in sorted(last.values(), key=lambda item: item[0])
        if encode(record)[1] is not None
    ]
    replayed, _ = fold(compacted)
    assert replayed.subjects == full.subjects
    assert replayed.schemas == full.schemas
    assert replayed.configs == full.configs
    assert replayed.max_id == full.max_id == 3
