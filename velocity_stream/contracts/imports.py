"""RawImportBatch and ImportRowRecord: an uploaded file and its rows, kept exactly as received.

The row hash lets every later stage prove that it still holds the bytes the importer saw;
:func:`row_content_sha256` is the one canonical encoding producers and the model share.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping

from pydantic import Field

from velocity_stream.contracts.metadata import Artifact, StrMap
from velocity_stream.errors import ReasonCode, Violation

# Lower-case hex of a SHA-256 digest; upper case is refused so that equal content has one text.
SHA256_HEX = r"^[0-9a-f]{64}$"


def row_content_sha256(raw_values: Mapping[str, str]) -> str:
    """SHA-256 hex of a row's canonical encoding: JSON, sorted keys, no spaces, UTF-8.

    ``ensure_ascii=False`` keeps non-ASCII cell text as its UTF-8 bytes, so the hash does
    not depend on how a producer's JSON library escapes characters.
    """
    canonical = json.dumps(
        dict(raw_values), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class RawImportBatch(Artifact):
    """An uploaded import file. Immutability (same batch_id, other content) is a gateway rule."""

    FAMILY = "RawImportBatch"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "RawImportBatch"
    schema_version: str = "1.0.0"
    batch_id: str = Field(min_length=1)
    uploaded_filename: str = Field(min_length=1)
    mime_type: str = Field(min_length=1)
    storage_ref: str = Field(min_length=1)
    row_count: int = Field(ge=0)
    uploaded_by: str = Field(min_length=1)
    content_sha256: str = Field(pattern=SHA256_HEX)


class ImportRowRecord(Artifact):
    """One data row of a batch. Whether the batch exists and row_count covers it is stateful:
    the gateway checks it against the batch; the model checks what the row alone can prove."""

    FAMILY = "ImportRowRecord"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "ImportRowRecord"
    schema_version: str = "1.0.0"
    row_id: str = Field(min_length=1)
    batch_id: str = Field(min_length=1)
    row_number: int
    raw_values: StrMap
    content_sha256: str = Field(pattern=SHA256_HEX)

    def rules(self) -> Iterator[Violation]:
        if self.row_number < 1:
            yield Violation(
                ReasonCode.CONTRACT_ROW_NUMBER_RANGE,
                "row_number",
                f"is {self.row_number}; rows are numbered from 1 (the header is not a row)",
            )
        expected = row_content_sha256(self.raw_values)
        if self.content_sha256 != expected:
            yield Violation(
                ReasonCode.CONTRACT_ROW_CONTENT_HASH,
                "content_sha256",
                f"does not match raw_values (their canonical SHA-256 is {expected})",
            )
