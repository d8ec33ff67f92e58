"""Property tests: any valid artifact of any family survives an Avro round trip unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.contracts.conftest import avro_round_trip
from tests.unit.contracts.strategies import STRATEGIES
from velocity_stream.contracts.metadata import validate_artifact
from velocity_stream.contracts.registry import MODELS, model_for


def test_every_registered_model_has_a_strategy() -> None:
    assert set(STRATEGIES) == {(f, m) for f in MODELS for m in MODELS[f]}


@pytest.mark.parametrize(("family", "major"), sorted(STRATEGIES))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_valid_artifact_round_trips_through_avro(
    family: str, major: int, data: st.DataObject
) -> None:
    model = model_for(family, major)
    artifact = validate_artifact(model, data.draw(STRATEGIES[(family, major)]))
    assert avro_round_trip(artifact) == artifact
