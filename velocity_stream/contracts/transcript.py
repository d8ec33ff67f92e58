"""TranscriptBundle: a transcript with speaker segments and timing as first-class fields."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic import Field, field_validator

from velocity_stream.contracts.metadata import Artifact, ContractModel
from velocity_stream.errors import ReasonCode, Violation

# The common shape of a BCP 47 tag: language, then optional script, region and variants
# (en, en-US, zh-Hant-TW, sl-rozaj). Extensions and private-use tags are not expected from
# a transcriber and are refused rather than half-checked.
_BCP47 = re.compile(
    r"^[A-Za-z]{2,3}"
    r"(-[A-Za-z]{4})?"
    r"(-([A-Za-z]{2}|[0-9]{3}))?"
    r"(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$"
)


class SpeakerSegment(ContractModel):
    """One speaker turn; offsets in milliseconds from the start of the media."""

    speaker: str = Field(min_length=1)
    start_ms: int
    end_ms: int
    text: str


class TranscriptBundle(Artifact):
    FAMILY = "TranscriptBundle"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "TranscriptBundle"
    schema_version: str = "1.0.0"
    transcript_id: str = Field(min_length=1)
    interaction_ref: str = Field(min_length=1)
    media_ref: str = Field(min_length=1)
    language: str
    duration_ms: int = Field(ge=0)
    text: str
    speaker_segments: tuple[SpeakerSegment, ...]

    @field_validator("language")
    @classmethod
    def _bcp47(cls, value: str) -> str:
        if not _BCP47.match(value):
            raise ValueError(f"{value!r} is not a BCP 47 language tag such as en or en-US")
        return value

    def rules(self) -> Iterator[Violation]:
        previous_start: int | None = None
        for index, segment in enumerate(self.speaker_segments):
            where = f"speaker_segments.{index}"
            if segment.start_ms < 0:
                yield Violation(
                    ReasonCode.CONTRACT_TRANSCRIPT_SEGMENT_BOUNDS,
                    f"{where}.start_ms",
                    f"is {segment.start_ms}; offsets start at 0",
                )
            if segment.end_ms <= segment.start_ms:
                yield Violation(
                    ReasonCode.CONTRACT_TRANSCRIPT_SEGMENT_BOUNDS,
                    f"{where}.end_ms",
                    f"is {segment.end_ms}; a segment ends after it starts ({segment.start_ms})",
                )
            elif segment.end_ms > self.duration_ms:
                yield Violation(
                    ReasonCode.CONTRACT_TRANSCRIPT_SEGMENT_BOUNDS,
                    f"{where}.end_ms",
                    f"is {segment.end_ms}; past the end of the media ({self.duration_ms} ms)",
                )
            # Overlap is allowed (people talk over each other); going back in time is not.
            if previous_start is not None and segment.start_ms < previous_start:
                yield Violation(
                    ReasonCode.CONTRACT_TRANSCRIPT_SEGMENT_ORDER,
                    f"{where}.start_ms",
                    f"is {segment.start_ms}; segments are ordered by start and the one "
                    f"before starts at {previous_start}",
                )
            previous_start = segment.start_ms
