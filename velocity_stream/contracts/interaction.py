"""InteractionBundle: one interaction thread or event cluster, with its raw event refs."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from pydantic import Field

from velocity_stream.contracts.metadata import Artifact, ContractModel
from velocity_stream.errors import ReasonCode, Violation


class InteractionChannel(StrEnum):
    EMAIL = "EMAIL"
    CALL = "CALL"
    SMS = "SMS"
    CHAT = "CHAT"
    MEETING = "MEETING"
    VISIT = "VISIT"
    OTHER = "OTHER"


class Attachment(ContractModel):
    ref: str = Field(min_length=1)
    media_type: str = Field(min_length=1)
    filename: str | None = None


class InteractionBundle(Artifact):
    FAMILY = "InteractionBundle"
    SCHEMA_VERSION = "1.1.0"

    artifact_type: str = "InteractionBundle"
    schema_version: str = "1.1.0"
    bundle_id: str = Field(min_length=1)
    client_ref: str = Field(min_length=1)
    channel: InteractionChannel
    event_refs: tuple[str, ...]
    attachments: tuple[Attachment, ...]
    summary: str | None = None
    # 1.1.0: optional with a default, so 1.0.0 data still reads (it gets None).
    thread_ref: str | None = None

    def rules(self) -> Iterator[Violation]:
        # A summary replaces nothing: the raw events it summarizes must stay reachable.
        if self.summary is not None and not self.event_refs:
            yield Violation(
                ReasonCode.CONTRACT_INTERACTION_EVENT_REFS_REQUIRED,
                "event_refs",
                "a summarized bundle must keep the raw event refs it summarizes",
            )
