"""Artifacts are immutable values that remember whether validation built them.

The producer trusts that mark instead of validating twice, so every way of making an
artifact without validation must leave it unmarked, and nothing may change a marked one.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from velocity_stream.contracts import example
from velocity_stream.contracts.metadata import FrozenMap, ensure_valid, validate_artifact
from velocity_stream.errors import ContractError, ReasonCode


def test_validation_marks_an_artifact_however_it_is_built() -> None:
    artifact = example("InteractionBundle")
    model = type(artifact)
    assert artifact.validated
    assert validate_artifact(model, artifact.to_avro()).validated
    assert model.model_validate_json(artifact.model_dump_json()).validated
    assert model(**dict(artifact)).validated


def test_skipping_validation_leaves_an_artifact_unmarked() -> None:
    artifact = example("InteractionBundle")
    assert not type(artifact).model_construct(**dict(artifact)).validated
    assert not artifact.model_copy(update={"summary": "changed"}).validated


@pytest.mark.parametrize(
    "duplicate",
    [lambda a: a.model_copy(), copy.copy, copy.deepcopy, lambda a: pickle.loads(pickle.dumps(a))],
)
def test_copies_without_changes_stay_marked_and_equal(duplicate: Callable[[Any], Any]) -> None:
    artifact = example("ImportRowRecord")
    twin = duplicate(artifact)
    assert twin.validated
    assert twin == artifact
    assert isinstance(twin.raw_values, FrozenMap)


def test_the_mark_is_not_part_of_equality() -> None:
    artifact = example("QdSignalBundle")
    unmarked = type(artifact).model_construct(**dict(artifact))
    assert unmarked == artifact
    assert hash(unmarked) == hash(artifact)


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.__setitem__("k", "v"),
        lambda m: m.__delitem__(next(iter(m))),
        lambda m: m.update(k="v"),
        lambda m: m.setdefault("k", "v"),
        lambda m: m.pop(next(iter(m))),
        lambda m: m.popitem(),
        lambda m: m.clear(),
        lambda m: m.__ior__({"k": "v"}),
    ],
)
def test_map_fields_refuse_changes(change: Callable[[FrozenMap[str, str]], object]) -> None:
    artifact = example("ImportRowRecord")
    before = dict(artifact.raw_values)
    with pytest.raises(TypeError, match="immutable"):
        change(artifact.raw_values)
    assert artifact.raw_values == before


def test_every_map_field_is_frozen_also_when_defaulted() -> None:
    delta = example("ClientGraphDelta")
    for operation in delta.operations:
        assert isinstance(operation.attributes, FrozenMap)
    assert isinstance(example("NormalizedEntityProposal").canonical_payload, FrozenMap)


def test_ensure_valid_trusts_the_mark_and_checks_everything_else() -> None:
    artifact = example("QdSignalBundle")
    assert ensure_valid(artifact) is artifact

    renamed = artifact.model_copy(update={"artifact_id": "art:renamed"})
    rebuilt = ensure_valid(renamed)
    assert rebuilt.validated and rebuilt == renamed

    broken = artifact.model_copy(update={"confidence": 1.5})
    with pytest.raises(ContractError) as caught:
        ensure_valid(broken)
    assert caught.value.code is ReasonCode.CONTRACT_CONFIDENCE_RANGE
