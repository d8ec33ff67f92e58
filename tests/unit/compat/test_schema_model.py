"""Parsing schemas into the walkable model: full names, aliases, references and errors."""

from __future__ import annotations

import pytest

from velocity_stream.compat import SchemaParseError, parse_schema
from velocity_stream.compat.schema_model import EnumNode, FixedNode, RecordNode
from velocity_stream.errors import ConfigError


def test_full_names_follow_the_specification_example():
    schema = {
        "type": "record",
        "name": "Example",
        "fields": [
            {"name": "inheritNull", "type": {"type": "enum", "name": "Simple", "symbols": ["a"]}},
            {
                "name": "explicit",
                "type": {"type": "fixed", "name": "Simple", "namespace": "explicit", "size": 12},
            },
            {
                "name": "fullName",
                "type": {
                    "type": "record",
                    "name": "a.full.Name",
                    "namespace": "ignored",
                    "fields": [
                        {
                            "name": "inherit",
                            "type": {"type": "enum", "name": "Understanding", "symbols": ["d"]},
                        }
                    ],
                },
            },
        ],
    }
    parsed = parse_schema(schema)
    assert set(parsed.named) == {
        "Example",
        "Simple",
        "explicit.Simple",
        "a.full.Name",
        "a.full.Understanding",
    }
    assert isinstance(parsed.named["explicit.Simple"], FixedNode)


def test_aliases_are_relative_to_the_type_namespace():
    parsed = parse_schema({"type": "record", "name": "a.b", "aliases": ["c", "x.y"], "fields": []})
    node = parsed.named["a.b"]
    assert isinstance(node, RecordNode)
    assert node.aliases == {"a.c", "x.y"}


def test_short_reference_resolves_in_enclosing_namespace():
    parsed = parse_schema(
        {
            "type": "record",
            "name": "R",
            "namespace": "ns",
            "fields": [
                {"name": "a", "type": {"type": "enum", "name": "E", "symbols": ["X"]}},
                {"name": "b", "type": "E"},
            ],
        }
    )
    root = parsed.root
    assert isinstance(root, RecordNode)
    assert root.fields[1].type is parsed.named["ns.E"]
    assert isinstance(root.fields[1].type, EnumNode)


def test_recursive_reference_is_the_same_node():
    parsed = parse_schema(
        {"type": "record", "name": "L", "fields": [{"name": "next", "type": ["null", "L"]}]}
    )
    root = parsed.root
    assert isinstance(root, RecordNode)
    assert root.fields[0].type.branches[1] is root  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("schema", "pointer"),
    [
        (
            {"type": "record", "name": "R", "fields": [{"name": "a", "type": "Missing"}]},
            "/fields/0/type",
        ),
        (["null", "null"], "/1"),
        (["int", ["null"]], "/1"),
        ({"type": "enum", "name": "E", "symbols": ["A", "A"]}, ""),
        ({"type": "fixed", "name": "F"}, ""),
        (
            {
                "type": "record",
                "name": "R",
                "fields": [{"name": "a", "type": "int"}, {"name": "a", "type": "int"}],
            },
            "/fields/1",
        ),
        (
            {
                "type": "record",
                "name": "R",
                "fields": [{"name": "a", "type": {"type": "record", "name": "R", "fields": []}}],
            },
            "/fields/0/type",
        ),
    ],
)
def test_invalid_schemas_raise_with_a_pointer(schema, pointer):
    with pytest.raises(SchemaParseError) as caught:
        parse_schema(schema)
    assert caught.value.pointer == pointer


def test_parse_error_is_a_config_error_and_bad_json_is_reported():
    with pytest.raises(ConfigError, match="not JSON"):
        parse_schema("{not json")


def test_bare_primitive_name_text_is_accepted():
    assert parse_schema("int").root.type == "int"
    assert parse_schema('"int"').root.type == "int"


def test_public_names_match_all():
    import velocity_stream.compat as compat

    public = {name for name in vars(compat) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(compat, name)).__name__ == "module"}
    assert set(compat.__all__) == public - modules - {"annotations"}
