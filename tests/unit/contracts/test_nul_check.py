"""The fast NUL checks (native and compiled per model class) answer exactly as the walk does,
and the contract refuses what it refused when it searched the JSON pydantic writes, with the
same violations: kept here as the reference (``old_holds_nul``)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any, NamedTuple
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticSerializationError, to_json

from tests.unit.contracts.strategies import STRATEGIES
from velocity_stream.contracts import _fastnul, metadata, nul_check
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.interaction import Attachment
from velocity_stream.contracts.metadata import Artifact, FrozenMap, Provenance, validate_artifact
from velocity_stream.contracts.nul_check import compile_check, compiled_holds_nul
from velocity_stream.contracts.nul_walk import nul_paths, walk_holds_nul
from velocity_stream.contracts.registry import model_for
from velocity_stream.errors import ContractError

Check = Callable[[Any], bool]
CHECKS = pytest.mark.parametrize(
    "check", [_fastnul.holds_nul, compiled_holds_nul], ids=["native", "python"]
)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# what goes into a string: U+0000, and text that only spells it (JSON escapes the backslash)
INSERTS = st.sampled_from(["\x00", "\\u0000", "\u2400", "\x00\x00"])


def old_holds_nul(artifact: Artifact) -> bool:
    """The check before this one: U+0000 as JSON writes it, in the JSON of the artifact."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a plain string in an enum field warns
            return b"\\u0000" in to_json(artifact, bytes_mode="base64")
    except (PydanticSerializationError, ValueError):
        return True


def rule_paths(check: Check, artifact: Artifact) -> list[str]:
    """The paths the contract's NUL rule names with ``check`` as its first question."""
    return list(nul_paths(artifact, "")) if check(artifact) else []


# --- places of strings, and changing one ----------------------------------------------

Path = tuple[Any, ...]


class Place(NamedTuple):
    path: Path  # field names, indexes and map keys down to a string
    key: bool  # the string is the last map key of the path, not a value


def places(value: object, path: Path = ()) -> Iterator[Place]:
    """Every string in a model or in plain data, map keys included (as the walk goes)."""
    if isinstance(value, str):
        yield Place(path, False)
        return
    if isinstance(value, BaseModel):
        items: Any = value.__dict__.items()
    elif isinstance(value, tuple | list):
        items = enumerate(value)
    elif isinstance(value, dict):
        yield from (Place((*path, key), True) for key in value if isinstance(key, str))
        items = value.items()
    else:
        return
    for name, item in items:
        yield from places(item, (*path, name))


def changed(value: Any, place: Place, change: Callable[[str], str]) -> Any:
    """A copy of ``value`` with the string at ``place`` changed. Models are copied with
    ``model_copy``, so each stays its class with its fields, unvalidated."""
    head, *rest = place.path
    if isinstance(value, dict) and place.key and not rest:
        return type(value)({(change(k) if k == head else k): v for k, v in value.items()})
    inner = Place(tuple(rest), place.key)

    def at(item: Any) -> Any:
        return change(item) if not rest else changed(item, inner, change)

    if isinstance(value, BaseModel):
        return value.model_copy(update={head: at(value.__dict__[head])})
    if isinstance(value, dict):
        return type(value)({k: (at(v) if k == head else v) for k, v in value.items()})
    return type(value)(at(item) if index == head else item for index, item in enumerate(value))


@st.composite
def with_inserts(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with text from INSERTS put into up to four of its strings; map keys, which
    are few, are as likely to be picked as the other strings."""
    found = list(places(value))
    groups = [p for p in found if p.key], [p for p in found if not p.key]
    pick = st.one_of(*(st.sampled_from(group) for group in groups if group))
    for place in draw(st.lists(pick, unique=True, max_size=4)):
        text, cut = draw(INSERTS), draw(st.integers(min_value=0, max_value=1000))

        def insert(old: str, text: str = text, cut: int = cut) -> str:
            at = cut % (len(old) + 1)
            return old[:at] + text + old[at:]

        value = changed(value, place, insert)
    return value


# --- every family ----------------------------------------------------------------------

FAMILIES = pytest.mark.parametrize(("family", "major"), sorted(STRATEGIES))


@CHECKS
@FAMILIES
@PROPERTY
@given(data=st.data())
def test_the_checks_agree_with_the_walk_and_the_old_rule_on_any_instance(
    check: Check, family: str, major: int, data: st.DataObject
) -> None:
    clean = validate_artifact(model_for(family, major), data.draw(STRATEGIES[(family, major)]))
    artifact = data.draw(with_inserts(clean))
    assert check(artifact) is walk_holds_nul(artifact)
    assert rule_paths(check, artifact) == rule_paths(old_holds_nul, artifact)


def violations_with(check: Check, model: type[Artifact], data: Any) -> list[tuple[str, ...]]:
    with patch.object(metadata, "_holds_nul", check):
        try:
            validate_artifact(model, data)
        except ContractError as error:
            return [(v.code.value, v.path, v.message) for v in error.violations]
    return []


@FAMILIES
@PROPERTY
@given(data=st.data())
def test_validation_refuses_as_it_did_with_the_same_violations(
    family: str, major: int, data: st.DataObject
) -> None:
    model = model_for(family, major)
    clean = validate_artifact(model, data.draw(STRATEGIES[(family, major)]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a plain string in an enum field warns
        document = data.draw(with_inserts(clean)).model_dump()
    before = violations_with(old_holds_nul, model, document)
    assert violations_with(_fastnul.holds_nul, model, document) == before
    assert violations_with(compiled_holds_nul, model, document) == before


def test_validation_asks_the_native_check_where_it_is_built() -> None:
    assert nul_check.NATIVE_CHECK  # built by `pip install`, as CI installs the package
    data = example("InteractionBundle").to_avro() | {"summary": "a\x00b"}
    compiled = patch.object(nul_check, "compiled_holds_nul", side_effect=AssertionError)
    with compiled, pytest.raises(ContractError, match="U\\+0000"):
        validate_artifact(model_for("InteractionBundle"), data)


def test_without_it_validation_asks_the_compiled_check() -> None:
    data = example("InteractionBundle").to_avro() | {"summary": "a\x00b"}
    native_off = patch.object(nul_check, "NATIVE_CHECK", False)
    compiled = patch.object(nul_check, "compiled_holds_nul", wraps=compiled_holds_nul)
    with native_off, compiled as asked, pytest.raises(ContractError, match="U\\+0000"):
        validate_artifact(model_for("InteractionBundle"), data)
    assert asked.call_count == 1


def value_at(value: Any, place: Place) -> Any:
    for step in place.path[:-1] if place.key else place.path:
        value = value.__dict__[step] if isinstance(value, BaseModel) else value[step]
    return place.path[-1] if place.key else value


@FAMILIES
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_the_compiled_check_of_a_validated_artifact_never_walks(
    family: str, major: int, data: st.DataObject
) -> None:
    """It reads every family's fields itself: the walk is only for values that are not what
    their field declares."""
    walked: list[object] = []

    def walk(value: object) -> bool:
        walked.append(value)
        return walk_holds_nul(value)

    artifact = validate_artifact(model_for(family, major), data.draw(STRATEGIES[(family, major)]))
    with patch.object(nul_check, "walk_holds_nul", walk):
        check = compile_check(type(artifact))
    texts = [place for place in places(artifact) if type(value_at(artifact, place)) is str]
    dirty = changed(artifact, data.draw(st.sampled_from(texts)), lambda text: text + "\x00")
    assert (check(artifact), check(dirty), walked) == (False, True, [])


# --- instances no validation made, and annotations the contract models do not use ---------


class Level(StrEnum):
    LOW = "LOW"


class Odd(StrEnum):
    BAD = "b\x00d"  # an enum symbol holding U+0000: still a string the walk looks into


class Leaf(BaseModel):
    name: str
    size: int = 0


class Tree(BaseModel):
    label: str = ""
    children: tuple[Tree, ...] = ()


class Everything(BaseModel):
    text: str = ""
    maybe: str | None = None
    anything: Any = None
    either: str | int = 0
    names: list[str] = Field(default_factory=list)
    leaves: tuple[Leaf, ...] = ()
    by_name: dict[str, list[Leaf]] = Field(default_factory=dict)
    keyed: dict[int, str] = Field(default_factory=dict)
    loose: tuple[str, int] = ("", 0)
    level: Level = Level.LOW
    odd: Odd | None = None
    leaf: Leaf | None = None
    tree: Tree = Field(default_factory=Tree)
    raw: bytes = b""
    chosen: set[str] = Field(default_factory=set)


class Renamed(BaseModel):
    value: int  # a validator that returns another type than the annotation says

    @field_validator("value", mode="wrap")
    @classmethod
    def _as_text(cls, value: Any, handler: Any) -> Any:
        return "negative\x00" if handler(value) < 0 else str(value)


class Pair(NamedTuple):
    first: str
    second: str


class BigLeaf(Leaf):
    extra: str = ""


def deep(depth: int, label: str) -> Tree:
    tree = Tree(label=label)
    for _ in range(depth):
        tree = Tree(children=(Tree(), tree))
    return tree


ODD_VALUES: dict[str, Any] = {
    "text": "a\x00",
    "maybe": "\x00",
    "anything": {"k": ["x", ("y", {"z\x00": 1})]},
    "either": "e\x00",
    "names": ["ok", "n\x00"],
    "leaves": (Leaf(name="ok"), Leaf(name="l\x00")),
    "by_name": {"a": [Leaf(name="ok")], "b": [Leaf(name="\x00")]},
    "keyed": {1: "v\x00"},
    "loose": ("l\x00", 1),
    "odd": Odd.BAD,
    "leaf": Leaf(name="\x00"),
    "tree": deep(10, "deep\x00"),
    "chosen": {"s\x00"},  # the walk never looks into a set: no path to name
}
# values no validation of these annotations would give, each with a NUL somewhere
CONSTRUCTED: dict[str, Any] = {
    "text": ["t\x00"],
    "level": "L\x00",
    "names": ("tuple", "not list\x00"),
    "leaves": [Leaf(name="a list\x00")],
    "by_name": {"a": (Leaf(name="\x00"),)},
    "leaf": BigLeaf(name="ok", extra="\x00"),
    "raw": "text in bytes\x00",
    "loose": Pair("a", "\x00"),
    "keyed": FrozenMap({"\x00": "str key"}),
}


@CHECKS
@pytest.mark.parametrize("field", list(ODD_VALUES))
def test_every_annotation_is_checked_as_the_walk_checks_it(check: Check, field: str) -> None:
    clean = Everything()
    dirty = Everything(**{field: ODD_VALUES[field]})
    assert (check(clean), check(dirty)) == (False, walk_holds_nul(dirty))
    assert walk_holds_nul(dirty) is (field != "chosen")


@CHECKS
@pytest.mark.parametrize("field", list(CONSTRUCTED))
def test_values_that_are_not_what_their_field_declares_are_walked(check: Check, field: str) -> None:
    values = {**Everything().__dict__, field: CONSTRUCTED[field]}
    assert check(Everything.model_construct(**values)) is True
    # without their NUL, the same shapes hold none
    clean = {**values, field: _without_nul(CONSTRUCTED[field])}
    assert check(Everything.model_construct(**clean)) is False


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, BaseModel):
        return type(value).model_construct(**_without_nul(dict(value.__dict__)))
    if isinstance(value, Pair):
        return Pair(*map(_without_nul, value))
    if isinstance(value, tuple | list):
        return type(value)(map(_without_nul, value))
    if isinstance(value, dict):
        return type(value)({_without_nul(k): _without_nul(v) for k, v in value.items()})
    return value


@CHECKS
def test_missing_and_added_fields_are_walked(check: Check) -> None:
    missing = Leaf.model_construct(name="ok")
    del missing.__dict__["size"]
    added = Leaf(name="ok")
    added.__dict__["note"] = "\x00"
    assert (check(missing), check(added)) == (False, True)


@CHECKS
def test_a_validator_that_changes_the_type_is_followed(check: Check) -> None:
    assert (check(Renamed(value=1)), check(Renamed(value=-1))) == (False, True)


@CHECKS
def test_a_cycle_raises_recursion_error_as_the_walk_does(check: Check) -> None:
    cycle: list[Any] = ["ok"]
    cycle.append(cycle)
    model = Provenance.model_construct(origin="AI", source_refs=cycle, method=None, model=None)
    with pytest.raises(RecursionError):
        walk_holds_nul(model)
    with pytest.raises(RecursionError):
        check(model)


@CHECKS
def test_nested_contract_records_from_model_construct_are_walked(check: Check) -> None:
    artifact = example("InteractionBundle")
    attachment = Attachment.model_construct(ref=("a", "b\x00"), media_type="x", filename=None)
    odd = artifact.model_copy(update={"attachments": (attachment,)})
    assert check(odd) is True
    assert list(nul_paths(odd, "")) == ["attachments.0.ref.1"]
