"""Every family's example holds its contract and survives Avro and JSON round trips."""

from __future__ import annotations

import pytest

from tests.unit.contracts.conftest import avro_round_trip
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.metadata import validate_artifact
from velocity_stream.contracts.registry import MODELS, all_models, model_for

FAMILY_MAJORS = [(family, major) for family in MODELS for major in sorted(MODELS[family])]


def test_catalog_and_model_registry_name_the_same_families(catalog: Catalog) -> None:
    assert {f.name for f in catalog.all_families()} == set(MODELS)
    for family in catalog.all_families():
        assert set(family.majors()) == set(MODELS[family.name])


@pytest.mark.parametrize(("family", "major"), FAMILY_MAJORS)
def test_example_is_valid_and_of_its_family(family: str, major: int) -> None:
    artifact = example(family, major)
    assert type(artifact) is model_for(family, major)
    assert artifact.artifact_type == family
    assert artifact.schema_version == artifact.SCHEMA_VERSION
    assert validate_artifact(type(artifact), artifact.model_dump()) == artifact


@pytest.mark.parametrize(("family", "major"), FAMILY_MAJORS)
def test_example_survives_an_avro_round_trip(family: str, major: int) -> None:
    artifact = example(family, major)
    assert avro_round_trip(artifact) == artifact


@pytest.mark.parametrize(("family", "major"), FAMILY_MAJORS)
def test_example_survives_a_json_round_trip(family: str, major: int) -> None:
    artifact = example(family, major)
    model = type(artifact)
    assert model.model_validate_json(artifact.model_dump_json()) == artifact


@pytest.mark.parametrize("family", list(MODELS))
def test_examples_are_deterministic(family: str) -> None:
    assert example(family).model_dump_json() == example(family).model_dump_json()


def test_example_accepts_snake_and_kebab_family_names() -> None:
    assert type(example("qd_signal_bundle")) is model_for("QdSignalBundle")
    assert type(example("qd-signal-bundle")) is model_for("QdSignalBundle")


def test_every_key_field_is_a_model_field(catalog: Catalog) -> None:
    for model in all_models():
        family = catalog.family(model.FAMILY)
        assert family.key_field in model.model_fields, model.__name__
        key = getattr(
            example(model.FAMILY, int(model.SCHEMA_VERSION.split(".")[0])), family.key_field
        )
        assert isinstance(key, str) and key
