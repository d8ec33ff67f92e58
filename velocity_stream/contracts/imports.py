"""RawImportBatch and ImportRowRecord: an uploaded file and its rows, kept exactly as received.

The row hash lets every later stage prove that it still holds the bytes the importer saw;
:func:`row_content_sha256` is the one canonical encoding producers and the model share.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping

from pydantic import Field

from velocity_stream.contracts.metadata import Artifact, FrozenMap, StrMap
from velocity_stream.errors import ReasonCode, Violation

try:  # built by `pip install`; optional, so an install without a C compiler still works
    from velocity_stream.contracts import _fastcanon
except ImportError:  # pragma: no cover - exercised only where the build was skipped
    _fastcanon = None  # type: ignore[assignment]

NATIVE_CANONICAL = _fastcanon is not None
# The maps the native encoding reads directly (a row as validated is a FrozenMap).
_DICTS = (dict, FrozenMap)

# Lower-case hex of a SHA-256 digest; upper case is refused so that equal content has one text.
SHA256_HEX = r"^[0-9a-f]{64}$"


# An empty SHA-256 state that each row's hash starts as a copy of: ``hashlib.sha256()`` looks
# the digest up in OpenSSL again on every call, which cost as much as hashing a row. Never
# updated itself, so threads share it safely.
_EMPTY_SHA256 = hashlib.sha256()


def row_content_sha256(raw_values: Mapping[str, str]) -> str:
    """SHA-256 hex of a row's canonical encoding (:func:`canonical_row`)."""
    digest = _EMPTY_SHA256.copy()
    digest.update(canonical_row(raw_values))
    return digest.hexdigest()


def canonical_row(raw_values: Mapping[str, str]) -> bytes:
    """A row's canonical encoding: JSON, sorted keys, no spaces, UTF-8.

    ``ensure_ascii=False`` keeps non-ASCII cell text as its UTF-8 bytes, so the hash does
    not depend on how a producer's JSON library escapes characters. The native encoding
    (contracts/_fastcanon.pyx) writes the same bytes for a dict of strings at a sixth of the
    cost; anything else is :func:`reference_canonical_row`'s.
    """
    if NATIVE_CANONICAL and type(raw_values) in _DICTS:
        canonical = _fastcanon.canonical_row(raw_values)  # type: ignore[arg-type]
        if canonical is not None:
            return canonical
    return reference_canonical_row(raw_values)


def reference_canonical_row(raw_values: Mapping[str, str]) -> bytes:
    """The definition of :func:`canonical_row`, which the native encoding is held to."""
    canonical = json.dumps(
        dict(raw_values), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return canonical.encode("utf-8")


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
