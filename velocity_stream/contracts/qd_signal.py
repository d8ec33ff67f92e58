"""QdSignalBundle: a QD score over a time window, tied to its evidence or to an operator."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from velocity_stream.contracts.metadata import Artifact, ContractModel, Timestamp
from velocity_stream.errors import ReasonCode, Violation


class TimeWindow(ContractModel):
    """Half-open interval [start, end) the score describes."""

    start: Timestamp
    end: Timestamp


class OperatorInput(ContractModel):
    """A human's explicit statement standing in for (or beside) machine evidence."""

    operator_ref: str = Field(min_length=1)
    note: str = Field(min_length=1)


class QdSignalBundle(Artifact):
    FAMILY = "QdSignalBundle"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "QdSignalBundle"
    schema_version: str = "1.0.0"
    signal_id: str = Field(min_length=1)
    client_ref: str = Field(min_length=1)
    source_ref: str = Field(min_length=1)
    score_type: str = Field(min_length=1)
    # NaN and infinities encode in Avro but compare and aggregate to nonsense downstream.
    value: float = Field(allow_inf_nan=False)
    time_window: TimeWindow
    supporting_evidence_refs: tuple[str, ...]
    operator_input: OperatorInput | None = None

    def rules(self) -> Iterator[Violation]:
        if not self.supporting_evidence_refs and self.operator_input is None:
            yield Violation(
                ReasonCode.CONTRACT_QD_EVIDENCE_REQUIRED,
                "supporting_evidence_refs",
                "a score needs evidence refs or explicit operator_input",
            )
        if self.time_window.end <= self.time_window.start:
            yield Violation(
                ReasonCode.CONTRACT_QD_TIME_WINDOW,
                "time_window.end",
                f"{self.time_window.end.isoformat()} is not after the window start "
                f"{self.time_window.start.isoformat()}",
            )
