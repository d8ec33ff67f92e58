"""Compatibility modes with Confluent meanings: direction and transitivity."""

from __future__ import annotations

import pytest

from velocity_stream.compat import CompatibilityMode, Direction, check_mode

Mode = CompatibilityMode


def rec(*fields):
    return {"type": "record", "name": "R", "fields": list(fields)}


V1 = rec({"name": "a", "type": "int"})
# v2 drops nothing and adds a field with a default: readable both ways.
V2 = rec({"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": ""})
# v3 adds a field without default: new readers cannot read old data.
V3 = rec({"name": "a", "type": "int"}, {"name": "c", "type": "string"})
# drops `a`, which v1 readers require: old readers cannot read its data.
V_NO_A = rec({"name": "b", "type": "string", "default": ""})


def test_backward_means_the_new_schema_reads_old_data():
    result = check_mode(V3, [V1], Mode.BACKWARD)
    assert not result.compatible
    [check] = result.failures
    assert check.direction is Direction.NEW_READS_OLD
    assert check.result.issues[0].location == "/fields/1"


def test_forward_means_old_readers_read_new_data():
    # Old v1 readers need `a`, which V_NO_A no longer writes.
    result = check_mode(V_NO_A, [V1], Mode.FORWARD)
    [check] = result.failures
    assert check.direction is Direction.OLD_READS_NEW
    # A v1 reader ignores the extra field c, so v3 is forward compatible.
    assert check_mode(V3, [V1], Mode.FORWARD).compatible


def test_full_checks_both_directions():
    assert check_mode(V2, [V1], Mode.FULL).compatible
    result = check_mode(V3, [V1], Mode.FULL)
    assert [c.direction for c in result.failures] == [Direction.NEW_READS_OLD]
    assert len(result.checks) == 2


def test_non_transitive_modes_check_only_the_latest_version():
    # Only the latest (index 1) is checked.
    result = check_mode(V3, [V2, V1], Mode.BACKWARD)
    assert [c.previous_index for c in result.checks] == [1]


def test_transitive_modes_check_every_earlier_version():
    reads_nothing_old = rec({"name": "a", "type": "int"}, {"name": "c", "type": "string"})
    result = check_mode(reads_nothing_old, [V1, V3], Mode.BACKWARD_TRANSITIVE)
    assert [c.previous_index for c in result.checks] == [0, 1]
    assert [c.previous_index for c in result.failures] == [0]
    assert check_mode(reads_nothing_old, [V1, V3], Mode.BACKWARD).compatible


@pytest.mark.parametrize("mode", [Mode.FORWARD_TRANSITIVE, Mode.FULL_TRANSITIVE])
def test_forward_and_full_transitive_check_all(mode):
    result = check_mode(V_NO_A, [V1, V2], mode)
    assert {c.previous_index for c in result.failures} == {0, 1}


def test_none_checks_nothing_and_modes_accept_strings():
    assert check_mode(V3, [V1], "NONE").checks == ()
    assert not check_mode(V3, [V1], "BACKWARD").compatible


def test_first_version_is_always_compatible():
    assert check_mode(V1, [], Mode.FULL_TRANSITIVE).compatible
