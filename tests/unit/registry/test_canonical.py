from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastavro.schema import to_parsing_canonical_form

from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.registry.canonical import canonical_form, identity_form, parse_avro
from velocity_stream.registry.errors import ErrorCode, RegistryRequestError

ROOT = Path(__file__).resolve().parents[3] / "avro_schemas"
CATALOG = load_catalog(ROOT)

SCHEMAS: list[object] = [
    "string",
    ["null", {"type": "string"}],
    {"type": "long", "logicalType": "timestamp-millis"},
    {"type": "fixed", "name": "F", "namespace": "x", "size": 3, "aliases": ["G"]},
    {"type": "error", "name": "E", "fields": []},
    {
        "type": "record",
        "name": "R",
        "namespace": "n.m",
        "doc": "dropped",
        "fields": [
            {"name": "a", "type": {"type": "array", "items": "R"}, "default": []},
            {"name": "m", "type": {"type": "map", "values": {"type": "int"}}},
            {"name": "e", "type": {"type": "enum", "name": "Colour", "symbols": ["RED", "BLUE"]}},
            {"name": "e2", "type": "Colour"},
            {"name": "u", "type": ["null", "n.m.Colour"], "default": None},
        ],
    },
] + [version.schema for family in CATALOG for version in family.versions]


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: str(s)[:40])
def test_canonical_form_without_extras_is_fastavros_parsing_canonical_form(
    schema: object,
) -> None:
    assert canonical_form(schema) == to_parsing_canonical_form(schema)


def test_whitespace_key_order_doc_and_namespace_spelling_keep_the_identity() -> None:
    one = {
        "type": "record",
        "name": "Order",
        "namespace": "shop",
        "fields": [{"name": "id", "type": "string"}],
    }
    other_text = """
      { "fields": [ {"type": {"type": "string"}, "name": "id", "doc": "the id"} ],
        "name": "shop.Order", "doc": "an order", "type": "record" }
    """
    assert parse_avro(json.dumps(one)).fingerprint == parse_avro(other_text).fingerprint


def test_a_new_default_or_logical_type_is_a_different_schema_though_pcf_is_equal() -> None:
    base = {"type": "record", "name": "R", "fields": [{"name": "at", "type": "long"}]}
    with_default = {
        "type": "record",
        "name": "R",
        "fields": [{"name": "at", "type": "long", "default": 0}],
    }
    with_logical = {
        "type": "record",
        "name": "R",
        "fields": [{"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}}],
    }
    forms = [parse_avro(json.dumps(s)) for s in (base, with_default, with_logical)]
    assert len({f.parsing_canonical_form for f in forms}) == 1
    assert len({f.fingerprint for f in forms}) == 3
    assert '"default":0' in identity_form(with_default)


def test_the_registered_text_keeps_docs_and_key_order() -> None:
    text = '{"type": "record", "name": "R", "doc": "kept", "fields": []}'
    assert parse_avro(text).text == '{"type":"record","name":"R","doc":"kept","fields":[]}'


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        '{"type": "record", "name": "R"}',
        '{"type": "record", "name": "R", "fields": [{"name": "a", "type": "Nope"}]}',
        '{"type": "enum", "name": "E", "symbols": "A"}',
        '{"type": 5}',
        "42",
        '"notatype"',
        "[" * 5000 + "]" * 5000,
    ],
)
def test_invalid_schemas_are_42201(text: str) -> None:
    with pytest.raises(RegistryRequestError) as raised:
        parse_avro(text)
    assert raised.value.error_code == ErrorCode.INVALID_SCHEMA
    assert raised.value.http_status == 422
