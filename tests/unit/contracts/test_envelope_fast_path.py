"""Validation asks ``_envelope_holds`` (one expression) before it runs the envelope's rules:
it must say True exactly when ``_envelope_rules`` yields nothing, for any envelope, and the
refusals (their codes, paths and messages) must be the rules' as before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from velocity_stream.contracts.examples import example
from velocity_stream.contracts.metadata import Provenance, ProvenanceOrigin, validate_artifact
from velocity_stream.contracts.registry import MODELS, model_for
from velocity_stream.errors import ContractError

_VERSIONS = st.one_of(
    st.sampled_from(
        ["1.0.0", "1.1.0", "1.7.3", "2.0.0", "0.1.0", "01.0.0", "1.0", "1.0.0\n", "1.0.0 ", ""]
    ),
    st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True),
    st.text(max_size=8),
)
_CONFIDENCES = st.one_of(
    st.sampled_from([0.0, 1.0, -0.0, 1.0000001, -1e-300, float("nan"), float("inf")]),
    st.floats(allow_nan=True, allow_infinity=True),
)


@settings(max_examples=300, deadline=None)
@given(
    family=st.sampled_from(list(MODELS)),
    other_type=st.booleans(),
    version=_VERSIONS,
    confidence=_CONFIDENCES,
    origin=st.sampled_from(list(ProvenanceOrigin)),
    refs=st.sampled_from([(), ("src:1",)]),
)
def test_envelope_holds_exactly_when_its_rules_yield_nothing(
    family: str,
    other_type: bool,
    version: str,
    confidence: float,
    origin: ProvenanceOrigin,
    refs: tuple[str, ...],
) -> None:
    artifact = example(family)
    built = type(artifact).model_construct(
        **{
            **dict(artifact),
            "artifact_type": "Other" if other_type else artifact.FAMILY,
            "schema_version": version,
            "confidence": confidence,
            "provenance": Provenance(origin=origin, source_refs=refs),
        }
    )
    assert built._envelope_holds() is (not list(built._envelope_rules()))


@pytest.mark.parametrize("family", list(MODELS))
def test_every_envelope_rule_still_refuses_with_its_message(family: str) -> None:
    artifact = example(family)
    data = artifact.to_avro() | {
        "artifact_type": "Other",
        "schema_version": "9.0.0",
        "confidence": 2.0,
        "provenance": {"origin": "AI", "source_refs": []},
        "created_at": datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC),
    }
    with pytest.raises(ContractError) as caught:
        validate_artifact(model_for(family), data)
    major = artifact.SCHEMA_VERSION.split(".")[0]
    found = [(v.code.value, v.path, v.message) for v in caught.value.violations]
    assert found[:4] == [
        (
            "contract.artifact_type_mismatch",
            "artifact_type",
            f"is 'Other', this contract is {artifact.FAMILY!r}",
        ),
        (
            "contract.schema_version_mismatch",
            "schema_version",
            f"is '9.0.0', expected a semantic version of major {major} "
            f"(model {artifact.SCHEMA_VERSION})",
        ),
        ("contract.confidence_range", "confidence", "is 2.0, must lie within [0, 1]"),
        (
            "contract.provenance_refs_required",
            "provenance.source_refs",
            "AI content must name the sources it was made from",
        ),
    ]


@pytest.mark.parametrize(
    ("microsecond", "kept"), [(0, 0), (1_000, 1_000), (981_654, 981_000), (999, 0)]
)
def test_timestamps_are_cut_to_whole_milliseconds(microsecond: int, kept: int) -> None:
    moment = datetime(2026, 11, 27, 4, 2, 42, microsecond, tzinfo=UTC)
    artifact = example("RawImportBatch")
    built = validate_artifact(type(artifact), artifact.to_avro() | {"created_at": moment})
    assert built.created_at == moment.replace(microsecond=kept)
    assert built.created_at.tzinfo is UTC
