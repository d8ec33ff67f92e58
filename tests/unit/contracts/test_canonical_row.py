"""An import row's canonical encoding is a contract: producers hash it, ImportRowRecord's rule
checks it. The native encoding (``_fastcanon``) must write exactly the bytes of the
definition, json.dumps with sorted keys, no spaces and non-ASCII kept, for any row, and leave
to the definition whatever it does not cover, which then answers or raises as it always did.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from velocity_stream.contracts import _fastcanon, imports
from velocity_stream.contracts.imports import (
    canonical_row,
    reference_canonical_row,
    row_content_sha256,
)
from velocity_stream.contracts.metadata import FrozenMap

# What escaping is about: quotes, backslashes, every control character and DEL, the
# characters json writes in short form, non-ASCII of every UTF-8 length.
_AWKWARD = st.sampled_from(
    ['"', "\\", "/", "\x7f", "\b", "\f", "\n", "\r", "\t", "é", "€", "😀", "\u2028", "\ufeff"]
    + [chr(code) for code in range(32)]
)
_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=_AWKWARD),
    st.lists(st.one_of(_AWKWARD, st.text(max_size=3))).map("".join),
)
_ROWS = st.dictionaries(_TEXT, _TEXT, max_size=12)


def definition(raw_values: Mapping[str, Any]) -> bytes:
    """The canonical encoding as it was defined before the native one (kept verbatim)."""
    canonical = json.dumps(
        dict(raw_values), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return canonical.encode("utf-8")


def test_the_native_encoding_is_built() -> None:
    assert imports.NATIVE_CANONICAL  # built by `pip install`, as CI installs the package


@settings(max_examples=400, deadline=None)
@given(row=_ROWS)
def test_the_native_encoding_writes_the_definitions_bytes(row: dict[str, str]) -> None:
    expected = definition(row)
    assert _fastcanon.canonical_row(row) == expected
    assert canonical_row(row) == expected
    assert canonical_row(FrozenMap(row)) == expected
    assert reference_canonical_row(row) == expected


@settings(max_examples=200, deadline=None)
@given(row=_ROWS)
def test_the_row_hash_is_the_sha256_of_the_definition(row: dict[str, str]) -> None:
    assert row_content_sha256(row) == hashlib.sha256(definition(row)).hexdigest()


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('say "hi"', b'"say \\"hi\\""'),
        ("C:\\dir", b'"C:\\\\dir"'),
        ("\x00\x01\x1f\x7f", b'"\\u0000\\u0001\\u001f\x7f"'),
        ("\b\f\n\r\t", b'"\\b\\f\\n\\r\\t"'),
        ("Ünïcode €😀", '"Ünïcode €😀"'.encode()),
    ],
)
def test_fixed_escapes(text: str, written: bytes) -> None:
    assert canonical_row({"k": text}) == b'{"k":' + written + b"}"
    assert canonical_row({text: ""}) == b"{" + written + b':""}'


def test_an_empty_row_is_two_braces() -> None:
    assert canonical_row({}) == b"{}" == definition({})


class Label(str):
    """A str subclass: json writes it as the string it holds."""


@pytest.mark.parametrize(
    "row",
    [
        {"n": 1},  # a number: json writes it unquoted
        {"none": None, "flag": True},
        {1: "one", 2: "two"},  # non-string keys: json turns them into strings
        {Label("b"): "x", "a": Label("y")},
        {"nested": {"z": "1", "a": "2"}},
    ],
)
def test_what_the_native_encoding_does_not_cover_is_the_definitions(row: dict[Any, Any]) -> None:
    assert _fastcanon.canonical_row(row) is None
    assert canonical_row(row) == definition(row)


def test_other_mappings_are_encoded_by_the_definition() -> None:
    row = MappingProxyType({"b": "2", "a": "1"})
    assert canonical_row(row) == definition(row) == b'{"a":"1","b":"2"}'


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"a": "\ud800"}, UnicodeEncodeError),  # lone surrogates: UTF-8 cannot encode them
        ({"\udfff": "b"}, UnicodeEncodeError),
        ({"a": "ok", "b": "x\udc80"}, UnicodeEncodeError),
        ({"a": "1", 2: "2"}, TypeError),  # keys that cannot be ordered
    ],
)
def test_what_the_definition_refuses_is_refused_with_its_error(
    row: dict[Any, str], error: type[Exception]
) -> None:
    assert _fastcanon.canonical_row(row) is None
    with pytest.raises(error) as expected:
        definition(row)
    with pytest.raises(error) as got:
        canonical_row(row)
    assert str(got.value) == str(expected.value)


def test_the_native_encoding_takes_only_a_dict() -> None:
    with pytest.raises(TypeError, match="expected a dict, got list"):
        _fastcanon.canonical_row([("a", "1")])  # type: ignore[arg-type]
