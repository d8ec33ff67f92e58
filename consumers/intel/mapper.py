"""Pure: accepted InteractionBundle, TranscriptBundle and QdSignalBundle records -> intel rows.

Every major of each family is read as the family's latest model (ArtifactReader). Each
artifact is one row keyed by its domain id, stamped with its ``created_at`` (milliseconds,
zero-padded) and its artifact id: the newest copy wins, whatever the arrival order. A
transcript's speaker segments and a signal's evidence refs are rows owned by it, replaced
with it. A transcript reaches its client through ``intel_interactions``
(``interaction_ref`` = ``bundle_id``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from consumers.intel.tables import IntelTables
from consumers.reading import ArtifactReader
from consumers.sink.topics import accepted_topics
from consumers.sink.writes import Upsert, Writes
from velocity_stream.contracts.catalog import Catalog, Family
from velocity_stream.contracts.interaction import InteractionBundle
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.contracts.qd_signal import QdSignalBundle
from velocity_stream.contracts.transcript import TranscriptBundle
from velocity_stream.protocol.records import InboundMessage

FAMILIES = (InteractionBundle.FAMILY, TranscriptBundle.FAMILY, QdSignalBundle.FAMILY)
STAMP_DIGITS = 15  # milliseconds since the epoch, zero-padded: good until year 33658
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def millis(moment: datetime) -> int:
    return (moment - _EPOCH) // _MS


def stamp(artifact: Artifact) -> str:
    """Newer ``created_at`` wins; the artifact id breaks ties."""
    return f"{millis(artifact.created_at):0{STAMP_DIGITS}d}|{artifact.artifact_id}"


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class IntelMapper:
    name = "intel"

    def __init__(self, tables: IntelTables) -> None:
        self.tables = tables
        self._topics: dict[str, tuple[Family, int]] = {}

    def topics(self, catalog: Catalog, topic_prefix: str) -> list[str]:
        self._topics = accepted_topics(catalog, topic_prefix, FAMILIES)
        return sorted(self._topics)

    def map(self, message: InboundMessage, reader: ArtifactReader) -> Writes:
        if not self._topics:
            self.topics(reader.catalog, reader.prefix)
        family, major = self._topics[message.topic]
        return self.writes(reader.read(message.value, family, major))

    def writes(self, artifact: Artifact) -> Writes:
        if isinstance(artifact, InteractionBundle):
            return Writes([self.interaction(artifact)])
        if isinstance(artifact, TranscriptBundle):
            return Writes([self.transcript(artifact)])
        if isinstance(artifact, QdSignalBundle):
            return Writes([self.signal(artifact)])
        raise TypeError(f"not an intel artifact: {type(artifact).__name__}")

    def interaction(self, bundle: InteractionBundle) -> Upsert:
        row = {
            "bundle_id": bundle.bundle_id,
            "artifact_id": bundle.artifact_id,
            "client_ref": bundle.client_ref,
            "channel": bundle.channel.value,
            "occurred_at_ms": millis(bundle.created_at),
            "summary": bundle.summary,
            "thread_ref": bundle.thread_ref,
            "event_refs": _json(list(bundle.event_refs)),
            "attachments": _json([a.model_dump(mode="json") for a in bundle.attachments]),
            "source_system": bundle.source_system,
            "stamp": stamp(bundle),
        }
        return Upsert(self.tables.interactions, row)

    def transcript(self, bundle: TranscriptBundle) -> Upsert:
        row = {
            "transcript_id": bundle.transcript_id,
            "artifact_id": bundle.artifact_id,
            "interaction_ref": bundle.interaction_ref,
            "media_ref": bundle.media_ref,
            "language": bundle.language,
            "duration_ms": bundle.duration_ms,
            "text": bundle.text,
            "created_at_ms": millis(bundle.created_at),
            "source_system": bundle.source_system,
            "stamp": stamp(bundle),
        }
        segments = [
            {
                "transcript_id": bundle.transcript_id,
                "seq": seq,
                "speaker": segment.speaker,
                "start_ms": segment.start_ms,
                "end_ms": segment.end_ms,
                "text": segment.text,
            }
            for seq, segment in enumerate(bundle.speaker_segments)
        ]
        return Upsert(self.tables.transcripts, row, children={self.tables.segments: segments})

    def signal(self, bundle: QdSignalBundle) -> Upsert:
        operator = bundle.operator_input
        row = {
            "signal_id": bundle.signal_id,
            "artifact_id": bundle.artifact_id,
            "client_ref": bundle.client_ref,
            "source_ref": bundle.source_ref,
            "score_type": bundle.score_type,
            "value": bundle.value,
            "window_start_ms": millis(bundle.time_window.start),
            "window_end_ms": millis(bundle.time_window.end),
            "operator_ref": operator.operator_ref if operator is not None else None,
            "created_at_ms": millis(bundle.created_at),
            "source_system": bundle.source_system,
            "stamp": stamp(bundle),
        }
        evidence = [
            {"signal_id": bundle.signal_id, "ref": ref}
            for ref in dict.fromkeys(bundle.supporting_evidence_refs)
        ]
        return Upsert(self.tables.signals, row, children={self.tables.evidence: evidence})
