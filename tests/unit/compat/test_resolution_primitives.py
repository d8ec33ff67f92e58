"""Primitive resolution: identical types, the specification's promotions, and everything else."""

from __future__ import annotations

import itertools

import pytest

from velocity_stream.compat import IncompatibilityCode, check_compatibility

PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
# (writer, reader) pairs the Avro 1.12 specification allows besides identity.
PROMOTIONS = {
    ("int", "long"),
    ("int", "float"),
    ("int", "double"),
    ("long", "float"),
    ("long", "double"),
    ("float", "double"),
    ("string", "bytes"),
    ("bytes", "string"),
}


@pytest.mark.parametrize("kind", PRIMITIVES)
def test_identical_primitives_are_compatible(kind):
    assert check_compatibility(kind, kind).compatible
    assert check_compatibility({"type": kind}, f'"{kind}"').compatible


@pytest.mark.parametrize(("writer", "reader"), sorted(PROMOTIONS))
def test_writer_type_promotes_to_wider_reader_type(writer, reader):
    assert check_compatibility(reader, writer).compatible


@pytest.mark.parametrize(
    ("writer", "reader"),
    [(w, r) for w, r in itertools.permutations(PRIMITIVES, 2) if (w, r) not in PROMOTIONS],
)
def test_other_primitive_pairs_are_type_mismatches(writer, reader):
    result = check_compatibility(reader, writer)
    assert not result.compatible
    [issue] = result.issues
    assert issue.code is IncompatibilityCode.TYPE_MISMATCH
    assert issue.location == ""
    assert issue.reader_fragment == reader
    assert issue.writer_fragment == writer


def test_demotion_hint_names_the_writer_type_and_its_promotions():
    [issue] = check_compatibility("int", "long").issues
    assert issue.message == "the writer's long cannot be read as int"
    assert issue.hint == "change the type back to `long` (or double, float, which it promotes to)"


def test_primitive_against_complex_type_is_a_type_mismatch():
    result = check_compatibility({"type": "array", "items": "int"}, "int")
    assert result.codes() == {IncompatibilityCode.TYPE_MISMATCH}
