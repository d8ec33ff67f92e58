from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver

ROOT = Path(__file__).resolve().parents[3] / "avro_schemas"


def test_timestamps_keep_milliseconds_so_a_round_trip_is_equal() -> None:
    catalog = load_catalog(ROOT)
    serde = AvroSerde(catalog, InMemorySchemaResolver(), "velocity")
    now = datetime(2026, 11, 27, 4, 2, 42, 981_654, tzinfo=UTC)
    data = example("ApprovalDecision").model_dump()
    data.update(created_at=now, decided_at=now)
    decision = type(example("ApprovalDecision")).model_validate(data)
    assert decision.created_at.microsecond == 981_000
    assert decision.decided_at.microsecond == 981_000
    assert serde.decode(serde.encode(decision), catalog.family("ApprovalDecision")) == decision
