from __future__ import annotations

from collections.abc import Iterator

import pytest

from velocity_stream.contracts import registry
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.errors import ConfigError


class GadgetNote(Artifact):
    FAMILY = "GadgetNote"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "GadgetNote"
    schema_version: str = "1.0.0"
    note: str


@pytest.fixture
def restored_registry() -> Iterator[None]:
    models, keys = dict(registry._MODELS), dict(registry._BY_KEY)
    yield
    registry._MODELS.clear()
    registry._MODELS.update(models)
    registry._BY_KEY.clear()
    registry._BY_KEY.update(keys)


@pytest.mark.usefixtures("restored_registry")
def test_a_family_defined_elsewhere_joins_the_registry() -> None:
    registry.register_model(GadgetNote)
    assert registry.model_for("gadget-note") is GadgetNote
    registry.register_model(GadgetNote)  # the same model again is a no-op

    class OtherGadgetNote(GadgetNote):
        pass

    with pytest.raises(ConfigError, match="already has a model for major 1"):
        registry.register_model(OtherGadgetNote)
