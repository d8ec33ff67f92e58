"""The model registry by family and major, and the public surface of velocity_stream.contracts."""

from __future__ import annotations

from types import ModuleType

import pytest

import velocity_stream.contracts as contracts
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.contracts.registry import MODELS, all_models, family_name, majors_of, model_for
from velocity_stream.errors import ConfigError


def test_model_for_takes_any_form_of_the_family_name() -> None:
    for name in ("QdSignalBundle", "qd_signal_bundle", "qd-signal-bundle", "QDSIGNALBUNDLE"):
        assert model_for(name) is contracts.QdSignalBundle
    assert family_name("client360-snapshot") == "Client360Snapshot"


def test_model_for_defaults_to_the_latest_major() -> None:
    for family in MODELS:
        assert model_for(family) is MODELS[family][max(majors_of(family))]


def test_unknown_family_or_major_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no contract model for family 'Lead'"):
        model_for("Lead")
    with pytest.raises(ConfigError, match="no contract model for major 7"):
        model_for("RawImportBatch", 7)


def test_each_model_declares_its_family_and_a_released_version_of_its_major() -> None:
    for family, by_major in MODELS.items():
        for major, model in by_major.items():
            assert family == model.FAMILY
            assert int(model.SCHEMA_VERSION.split(".")[0]) == major
    assert len(all_models()) == sum(len(m) for m in MODELS.values())


def test_all_lists_exactly_the_public_names() -> None:
    # exports are imported on first use (the CLI starts without the models): each resolves;
    # submodules and the __future__ import are attributes of the package but not its API
    assert set(contracts.__all__) == set(contracts._EXPORTS)
    assert all(getattr(contracts, name) is not None for name in contracts.__all__)
    public = {
        name
        for name, value in vars(contracts).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert public - {"annotations", "TYPE_CHECKING"} == set(contracts.__all__)
    assert len(contracts.__all__) == len(set(contracts.__all__))


def test_every_latest_model_is_exported_by_its_artifact_name() -> None:
    for family in MODELS:
        assert getattr(contracts, family) is model_for(family)
        assert family in contracts.__all__
    for name in (
        "Artifact",
        "Provenance",
        "ProvenanceOrigin",
        "validate_artifact",
        "model_for",
        "example",
    ):
        assert name in contracts.__all__
    assert issubclass(contracts.ImportMappingManifestV1, Artifact)
