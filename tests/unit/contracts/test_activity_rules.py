"""Rules of interaction, transcript and QD signal bundles."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.contracts.conftest import changed, violations
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.interaction import InteractionBundle
from velocity_stream.contracts.qd_signal import QdSignalBundle
from velocity_stream.contracts.transcript import TranscriptBundle

# --- InteractionBundle --------------------------------------------------------------------

BUNDLE = example("InteractionBundle")


def test_a_summarized_bundle_keeps_its_raw_event_refs() -> None:
    assert violations(InteractionBundle, changed(BUNDLE)) == set()
    data = changed(BUNDLE, {"event_refs": []})
    assert violations(InteractionBundle, data) == {
        ("contract.interaction.event_refs_required", "event_refs")
    }


def test_an_unsummarized_bundle_may_have_no_events_yet() -> None:
    assert (
        violations(InteractionBundle, changed(BUNDLE, {"event_refs": [], "summary": None})) == set()
    )


# --- TranscriptBundle ---------------------------------------------------------------------

TRANSCRIPT = example("TranscriptBundle")


def segment(start: int, end: int, speaker: str = "human:sagnik") -> dict[str, object]:
    return {"speaker": speaker, "start_ms": start, "end_ms": end, "text": "..."}


def with_segments(*segments: dict[str, object], duration_ms: int = 10_000) -> dict[str, object]:
    return changed(TRANSCRIPT, {"speaker_segments": list(segments), "duration_ms": duration_ms})


def test_ordered_in_bounds_segments_are_valid_even_when_they_overlap() -> None:
    data = with_segments(segment(0, 4_000), segment(3_500, 6_000, "p:2"), segment(3_500, 10_000))
    assert violations(TranscriptBundle, data) == set()


@pytest.mark.parametrize(("start", "end"), [(2_000, 2_000), (2_000, 1_999)])
def test_a_segment_ends_after_it_starts(start: int, end: int) -> None:
    data = with_segments(segment(0, 1_000), segment(start, end))
    assert violations(TranscriptBundle, data) == {
        ("contract.transcript.segment_bounds", "speaker_segments.1.end_ms")
    }


def test_a_segment_ends_within_the_media() -> None:
    data = with_segments(segment(0, 10_001))
    assert violations(TranscriptBundle, data) == {
        ("contract.transcript.segment_bounds", "speaker_segments.0.end_ms")
    }


def test_a_segment_starts_at_or_after_zero() -> None:
    data = with_segments(segment(-5, 100))
    assert violations(TranscriptBundle, data) == {
        ("contract.transcript.segment_bounds", "speaker_segments.0.start_ms")
    }


def test_segments_are_ordered_by_start() -> None:
    data = with_segments(segment(0, 1_000), segment(5_000, 6_000), segment(4_000, 4_500))
    assert violations(TranscriptBundle, data) == {
        ("contract.transcript.segment_order", "speaker_segments.2.start_ms")
    }


@pytest.mark.parametrize("tag", ["en", "en-US", "en-IN", "zh-Hant-TW", "es-419", "sl-rozaj", "bn"])
def test_bcp47_language_tags_are_accepted(tag: str) -> None:
    assert violations(TranscriptBundle, changed(TRANSCRIPT, {"language": tag})) == set()


@pytest.mark.parametrize("tag", ["", "english", "en_US", "e", "en-", "en US", "12-US"])
def test_other_language_values_are_refused(tag: str) -> None:
    data = changed(TRANSCRIPT, {"language": tag})
    assert violations(TranscriptBundle, data) == {("contract.invalid_field", "language")}


# --- QdSignalBundle -----------------------------------------------------------------------

SIGNAL = example("QdSignalBundle")


def test_a_score_with_evidence_and_no_operator_input_is_valid() -> None:
    assert violations(QdSignalBundle, changed(SIGNAL, {"operator_input": None})) == set()


def test_a_score_with_only_operator_input_is_valid() -> None:
    assert violations(QdSignalBundle, changed(SIGNAL, {"supporting_evidence_refs": []})) == set()


def test_a_score_with_neither_evidence_nor_operator_input_is_refused() -> None:
    data = changed(SIGNAL, {"supporting_evidence_refs": [], "operator_input": None})
    assert violations(QdSignalBundle, data) == {
        ("contract.qd_signal.evidence_required", "supporting_evidence_refs")
    }


@pytest.mark.parametrize("delta", [timedelta(0), timedelta(hours=-1)])
def test_the_window_ends_after_it_starts(delta: timedelta) -> None:
    data = changed(SIGNAL, {"time_window.end": SIGNAL.time_window.start + delta})
    assert violations(QdSignalBundle, data) == {
        ("contract.qd_signal.time_window", "time_window.end")
    }


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_score_is_a_finite_number(value: float) -> None:
    assert violations(QdSignalBundle, changed(SIGNAL, {"value": value})) == {
        ("contract.invalid_field", "value")
    }
