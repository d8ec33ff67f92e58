"""Arrays, maps and unions on the reader side, the writer side and both."""

from __future__ import annotations

from velocity_stream.compat import IncompatibilityCode, check_compatibility

Code = IncompatibilityCode


def array(items):
    return {"type": "array", "items": items}


def map_(values):
    return {"type": "map", "values": values}


def rec(name, **fields):
    return {
        "type": "record",
        "name": name,
        "fields": [{"name": k, "type": v} for k, v in fields.items()],
    }


def test_array_items_resolve_recursively_with_promotion():
    assert check_compatibility(array("long"), array("int")).compatible
    [issue] = check_compatibility(array("int"), array("long")).issues
    assert issue.location == "/items"


def test_map_values_resolve_recursively():
    assert check_compatibility(map_("double"), map_("float")).compatible
    [issue] = check_compatibility(map_(array("string")), map_(array("boolean"))).issues
    assert issue.location == "/values/items"


def test_array_and_map_do_not_match():
    assert check_compatibility(map_("int"), array("int")).codes() == {Code.TYPE_MISMATCH}


def test_reader_union_reads_a_matching_writer_type():
    assert check_compatibility(["null", "string"], "string").compatible


def test_reader_union_uses_promotion_to_pick_a_branch():
    assert check_compatibility(["null", "double"], "int").compatible


def test_reader_union_without_a_branch_for_writer_type():
    [issue] = check_compatibility(["null", "string"], "int").issues
    assert issue.code is Code.MISSING_UNION_BRANCH
    assert issue.location == ""
    assert issue.hint == "add `int` to the union"


def test_first_matching_reader_branch_is_resolved_even_if_it_fails_deeper():
    # The specification picks the first reader branch that matches by name; it does not backtrack.
    writer = rec("R", a="string")
    reader = [rec("R", a="int"), "null"]
    [issue] = check_compatibility(reader, writer).issues
    assert issue.code is Code.TYPE_MISMATCH
    assert issue.location == "/0/fields/0/type"


def test_writer_union_read_by_non_union_needs_every_branch_readable():
    result = check_compatibility("string", ["null", "string"])
    [issue] = result.issues
    assert issue.code is Code.MISSING_UNION_BRANCH
    assert issue.writer_fragment == "null"
    assert issue.hint == "make the type a union that also has `null`"


def test_writer_union_read_by_non_union_when_all_branches_promote():
    assert check_compatibility("double", ["int", "long", "float"]).compatible


def test_union_to_union_needs_every_writer_branch():
    assert check_compatibility(["null", "string", "long"], ["null", "string"]).compatible
    result = check_compatibility(["null", "string"], ["null", "string", "long", "boolean"])
    assert [i.writer_fragment for i in result.issues] == ["long", "boolean"]
    assert result.codes() == {Code.MISSING_UNION_BRANCH}


def test_union_branch_order_does_not_matter():
    assert check_compatibility(["string", "null"], ["null", "string"]).compatible


def test_union_of_named_types_resolves_each_by_name():
    a, b = rec("A", x="int"), rec("B", y="string")
    assert check_compatibility([b, a], [a, b]).compatible
    [issue] = check_compatibility([rec("B", y="int"), a], [a, b]).issues
    assert issue.location == "/0/fields/0/type"


def test_union_inside_array_located_at_branch():
    [issue] = check_compatibility(array(["null", "int"]), array(["null", "long"])).issues
    assert issue.code is Code.MISSING_UNION_BRANCH
    assert issue.location == "/items"
