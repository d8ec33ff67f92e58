"""Rules of the import families: batches, rows and their content hash, column accounting."""

from __future__ import annotations

import pytest

from tests.unit.contracts.conftest import changed, violations
from velocity_stream.contracts.examples import example, import_mapping_manifest_v1
from velocity_stream.contracts.import_manifest import ImportMappingManifestV1
from velocity_stream.contracts.imports import ImportRowRecord, RawImportBatch, row_content_sha256

# --- RawImportBatch -----------------------------------------------------------------------


def test_a_batch_with_no_data_rows_is_valid() -> None:
    assert violations(RawImportBatch, changed(example("RawImportBatch"), {"row_count": 0})) == set()


def test_a_negative_row_count_is_refused() -> None:
    data = changed(example("RawImportBatch"), {"row_count": -1})
    assert violations(RawImportBatch, data) == {("contract.invalid_field", "row_count")}


@pytest.mark.parametrize("digest", ["abc", "9F" * 32, "g" * 64, ""])
def test_the_file_hash_is_lowercase_sha256_hex(digest: str) -> None:
    data = changed(example("RawImportBatch"), {"content_sha256": digest})
    assert violations(RawImportBatch, data) == {("contract.invalid_field", "content_sha256")}


def test_required_batch_fields_cannot_be_blank() -> None:
    data = changed(example("RawImportBatch"), {"storage_ref": "", "uploaded_by": ""})
    assert violations(RawImportBatch, data) == {
        ("contract.invalid_field", "storage_ref"),
        ("contract.invalid_field", "uploaded_by"),
    }


# --- ImportRowRecord ----------------------------------------------------------------------


def test_row_hash_is_the_sha256_of_sorted_compact_utf8_json() -> None:
    # Fixed vector: sha256(b'{"a":"1","\xc3\xa9":"\xe2\x82\xac"}'), i.e. key order and escaping
    # do not change the hash.
    import hashlib

    expected = hashlib.sha256('{"a":"1","é":"€"}'.encode()).hexdigest()
    assert row_content_sha256({"é": "€", "a": "1"}) == expected


def test_row_hash_changes_with_any_cell_text() -> None:
    row = {"Email": "a@b.example", "Phone": "1"}
    assert row_content_sha256(row) != row_content_sha256({**row, "Phone": "1 "})
    assert row_content_sha256(row) != row_content_sha256({**row, "Fax": ""})


def test_a_row_whose_values_changed_after_hashing_is_refused() -> None:
    data = changed(example("ImportRowRecord"), {"raw_values.Email": "someone.else@example.com"})
    assert violations(ImportRowRecord, data) == {
        ("contract.import_row.content_hash_mismatch", "content_sha256")
    }


def test_a_row_with_a_recomputed_hash_is_valid() -> None:
    values = {"Email": "someone.else@example.com", "Name": "  Ünïcode  "}
    data = changed(
        example("ImportRowRecord"),
        {"raw_values": values, "content_sha256": row_content_sha256(values)},
    )
    assert violations(ImportRowRecord, data) == set()


def test_an_empty_row_is_valid_when_its_hash_matches() -> None:
    data = changed(
        example("ImportRowRecord"), {"raw_values": {}, "content_sha256": row_content_sha256({})}
    )
    assert violations(ImportRowRecord, data) == set()


@pytest.mark.parametrize("row_number", [0, -3])
def test_rows_are_numbered_from_one(row_number: int) -> None:
    data = changed(example("ImportRowRecord"), {"row_number": row_number})
    assert violations(ImportRowRecord, data) == {
        ("contract.import_row.row_number_range", "row_number")
    }


def test_row_one_is_the_first_data_row() -> None:
    assert (
        violations(ImportRowRecord, changed(example("ImportRowRecord"), {"row_number": 1})) == set()
    )


# --- ImportMappingManifest major 1 -----------------------------------------------------------

V1 = import_mapping_manifest_v1()


def test_every_column_mapped_ignored_or_unresolved_once_is_valid() -> None:
    assert violations(ImportMappingManifestV1, changed(V1)) == set()


def test_a_column_nobody_accounts_for_is_refused_at_its_source_position() -> None:
    data = changed(V1, {"ignored_columns": []})  # "Notes" is source column 6
    assert violations(ImportMappingManifestV1, data) == {
        ("contract.import_manifest.column_unaccounted", "source_columns.6")
    }


def test_a_column_both_mapped_and_ignored_is_refused_where_it_repeats() -> None:
    data = changed(V1, {"ignored_columns": ["Notes", "Email"]})
    assert violations(ImportMappingManifestV1, data) == {
        ("contract.import_manifest.column_duplicated", "ignored_columns.1")
    }


def test_a_column_mapped_twice_is_refused_at_the_second_mapping() -> None:
    data = changed(V1)
    data["column_mappings"].append({"source_column": "Email", "target_field": "person.alt_email"})
    assert violations(ImportMappingManifestV1, data) == {
        ("contract.import_manifest.column_duplicated", "column_mappings.5.source_column")
    }


def test_a_mapping_of_a_column_the_file_does_not_have_is_refused() -> None:
    data = changed(V1, {"column_mappings.3.source_column": "Mobile"})
    assert violations(ImportMappingManifestV1, data) == {
        ("contract.import_manifest.column_unknown", "column_mappings.3.source_column"),
        # "Phone" lost its mapping, so it is now unaccounted for as well
        ("contract.import_manifest.column_unaccounted", "source_columns.3"),
    }


def test_unknown_unresolved_column_and_unknown_note_column_are_refused() -> None:
    data = changed(
        V1,
        {"unmapped_columns": ["Lead Status", "Budget"], "resolver_notes.0.column": "Stage"},
    )
    assert violations(ImportMappingManifestV1, data) == {
        ("contract.import_manifest.column_unknown", "unmapped_columns.1"),
        ("contract.import_manifest.column_unknown", "resolver_notes.0.column"),
    }


def test_a_source_column_listed_twice_is_refused() -> None:
    data = changed(V1, {"source_columns": [*V1.source_columns, "Email"]})
    assert violations(ImportMappingManifestV1, data) == {
        ("contract.import_manifest.column_duplicated", "source_columns.7")
    }


def test_a_manifest_of_an_empty_file_is_valid() -> None:
    data = changed(
        V1,
        {
            "source_columns": [],
            "column_mappings": [],
            "ignored_columns": [],
            "unmapped_columns": [],
            "resolver_notes": [],
        },
    )
    assert violations(ImportMappingManifestV1, data) == set()
