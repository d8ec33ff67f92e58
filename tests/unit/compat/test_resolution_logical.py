"""Logical-type findings: meaning changes reported even where the bytes resolve."""

from __future__ import annotations

from velocity_stream.compat import IncompatibilityCode, check_compatibility

Code = IncompatibilityCode


def decimal(precision, scale, base="bytes"):
    return {"type": base, "logicalType": "decimal", "precision": precision, "scale": scale}


def ts(unit, local=False, base="long"):
    prefix = "local-timestamp" if local else "timestamp"
    return {"type": base, "logicalType": f"{prefix}-{unit}"}


def test_same_decimal_is_compatible():
    assert check_compatibility(decimal(10, 2), decimal(10, 2)).compatible


def test_wider_decimal_precision_at_same_scale_is_compatible():
    assert check_compatibility(decimal(12, 2), decimal(10, 2)).compatible


def test_decimal_scale_change_is_reported():
    [issue] = check_compatibility(decimal(10, 3), decimal(10, 2)).issues
    assert issue.code is Code.LOGICAL_TYPE_MISMATCH
    assert "scale changes from 2 to 3" in issue.message
    assert issue.hint == "keep scale 2; a different scale needs a new field"


def test_narrower_decimal_precision_is_reported():
    [issue] = check_compatibility(decimal(8, 2), decimal(10, 2)).issues
    assert issue.code is Code.LOGICAL_TYPE_MISMATCH
    assert "precision narrows" in issue.message


def test_decimal_on_fixed_is_checked_too():
    writer = {**decimal(10, 2, base="fixed"), "name": "D", "size": 8}
    reader = {**decimal(10, 4, base="fixed"), "name": "D", "size": 8}
    assert check_compatibility(reader, writer).codes() == {Code.LOGICAL_TYPE_MISMATCH}


def test_timestamp_unit_change_is_reported():
    [issue] = check_compatibility(ts("micros"), ts("millis")).issues
    assert issue.code is Code.LOGICAL_TYPE_MISMATCH
    assert "from millis to micros" in issue.message
    assert "1000x larger" in issue.message


def test_local_versus_zoned_timestamp_is_reported():
    assert check_compatibility(ts("millis", local=True), ts("millis")).codes() == {
        Code.LOGICAL_TYPE_MISMATCH
    }


def test_time_millis_promoted_to_time_micros_is_reported():
    reader = {"type": "long", "logicalType": "time-micros"}
    writer = {"type": "int", "logicalType": "time-millis"}
    assert check_compatibility(reader, writer).codes() == {Code.LOGICAL_TYPE_MISMATCH}


def test_adding_or_dropping_an_annotation_is_not_reported():
    assert check_compatibility(ts("millis"), "long").compatible
    assert check_compatibility("long", ts("millis")).compatible


def test_invalid_logical_types_are_ignored_as_the_spec_asks():
    bad = {"type": "string", "logicalType": "timestamp-millis"}
    assert check_compatibility(bad, "string").compatible
    assert check_compatibility(decimal(2, 5), decimal(10, 2)).compatible


def test_logical_finding_inside_a_record_is_located_at_the_field_type():
    writer = {"type": "record", "name": "R", "fields": [{"name": "at", "type": ts("millis")}]}
    reader = {"type": "record", "name": "R", "fields": [{"name": "at", "type": ts("nanos")}]}
    [issue] = check_compatibility(reader, writer).issues
    assert issue.location == "/fields/0/type"
