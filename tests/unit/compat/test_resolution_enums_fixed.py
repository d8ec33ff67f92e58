"""Enum and fixed resolution: symbols and the reader's enum default; names and sizes."""

from __future__ import annotations

from velocity_stream.compat import IncompatibilityCode, check_compatibility

Code = IncompatibilityCode


def enum(symbols, name="Suit", **extra):
    return {"type": "enum", "name": name, "symbols": symbols, **extra}


def fixed(size, name="Hash", **extra):
    return {"type": "fixed", "name": name, "size": size, **extra}


def test_reader_with_more_symbols_reads_writer_enum():
    assert check_compatibility(enum(["A", "B", "C"]), enum(["A", "B"])).compatible


def test_symbol_order_does_not_matter():
    assert check_compatibility(enum(["B", "A"]), enum(["A", "B"])).compatible


def test_missing_writer_symbols_are_listed():
    [issue] = check_compatibility(enum(["A"]), enum(["A", "B", "C"])).issues
    assert issue.code is Code.MISSING_ENUM_SYMBOLS
    assert "`B`, `C`" in issue.message
    assert issue.hint == "add symbol(s) `B`, `C` or an enum default"


def test_reader_enum_default_absorbs_unknown_symbols():
    reader = enum(["UNKNOWN", "A"], default="UNKNOWN")
    assert check_compatibility(reader, enum(["A", "B", "C"])).compatible


def test_enums_with_different_names_do_not_match():
    [issue] = check_compatibility(enum(["A"], name="X"), enum(["A"], name="Y")).issues
    assert issue.code is Code.NAME_MISMATCH


def test_enum_alias_matches_old_name():
    assert check_compatibility(
        enum(["A"], name="X", aliases=["Y"]), enum(["A"], name="Y")
    ).compatible


def test_enum_against_string_is_a_type_mismatch():
    assert check_compatibility("string", enum(["A"])).codes() == {Code.TYPE_MISMATCH}


def test_same_fixed_is_compatible():
    assert check_compatibility(fixed(16), fixed(16)).compatible


def test_fixed_size_change_is_reported():
    [issue] = check_compatibility(fixed(32), fixed(16)).issues
    assert issue.code is Code.FIXED_SIZE_MISMATCH
    assert "16" in issue.hint


def test_fixed_name_change_is_reported():
    [issue] = check_compatibility(fixed(16, name="A"), fixed(16, name="B")).issues
    assert issue.code is Code.NAME_MISMATCH


def test_fixed_against_bytes_is_a_type_mismatch():
    assert check_compatibility("bytes", fixed(4)).codes() == {Code.TYPE_MISMATCH}
    assert check_compatibility(fixed(4), "bytes").codes() == {Code.TYPE_MISMATCH}
