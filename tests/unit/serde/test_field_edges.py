"""At every bound and length of a model, the compiled reader answers as validation does.

The property tests of test_compiled_reader.py draw whole records, and a drawn record mostly
breaks some other rule before it reaches a given bound: the model builder's bound, length
and finiteness checks could be loosened (``le`` let through up to ``le + 1``, ``min_length``
ignored, NaN let through) and those tests still passed (docs/testing.md). Here one valid
record at a time has one field set to the value just outside a constraint, the value on it,
or NaN and the infinities, written with fastavro, and the compiled reader, on each runner,
must build what ``model_validate`` builds or refuse where it refuses; the serde then gives
the same refusal, naming that field. The positions come from the models' core schemas
(tests/unit/serde/field_edges.py), every contract family's and those of a model made here
with every constraint the model builder checks itself.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError, create_model

from tests.unit.serde.avro_data import (
    RUNNERS,
    decodes_alike,
    fastavro_read,
    fastavro_write,
    outcome,
    same,
)
from tests.unit.serde.field_edges import (
    EDGES,
    Edge,
    avro_types,
    edges,
    get_at,
    positions,
    reach,
    set_at,
    sized,
    step_for,
)
from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.contracts.metadata import validate_artifact, violations_of
from velocity_stream.contracts.registry import model_for
from velocity_stream.errors import ContractError, ReasonCode
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver, frame, reader
from velocity_stream.serde.builders import _BOUNDS, ModelShaper
from velocity_stream.serde.reader import Reader, compile_reader
from velocity_stream.settings import load_settings

CATALOG = load_catalog(load_settings().schemas_dir)
# What a field's own check (pydantic's) is reported as, as opposed to a rule of the family.
FIELD = {ReasonCode.CONTRACT_INVALID_FIELD}
# Each major of each family, internal ones too: its example written with its latest schema.
MAJORS = sorted({(f.name, v.major) for f in CATALOG.all_families() for v in f.versions})


def record_edges(model: type[BaseModel], schema: Mapping[str, Any], record: Any) -> Iterator[Edge]:
    """The edges of every position of ``model`` that ``record`` reaches."""
    avro_type = avro_types(schema)
    for position in positions(model):
        path = reach(record, position.path)
        if path is not None:
            yield from edges(position.schema, path, get_at(record, path), avro_type(path))


def validated(model: type[BaseModel], data: Any) -> BaseModel:
    """``model_validate``, its error as the serde reports it (ContractError, field paths)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ContractError(model.__name__, violations_of(error)) from None


def answers_alike(edge: Edge, ours: tuple[str, Any], theirs: tuple[str, Any]) -> None:
    """The compiled reader's answer (``ours``) against validation's for one edge."""
    if edge.outside is True:
        assert theirs[0] == "ContractError", f"{edge}: validation does not refuse it"
        paths = {violation.path for violation in theirs[1][1]}
        assert paths == {edge.dotted}, f"{edge}: refused at {paths}, not at the field alone"
    elif edge.outside is False and theirs[0] != "value":
        # On the edge the field is valid; a rule across fields may still refuse the record
        # (a decision's author must be its reviewer), but not at the field's own check.
        assert theirs[0] == "ContractError", f"{edge}: {theirs}"
        field_errors = [v for v in theirs[1][1] if v.path == edge.dotted and v.code in FIELD]
        assert not field_errors, f"{edge}: validation refuses the value on the edge"
    if theirs[0] == "value":
        assert ours[0] == "value", f"{edge}: the compiled reader refuses it: {ours}"
        assert same(ours[1], theirs[1]), f"{edge}: built {ours[1]!r}, validation {theirs[1]!r}"
    else:
        assert ours[0] != "value", f"{edge}: the compiled reader accepts {ours[1]!r}: {theirs}"


def model_reader(model: type[BaseModel], schema: Mapping[str, Any], native: bool) -> Reader:
    shaper = ModelShaper(model)
    return compile_reader(schema, shaper=shaper, target=shaper.root, native=native)


# --- every contract family --------------------------------------------------------------


@RUNNERS
@pytest.mark.parametrize(("family", "major"), MAJORS)
def test_every_edge_of_a_contract_reads_as_validation_reads_it(
    native: bool, family: str, major: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The serde's compiled readers run on this runner too.
    monkeypatch.setattr(reader, "NATIVE_READER", native)
    found = CATALOG.family(family)
    schema = found.latest_of_major(major).schema
    model = model_for(family, major)
    read = model_reader(model, schema, native)
    serde = AvroSerde(CATALOG, InMemorySchemaResolver(), "velocity")
    schema_id = serde.schema_id(found.latest_of_major(major))
    base = example(family, major).to_avro()
    checked = built = 0
    for edge in record_edges(model, schema, base):
        body = fastavro_write(schema, set_at(base, edge.path, edge.value))
        data = fastavro_read(schema, schema, body)
        theirs = outcome(functools.partial(validate_artifact, model, data))
        answers_alike(edge, outcome(functools.partial(read, body)), theirs)
        # ... and decoding gives the same model or the same refusal, naming the field.
        decodes_alike(serde, frame(schema_id, body), found, major)
        checked += edge.outside is True
        built += theirs[0] == "value"
    assert checked, f"{family} {major}: no constraint reached"
    assert built, f"{family} {major}: no edge value accepted"


def test_every_constrained_field_of_the_contracts_is_reached_by_an_example() -> None:
    # A field a family's example leaves out (an empty array, a null optional) must be
    # reached through another family's example of the same model class.
    reached: set[tuple[str, str]] = set()
    missed: set[tuple[str, str]] = set()
    for family, major in MAJORS:
        base = example(family, major).to_avro()
        for position in positions(model_for(family, major)):
            found = reach(base, position.path) is not None
            (reached if found else missed).add(position.field)
    assert reached
    assert not missed - reached, f"no example reaches {sorted(missed - reached)}"


# --- every constraint the model builder checks itself ------------------------------------

# (Avro type, Python type, bound) of the numbers; (Avro schema, Python type, value to grow
# or cut) of the sized values. Bounds below zero and not whole, so that a bound moved by one
# or by its sign is caught.
NUMBERS = [("int", int, -3), ("long", int, -3), ("float", float, -2.5), ("double", float, -2.5)]
SIZED: list[tuple[Any, Any, Any]] = [
    ("string", str, "ab"),
    ({"type": "array", "items": "long"}, list[int], [1, 2]),
    ({"type": "array", "items": "long"}, tuple[int, ...], [1, 2]),
    ({"type": "map", "values": "long"}, dict[str, int], {"k": 1}),
]
LENGTHS = {"min_length": 2, "max_length": 3}


def bounded() -> tuple[type[BaseModel], dict[str, Any], dict[str, Any]]:
    """A model with a field per constraint the model builder checks itself (its bounds,
    ``allow_inf_nan=False``, lengths), its Avro schema and a valid record of it."""
    fields: dict[str, Any] = {}
    avro: list[dict[str, Any]] = []
    record: dict[str, Any] = {}
    for avro_type, python, bound in NUMBERS:
        for key in sorted(_BOUNDS):
            name = f"{avro_type}_{key}"
            constraint: dict[str, Any] = {key: bound}
            fields[name] = (python, Field(**constraint))
            avro.append({"name": name, "type": avro_type})
            record[name] = EDGES[key](bound, step_for(python.__name__, avro_type))[1]
        if python is float:
            fields[f"{avro_type}_finite"] = (float, Field(allow_inf_nan=False))
            avro.append({"name": f"{avro_type}_finite", "type": avro_type})
            record[f"{avro_type}_finite"] = 0.5
    for index, (avro_type, python, value) in enumerate(SIZED):
        for key, size in LENGTHS.items():
            name = f"sized{index}_{key}"
            lengths: dict[str, Any] = {key: size}
            fields[name] = (python, Field(**lengths))
            avro.append({"name": name, "type": avro_type})
            record[name] = sized(value, size)
    model = create_model("Bounded", **fields)
    return model, {"type": "record", "name": "Bounded", "fields": avro}, record


BOUNDED, BOUNDED_SCHEMA, BOUNDED_RECORD = bounded()


def test_every_constraint_of_the_model_builder_has_its_edges() -> None:
    # A bound the builder learns (a key of _BOUNDS) needs its edges in field_edges.EDGES.
    assert _BOUNDS | LENGTHS.keys() <= EDGES.keys()
    # ... and the builder checks every one of them itself: nothing is left to pydantic-core.
    shaper = ModelShaper(BOUNDED)
    compile_reader(BOUNDED_SCHEMA, shaper=shaper, target=shaper.root)
    assert shaper.delegated == []


@RUNNERS
def test_every_edge_of_every_bound_and_length_reads_as_validation_reads_it(native: bool) -> None:
    read = model_reader(BOUNDED, BOUNDED_SCHEMA, native)
    refused = set()
    for edge in record_edges(BOUNDED, BOUNDED_SCHEMA, BOUNDED_RECORD):
        body = fastavro_write(BOUNDED_SCHEMA, set_at(BOUNDED_RECORD, edge.path, edge.value))
        data = fastavro_read(BOUNDED_SCHEMA, BOUNDED_SCHEMA, body)
        theirs = outcome(functools.partial(validated, BOUNDED, data))
        answers_alike(edge, outcome(functools.partial(read, body)), theirs)
        if edge.outside:
            refused.add(edge.path[0])
    # Every field had a value refused: the edges reached all of them.
    assert refused == set(BOUNDED_RECORD)
