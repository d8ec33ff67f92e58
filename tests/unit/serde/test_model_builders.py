"""Models outside the catalog: whatever pydantic feature a model uses, the compiled reader
builds what ``model_validate`` builds from fastavro's record, or refuses where it refuses.

The contract models use a few features (lengths, enums, after-validators); these use the
others, which the builders hand to pydantic-core or leave to the validated path.
"""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tests.unit.serde.avro_data import (
    RUNNERS,
    avro_data,
    fastavro_read,
    fastavro_write,
    outcome,
    same,
)
from velocity_stream.serde.builders import ModelShaper
from velocity_stream.serde.reader import compile_reader


class Inner(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern=r"^[a-c]+$")
    size: int = Field(ge=0, lt=100)


class Plain(BaseModel):
    name: str = Field(min_length=2, max_length=5)
    ratio: float = Field(allow_inf_nan=False, gt=-1.0)
    inner: Inner
    many: list[Inner]
    tags: dict[str, int]
    maybe: Inner | None = None

    @field_validator("name")
    @classmethod
    def _no_x(cls, value: str) -> str:
        if "x" in value:
            raise ValueError("no x")
        return value.upper()

    @model_validator(mode="after")
    def _ratio_and_size(self) -> Plain:
        if self.ratio > self.inner.size:
            raise ValueError("ratio above size")
        return self


class WithInfo(BaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def _info(cls, value: str, info: ValidationInfo) -> str:
        return f"{info.field_name}={value}"


class Before(BaseModel):
    name: Annotated[str, BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v)]
    count: Annotated[int, AfterValidator(lambda v: v * 2)]

    @model_validator(mode="before")
    @classmethod
    def _keep(cls, data: Any) -> Any:
        return data


class Extra(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    name: str


INNER_SCHEMA = {
    "type": "record",
    "name": "Inner",
    "fields": [{"name": "code", "type": "string"}, {"name": "size", "type": "long"}],
}
SCHEMAS: dict[str, tuple[type[BaseModel], dict[str, Any]]] = {
    "plain": (
        Plain,
        {
            "type": "record",
            "name": "Plain",
            "fields": [
                {"name": "name", "type": "string"},
                {"name": "ratio", "type": "double"},
                {"name": "inner", "type": INNER_SCHEMA},
                {"name": "many", "type": {"type": "array", "items": "Inner"}},
                {"name": "tags", "type": {"type": "map", "values": "int"}},
                {"name": "maybe", "type": ["null", "Inner"], "default": None},
            ],
        },
    ),
    "info": (
        WithInfo,
        {"type": "record", "name": "W", "fields": [{"name": "name", "type": "string"}]},
    ),
    "before": (
        Before,
        {
            "type": "record",
            "name": "B",
            "fields": [{"name": "name", "type": "string"}, {"name": "count", "type": "long"}],
        },
    ),
    "extra": (
        Extra,
        {"type": "record", "name": "E", "fields": [{"name": "name", "type": "string"}]},
    ),
}
# Small alphabets, so that values pass the checks often enough to be built.
SMALL = st.text("abcx ", max_size=6)


@RUNNERS
@pytest.mark.parametrize("name", sorted(SCHEMAS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_model_is_the_validated_one_or_the_reader_refuses(
    native: bool, name: str, data: Any
) -> None:
    model, schema = SCHEMAS[name]
    shaper = ModelShaper(model)
    read = compile_reader(schema, shaper=shaper, target=shaper.root, native=native)
    record = data.draw(avro_data(schema))
    if "name" in record:
        record["name"] = data.draw(SMALL)
    body = fastavro_write(schema, record)
    ours = outcome(lambda: read(body))
    theirs = outcome(lambda: model.model_validate(fastavro_read(schema, schema, body)))
    if theirs[0] == "value":
        assert ours[0] == "value", ours
        assert same(ours[1], theirs[1])
    else:
        assert ours[0] != "value"


def test_a_plain_model_is_built_without_validation() -> None:
    # The fast path is really taken: valid data comes out of the builders, not pydantic.
    model, schema = SCHEMAS["plain"]
    shaper = ModelShaper(model)
    read = compile_reader(schema, shaper=shaper, target=shaper.root)
    inner = {"code": "ab", "size": 5}
    record = {"name": "abc", "ratio": 0.5, "inner": inner, "many": [inner], "tags": {"t": 1}}
    built = read(fastavro_write(schema, {**record, "maybe": None}))
    assert same(built, Plain.model_validate({**record, "maybe": None}))
    assert built.name == "ABC"
    # Only Inner.code's pattern is checked by pydantic-core, and nothing else.
    assert shaper.delegated
    assert all(schema == {"type": "str", "pattern": "^[a-c]+$"} for schema in shaper.delegated)
