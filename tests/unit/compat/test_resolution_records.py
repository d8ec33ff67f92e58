"""Record resolution: names, aliases, fields by name or alias, defaults, namespaces, recursion."""

from __future__ import annotations

import json

from velocity_stream.compat import IncompatibilityCode, check_compatibility

Code = IncompatibilityCode


def record(name, *fields, **extra):
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def field(name, type_, **extra):
    return {"name": name, "type": type_, **extra}


def test_writer_only_field_is_ignored():
    writer = record("A", field("a", "int"), field("dropped", "string"))
    reader = record("A", field("a", "int"))
    assert check_compatibility(reader, writer).compatible


def test_field_order_does_not_matter():
    writer = record("A", field("a", "int"), field("b", "string"))
    reader = record("A", field("b", "string"), field("a", "int"))
    assert check_compatibility(reader, writer).compatible


def test_new_reader_field_with_default_is_compatible():
    writer = record("A", field("a", "int"))
    reader = record("A", field("a", "int"), field("note", ["null", "string"], default=None))
    assert check_compatibility(reader, writer).compatible


def test_new_reader_field_without_default_is_reported_at_the_field():
    writer = record("A", field("a", "int"))
    reader = record("A", field("a", "int"), field("x", "long"))
    [issue] = check_compatibility(reader, writer).issues
    assert issue.code is Code.READER_FIELD_MISSING_DEFAULT_VALUE
    assert issue.location == "/fields/1"
    assert issue.reader_fragment == {"name": "x", "type": "long"}
    assert issue.writer_fragment == writer
    assert issue.hint == "give field `x` a default"
    assert "`x`" in issue.message


def test_every_broken_field_is_reported_not_just_the_first():
    writer = record("A", field("a", "int"), field("b", "string"))
    reader = record("A", field("a", "boolean"), field("b", "int"), field("c", "int"))
    result = check_compatibility(reader, writer)
    assert [(i.code, i.location) for i in result.issues] == [
        (Code.TYPE_MISMATCH, "/fields/0/type"),
        (Code.TYPE_MISMATCH, "/fields/1/type"),
        (Code.READER_FIELD_MISSING_DEFAULT_VALUE, "/fields/2"),
    ]


def test_default_of_the_wrong_type_is_reported_when_the_reader_needs_it():
    writer = record("A", field("a", "int"))
    reader = record("A", field("a", "int"), field("n", "int", default="zero"))
    [issue] = check_compatibility(reader, writer).issues
    assert issue.code is Code.INVALID_DEFAULT_VALUE
    assert issue.location == "/fields/1"


def test_union_default_may_match_any_branch():
    writer = record("A", field("a", "int"))
    reader = record("A", field("a", "int"), field("s", ["string", "null"], default=None))
    assert check_compatibility(reader, writer).compatible


def test_renamed_field_resolves_through_reader_field_alias():
    writer = record("A", field("old_name", "string"))
    reader = record("A", field("new_name", "string", aliases=["old_name"]))
    assert check_compatibility(reader, writer).compatible


def test_renamed_field_without_alias_needs_a_default():
    writer = record("A", field("old_name", "string"))
    reader = record("A", field("new_name", "string"))
    assert check_compatibility(reader, writer).codes() == {Code.READER_FIELD_MISSING_DEFAULT_VALUE}


def test_nested_field_type_change_is_located_by_json_pointer():
    writer = record(
        "A",
        field("a", "int"),
        field("b", "int"),
        field("tags", {"type": "array", "items": "string"}),
    )
    reader = record(
        "A", field("a", "int"), field("b", "int"), field("tags", {"type": "array", "items": "int"})
    )
    [issue] = check_compatibility(reader, writer).issues
    assert issue.location == "/fields/2/type/items"
    assert issue.reader_fragment == "int"
    assert issue.writer_fragment == "string"


def test_records_with_different_names_are_a_name_mismatch():
    [issue] = check_compatibility(
        record("B", field("a", "int")), record("A", field("a", "int"))
    ).issues
    assert issue.code is Code.NAME_MISMATCH
    assert "aliases" in issue.hint


def test_renamed_record_resolves_through_reader_alias():
    writer = record("Old", field("a", "int"), namespace="x")
    reader = record("New", field("a", "int"), namespace="x", aliases=["Old"])
    assert check_compatibility(reader, writer).compatible


def test_record_alias_may_be_a_full_name():
    writer = record("Old", field("a", "int"), namespace="legacy")
    reader = record("New", field("a", "int"), namespace="x", aliases=["legacy.Old"])
    assert check_compatibility(reader, writer).compatible


def test_records_match_on_unqualified_name_across_namespaces():
    # Avro 1.12: "both schemas are records with the same (unqualified) name".
    writer = record("A", field("a", "int"), namespace="one")
    reader = record("A", field("a", "int"), namespace="two")
    assert check_compatibility(reader, writer).compatible


def test_nested_named_type_inherits_the_enclosing_namespace():
    inner = {"type": "enum", "name": "Kind", "symbols": ["X"]}
    writer = record("A", field("k", inner), field("k2", "Kind"), namespace="ns")
    reader = record("A", field("k", inner), field("k2", "ns.Kind"), namespace="ns")
    assert check_compatibility(reader, writer).compatible


def test_recursive_schema_terminates_and_reports_inner_issue_once():
    writer = record("LongList", field("value", "long"), field("next", ["null", "LongList"]))
    reader = record(
        "LongList",
        field("value", "long"),
        field("next", ["null", "LongList"]),
        field("size", "int"),
    )
    [issue] = check_compatibility(reader, writer).issues
    assert issue.code is Code.READER_FIELD_MISSING_DEFAULT_VALUE
    assert issue.location == "/fields/2"


def test_mutually_recursive_schemas_are_compatible_with_themselves():
    tree = record(
        "Tree",
        field(
            "children",
            {
                "type": "array",
                "items": record("Node", field("tree", "Tree"), field("label", "string")),
            },
        ),
        field("root", ["null", "Node"]),
    )
    assert check_compatibility(tree, tree).compatible


def test_issue_inside_a_referenced_type_points_at_its_definition():
    point = record("Point", field("x", "int"))
    writer = record("Shape", field("a", point), field("b", "Point"))
    reader = record("Shape", field("a", record("Point", field("x", "string"))), field("b", "Point"))
    [issue] = check_compatibility(reader, writer).issues
    assert issue.location == "/fields/0/type/fields/0/type"


def test_json_text_dict_and_parsed_inputs_agree():
    writer = record("A", field("a", "int"))
    reader = record("A", field("a", "long"))
    from velocity_stream.compat import parse_schema

    assert check_compatibility(json.dumps(reader), writer).compatible
    assert check_compatibility(parse_schema(reader), parse_schema(json.dumps(writer))).compatible
