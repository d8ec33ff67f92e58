"""Rendering policy reports as text, JSON and GitHub annotations; pointers to field lines."""

from __future__ import annotations

import json
from pathlib import Path

from velocity_stream.compat import check_compatibility
from velocity_stream.compat.issues import IncompatibilityCode
from velocity_stream.compat.modes import Direction
from velocity_stream.compat.pointers import field_names_along, line_of_field
from velocity_stream.compat.policy import PolicyReport, PolicyViolation, ViolationKind
from velocity_stream.compat.report import render, render_result

AVSC = """{
  "type": "record",
  "name": "Thing",
  "fields": [
    {"name": "id", "type": "string"},
    {
      "name": "items",
      "type": {"type": "array", "items": {
        "type": "record", "name": "Item",
        "fields": [{"name": "id", "type": "long"}, {"name": "qty", "type": "int"}]
      }}
    }
  ]
}
"""


def violation(file: Path, **overrides):
    values = dict(
        kind=ViolationKind.INCOMPATIBLE_VERSION,
        family="Thing",
        version="1.1.0",
        file=file,
        message="Thing 1.1.0 cannot read data written with 1.0.0, really",
        hint="give field `qty` a default",
        against="1.0.0",
        location="/fields/1/type/items/fields/1",
        location_version="1.1.0",
        code=IncompatibilityCode.READER_FIELD_MISSING_DEFAULT_VALUE,
        direction=Direction.NEW_READS_OLD,
        field_path=("items", "qty"),
    )
    values.update(overrides)
    return PolicyViolation(**values)


def report(*violations):
    return PolicyReport(tuple(violations), families=11, versions=13, pairs_checked=2)


def test_field_names_along_a_pointer():
    schema = json.loads(AVSC)
    assert field_names_along(schema, "/fields/1/type/items/fields/1") == ("items", "qty")
    assert field_names_along(schema, "") == ()
    assert field_names_along(schema, "/fields/9") == ()


def test_line_of_nested_field_skips_same_name_at_other_levels():
    assert line_of_field(AVSC, ("id",)) == 5
    assert line_of_field(AVSC, ("items", "id")) == 10
    assert line_of_field(AVSC, ("nope",)) is None


def test_text_report_names_file_violation_and_fix(tmp_path):
    file = tmp_path / "thing" / "1.1.0.avsc"
    text = render(report(violation(file)), "text", root=tmp_path)
    lines = text.splitlines()
    assert lines[0] == (
        "thing/1.1.0.avsc: [incompatible_version/reader_field_missing_default_value] "
        "Thing 1.1.0 cannot read data written with 1.0.0, really"
    )
    assert lines[1] == "    fix: give field `qty` a default"
    assert lines[2] == (
        "schemas check: 1 violation (11 families, 13 versions, 2 schema pairs checked)"
    )


def test_ok_text_report_is_one_summary_line():
    assert render(report(), "text") == (
        "schemas check: ok (11 families, 13 versions, 2 schema pairs checked)"
    )


def test_json_report_is_machine_readable(tmp_path):
    document = json.loads(render(report(violation(tmp_path / "a.avsc")), "json", root=tmp_path))
    assert document["ok"] is False
    [entry] = document["violations"]
    assert entry["file"] == "a.avsc"
    assert entry["code"] == "reader_field_missing_default_value"
    assert entry["field"] == "items.qty"
    assert entry["direction"] == "new_reads_old"


def test_github_annotation_points_at_file_and_field_line_and_escapes(tmp_path):
    file = tmp_path / "thing" / "1.1.0.avsc"
    file.parent.mkdir()
    file.write_text(AVSC)
    multi_line = violation(file, message="50% broken,\nreally: yes")
    first = render(report(multi_line), "github", root=tmp_path).splitlines()[0]
    assert first == (
        "::error file=thing/1.1.0.avsc,line=10,"
        "title=Thing 1.1.0%3A incompatible_version/reader_field_missing_default_value"
        "::50%25 broken,%0Areally: yes. Fix: give field `qty` a default"
    )


def test_github_annotation_without_a_field_has_no_line(tmp_path):
    plain = violation(
        tmp_path / "missing.avsc",
        field_path=(),
        code=None,
        kind=ViolationKind.RELEASED_SCHEMA_DELETED,
    )
    first = render(report(plain), "github", root=tmp_path).splitlines()[0]
    assert first.startswith(
        "::error file=missing.avsc,title=Thing 1.1.0%3A released_schema_deleted::"
    )


def test_render_result_lists_issues_with_fixes():
    result = check_compatibility(["null", "string"], "int")
    assert render_result(result) == (
        "missing_union_branch at /: the reader's union has no branch for the writer's int "
        "(fix: add `int` to the union)"
    )
    assert render_result(check_compatibility("long", "int")) == "compatible"
