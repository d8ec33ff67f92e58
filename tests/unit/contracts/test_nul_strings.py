"""No string of a contract holds U+0000: Avro would carry it, but PostgreSQL text and JSON
cannot store it, so one such record would stop every store downstream on each retry. Refused
wherever a contract model is validated (the gateway, the consumers' reader, the producer)."""

from __future__ import annotations

import json

import pytest

from tests.unit.contracts.conftest import changed, violations
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.metadata import validate_json_artifact
from velocity_stream.contracts.registry import MODELS, model_for
from velocity_stream.errors import ContractError

FAMILIES = list(MODELS)
INVALID = "contract.invalid_field"


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("text", ["\x00", "before\x00after", "end\x00"])
def test_a_nul_in_an_envelope_string_is_refused(family: str, text: str) -> None:
    data = changed(example(family), {"created_by": text})
    assert (INVALID, "created_by") in violations(model_for(family), data)


def test_every_nul_is_named_by_its_path_in_nested_records_arrays_and_maps() -> None:
    delta = example("ClientGraphDelta")
    data = changed(
        delta,
        {
            "provenance.source_refs": ["ref:ok", "ref:\x00"],
            "operations.0.attributes": {"name": "Acme\x00", "ok": "fine"},
        },
    )
    assert violations(model_for("ClientGraphDelta"), data) == {
        (INVALID, "provenance.source_refs.1"),
        (INVALID, "operations.0.attributes.name"),
    }
    keyed = changed(delta, {"operations.0.attributes": {"na\x00me": "x"}})
    assert violations(model_for("ClientGraphDelta"), keyed) == {
        (INVALID, "operations.0.attributes")
    }


def test_json_documents_are_held_to_it_too() -> None:
    model = model_for("InteractionBundle")
    document = json.loads(example("InteractionBundle").model_dump_json())
    document["summary"] = "a\x00b"
    with pytest.raises(ContractError) as raised:
        validate_json_artifact(model, json.dumps(document))  # written as \u0000
    assert [(v.code.value, v.path) for v in raised.value.violations] == [(INVALID, "summary")]


def test_text_that_only_spells_a_nul_is_kept() -> None:
    data = changed(example("InteractionBundle"), {"summary": "\\x00 and \\u0000 and \u2400"})
    assert violations(model_for("InteractionBundle"), data) == set()


@pytest.mark.parametrize("family", FAMILIES)
def test_no_released_example_holds_a_nul(family: str) -> None:
    assert "\x00" not in json.dumps(changed(example(family)), default=str)
