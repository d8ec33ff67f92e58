"""Contract models built from the values a read program reads, without a second validation.

``model_validate`` on fastavro's dict checks every field again (types, lengths, enums, time
zones) and then runs the model's own validators. The values a read program reads are
already of the Avro types, so most of that is known before a message arrives. The
:class:`ModelShaper` walks the model's pydantic core schema (what ``model_validate`` runs)
beside the reader schema, once, and keeps only what a value of that Avro type can still
fail or change:

- a length or bound (``min_length``, ``ge``, ``allow_inf_nan=False``) becomes a check;
- an enum becomes a lookup of the symbol's member, an array a tuple, a nested record the
  model built directly (``__dict__``, fields set, private attributes as validation sets
  them);
- the model's own after-validators (``rules()`` through ``_check_rules``, field validators)
  run on the built instance, as pydantic runs them; a validator with an ``__after_read__``
  attribute names the one to run instead, which may leave out what the runners prove while
  reading (no string they read holds U+0000: they refuse it);
- anything else (a pattern, a validator with ``info``, a type the Avro value is converted
  to) is handed to pydantic-core for that part alone, with the model's config, so the
  value is exactly what validation gives.

A check that fails, or a validator that raises, raises :class:`Refused`: the caller then
validates the message the usual way, which yields the same error as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined, SchemaValidator

from velocity_stream.serde.program import UnsupportedSchema
from velocity_stream.serde.read_program import (
    Build,
    Finish,
    LengthCheck,
    Refused,
    Shaper,
    SymbolLookup,
)

_set = object.__setattr__
# Keys of core schemas that do not change what validation accepts or returns.
_NEUTRAL = {"type", "metadata", "ref", "serialization"}
_BOUNDS = {"ge", "gt", "le", "lt"}
# Model config keys (as pydantic-core holds them) that change nothing here.
_CONFIG = {"title", "extra_fields_behavior"}
_FIELD = {"type", "schema", "metadata", "frozen", "serialization_alias", "serialization_exclude"}
# Private attribute defaults that one value can serve for every instance.
_IMMUTABLE = (bool, int, float, str, type(None))
# The attribute of an after-validator naming its variant for instances built here.
_AFTER_READ = "__after_read__"


@dataclass(frozen=True, slots=True)
class _Target:
    """A position in the model: its core schema and the config of the enclosing model."""

    schema: Mapping[str, Any]
    config: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class _Leaf:
    """A position pydantic-core validates itself, from fastavro's plain form."""

    schema: Mapping[str, Any]
    config: Mapping[str, Any] | None


class _NotBuilt(Exception):
    """A model this module does not build itself (pydantic-core builds it instead)."""


_NULL = object()  # the null branch of a nullable field: None, as read


class ModelShaper(Shaper):
    """Builds ``model`` (a pydantic model, usually a contract) from a read program."""

    without_nul = True  # what lets an after-validator's ``__after_read__`` variant run

    def __init__(self, model: type[BaseModel]) -> None:
        schema = model.__pydantic_core_schema__
        self.definitions: dict[str, Mapping[str, Any]] = {}
        if schema["type"] == "definitions":
            for definition in schema["definitions"]:
                self.definitions[definition["ref"]] = definition
            schema = schema["schema"]
        self.root = _Target(schema, None)
        self._validators: dict[int, Finish] = {}
        # The parts handed to pydantic-core (what this module does not check itself).
        self.delegated: list[Mapping[str, Any]] = []

    # --- the Shaper interface ---------------------------------------------------------

    def record(
        self, target: Any, name: str, fields: tuple[str, ...]
    ) -> tuple[Build, tuple[Any, ...], Finish | None]:
        if target is None or target is _NULL:
            return super().record(None, name, fields)
        if isinstance(target, _Leaf):
            build, _, _ = super().record(None, name, fields)
            return build, (None,) * len(fields), self.validator(target)
        schema, afters = self.unwrap(target.schema, nullable=True)
        made = self.model(schema, fields) if schema["type"] == "model" else None
        if made is None:
            build, _, _ = super().record(None, name, fields)
            return build, (None,) * len(fields), self.validator(_Leaf(target.schema, target.config))
        build, targets = made
        return build, targets, _chain(None, afters)

    def resolve(self, target: Any, reader: Any, kind: str) -> tuple[Any, Finish | None, bool]:
        if target is None or target is _NULL:
            return None, None, True
        if isinstance(target, _Leaf):
            return None, self.validator(target), True
        schema, afters = self.unwrap(target.schema, nullable=kind != "null")
        found = self.inline(schema, kind, target.config)
        if found is None:
            return None, self.validator(_Leaf(target.schema, target.config)), True
        parts, finish = found
        return parts, _chain(finish, afters), False

    def branch(self, target: Any, branch: Any) -> Any:
        if target is None or isinstance(target, _Leaf):
            return target
        schema = self.resolve_ref(target.schema)
        while schema["type"] == "default" and _plain_default(schema):
            schema = self.resolve_ref(schema["schema"])
        if schema["type"] == "nullable" and set(schema) <= _NEUTRAL | {"schema"}:
            return _NULL if branch == "null" else _Target(schema["schema"], target.config)
        # Not a plain optional: pydantic validates whichever branch was read.
        return _Leaf(target.schema, target.config)

    def default(self, target: Any, value: Any) -> Any:
        if target is None or target is _NULL:
            return value
        # What validation makes of the default, computed once: it is the same every time.
        leaf = target if isinstance(target, _Leaf) else _Leaf(target.schema, target.config)
        try:
            made = self.pydantic(leaf)(value)
        except Refused as error:
            raise UnsupportedSchema(f"the default {value!r} breaks the model: {error}") from None
        if not _frozen(made):
            raise UnsupportedSchema(f"the default {value!r} becomes a mutable {made!r}")
        if _holds_nul(made):  # the runners prove it of what they read, not of defaults
            raise UnsupportedSchema(f"the default {value!r} holds U+0000")
        return made

    # --- core schemas -----------------------------------------------------------------

    def resolve_ref(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while schema["type"] == "definition-ref":
            schema = self.definitions[schema["schema_ref"]]
        return schema

    def unwrap(
        self, schema: Mapping[str, Any], *, nullable: bool
    ) -> tuple[Mapping[str, Any], list[Callable[[Any], Any]]]:
        """The schema under defaults (the value is always given), optionals (when it is
        not null) and plain after-validators, with those validators innermost first."""
        afters: list[Callable[[Any], Any]] = []
        while True:
            schema = self.resolve_ref(schema)
            kind = schema["type"]
            optional = kind == "nullable" and nullable and set(schema) <= _NEUTRAL | {"schema"}
            if optional or (kind == "default" and _plain_default(schema)):
                schema = schema["schema"]
            elif (
                kind == "function-after"
                and schema["function"]["type"] == "no-info"
                and set(schema) <= _NEUTRAL | {"schema", "function"}
            ):
                function = schema["function"]["function"]
                afters.append(getattr(function, _AFTER_READ, function))
                schema = schema["schema"]
            else:
                afters.reverse()
                return schema, afters

    def inline(
        self, schema: Mapping[str, Any], kind: str, config: Mapping[str, Any] | None
    ) -> tuple[Any, Finish | None] | None:
        """(target of the parts, finish) when the position's validation is known here."""
        core = schema["type"]
        keys = set(schema) - _NEUTRAL
        if core == "any" and not keys:
            return None, None
        if core == "str" and kind == "string" and keys <= {"min_length", "max_length"}:
            return None, _length(schema)
        if core == "int" and kind in ("int", "long") and keys <= _BOUNDS:
            return None, _bounds(schema)
        if core == "float" and kind in ("float", "double") and keys <= _BOUNDS | {"allow_inf_nan"}:
            return None, _bounds(schema, finite=not schema.get("allow_inf_nan", True))
        if core == "bool" and kind == "boolean" and keys <= {"strict"}:
            return None, None
        if core == "enum" and kind in ("enum", "string") and keys <= {"cls", "members", "sub_type"}:
            if schema.get("sub_type") != "str":
                return None
            table = {member.value: member for member in schema["members"]}
            return None, SymbolLookup(table)
        if core == "datetime" and kind in ("long/timestamp-millis", "long/timestamp-micros"):
            # fastavro's datetimes are aware (UTC): validation returns the same object.
            if keys <= {"tz_constraint", "microseconds_precision"} and schema.get(
                "tz_constraint", "aware"
            ) in ("aware", None):
                return None, None
            return None
        if kind == "array" and core in ("tuple", "list"):
            if core == "tuple":
                items = schema["items_schema"]
                if schema.get("variadic_item_index") != 0 or len(items) != 1:
                    return None
                if not keys <= {"items_schema", "variadic_item_index", "min_length", "max_length"}:
                    return None
                return _Target(items[0], config), _sized(schema, tuple)
            if not keys <= {"items_schema", "min_length", "max_length"}:
                return None
            items_schema = schema.get("items_schema", {"type": "any"})
            return _Target(items_schema, config), _sized(schema, None)
        if kind == "map" and core == "dict":
            if not keys <= {"keys_schema", "values_schema", "min_length", "max_length"}:
                return None
            if schema.get("keys_schema", {"type": "str"}) != {"type": "str"}:
                return None
            values = schema.get("values_schema", {"type": "any"})
            return _Target(values, config), _sized(schema, None)
        return None

    def model(
        self, schema: Mapping[str, Any], fields: tuple[str, ...]
    ) -> tuple[Build, tuple[Any, ...]] | None:
        """The builder of a model node whose fields are exactly the reader's ``fields``."""
        cls = schema["cls"]
        inner = schema["schema"]
        config = schema.get("config") or {}
        if (
            schema.get("custom_init")
            or schema.get("root_model")
            or set(schema)
            - _NEUTRAL
            - {"cls", "schema", "config", "custom_init", "root_model"}
            - {"post_init"}
            or inner["type"] != "model-fields"
            or set(inner) - _NEUTRAL - {"fields", "model_name", "computed_fields"}
            or set(config) - _CONFIG
            or config.get("extra_fields_behavior", "ignore") not in ("ignore", "forbid")
        ):
            return None
        try:
            private = _private_defaults(cls, schema.get("post_init"))
        except _NotBuilt:
            return None
        model_fields: dict[str, Mapping[str, Any]] = inner["fields"]
        if set(model_fields) != set(fields) or any(
            set(field) - _FIELD for field in model_fields.values()
        ):
            return None
        # A validator taking ``info`` sees the field's name and the fields before it: only
        # validation of the whole model gives it those, so the whole model is delegated.
        if any(self.uses_info(field["schema"], set()) for field in model_fields.values()):
            return None
        targets = tuple(_Target(model_fields[name]["schema"], config) for name in fields)
        order = tuple(fields.index(name) for name in model_fields)
        names = tuple(model_fields)
        return _model_builder(cls, names, order, private), targets

    def uses_info(self, schema: Any, seen: set[str]) -> bool:
        """Whether a validator with ``info`` runs in ``schema`` outside nested models."""
        if isinstance(schema, list):
            return any(self.uses_info(item, seen) for item in schema)
        if not isinstance(schema, Mapping):
            return False
        kind = schema.get("type")
        if kind == "model":
            return False
        if kind == "definition-ref":
            ref = schema["schema_ref"]
            if ref in seen:
                return False
            seen.add(ref)
            return self.uses_info(self.definitions[ref], seen)
        if kind == "with-info":
            return True
        return any(
            self.uses_info(value, seen)
            for key, value in schema.items()
            if key not in ("metadata", "cls", "members", "default")
        )

    def validator(self, leaf: _Leaf) -> Finish:
        """pydantic-core's own validation of one position, for every record (cached per
        schema, and listed in ``delegated``)."""
        found = self._validators.get(id(leaf.schema))
        if found is None:
            found = self._validators[id(leaf.schema)] = self.pydantic(leaf)
            self.delegated.append(leaf.schema)
        return found

    def pydantic(self, leaf: _Leaf) -> Finish:
        """pydantic-core's validation of one position, raising Refused where it refuses."""
        schema: Mapping[str, Any] = leaf.schema
        if self.definitions:
            schema = {
                "type": "definitions",
                "schema": schema,
                "definitions": list(self.definitions.values()),
            }
        validate = SchemaValidator(schema, leaf.config).validate_python  # type: ignore[arg-type]

        def finish(value: Any) -> Any:
            try:
                return validate(value)
            except ValueError as error:
                raise Refused(str(error)) from None

        return finish


def _frozen(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(map(_frozen, value))
    return isinstance(value, _IMMUTABLE)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, tuple):
        return any(map(_holds_nul, value))
    return isinstance(value, str) and "\x00" in value


def _plain_default(schema: Mapping[str, Any]) -> bool:
    # A default that is only a default: the read value is always there, so it never applies.
    return set(schema) <= _NEUTRAL | {
        "schema",
        "default",
        "default_factory",
        "default_factory_takes_data",
    }


def _private_defaults(cls: type[BaseModel], post_init: str | None) -> dict[str, Any] | None:
    """The private attributes validation sets (None: the model has none). Raises
    _NotBuilt when ``model_post_init`` does more than set them."""
    if post_init is None:
        return None
    hook = cls.model_post_init
    if (
        post_init != "model_post_init"
        or getattr(hook, "__name__", "") != "init_private_attributes"
        or getattr(hook, "__module__", "") != "pydantic._internal._model_construction"
    ):
        raise _NotBuilt(f"{cls.__name__}.model_post_init")
    defaults: dict[str, Any] = {}
    for name, attribute in cls.__private_attributes__.items():
        default = attribute.get_default()
        if default is PydanticUndefined:
            continue
        if not isinstance(default, _IMMUTABLE):
            raise _NotBuilt(f"{cls.__name__}.{name} has a mutable default")
        defaults[name] = default
    return defaults


def _model_builder(
    cls: type[BaseModel],
    names: tuple[str, ...],
    order: tuple[int, ...],
    private: dict[str, Any] | None,
) -> Build:
    """``build(values)``: the instance validation would make of the field values (in the
    reader's order), as straight-line code: a dict display for ``__dict__`` in the model's
    field order, a set display for the fields set (validation sets every field given, and
    the reader gives every field), no extra fields, the private defaults."""
    pairs = zip(names, order, strict=True)
    fields = ", ".join(f"{name!r}: values[{index}]" for name, index in pairs)
    given = "{" + ", ".join(repr(name) for name in names) + "}" if names else "set()"
    own = "None" if private is None else "_private.copy()"
    source = (
        "def build(values):\n"
        "    model = _new(_cls)\n"
        f"    _set(model, '__dict__', {{{fields}}})\n"
        f"    _set(model, '__pydantic_fields_set__', {given})\n"
        "    _set(model, '__pydantic_extra__', None)\n"
        f"    _set(model, '__pydantic_private__', {own})\n"
        "    return model\n"
    )
    namespace: dict[str, Any] = {
        "_new": cls.__new__,
        "_cls": cls,
        "_set": _set,
        "_private": private,
    }
    exec(compile(source, f"<model builder {cls.__name__}>", "exec"), namespace)
    build: Build = namespace["build"]
    return build


def _chain(first: Finish | None, afters: list[Callable[[Any], Any]]) -> Finish | None:
    if not afters:
        return first
    if first is None and len(afters) == 1:
        return afters[0]
    steps = ([first] if first is not None else []) + afters

    def finish(value: Any) -> Any:
        for step in steps:
            value = step(value)
        return value

    return finish


def _length(schema: Mapping[str, Any]) -> Finish | None:
    low = schema.get("min_length", 0)
    high = schema.get("max_length")
    return None if low == 0 and high is None else LengthCheck(low, high)


def _sized(schema: Mapping[str, Any], make: Callable[[Any], Any] | None) -> Finish | None:
    check = _length(schema)
    if make is None:
        return check
    if check is None:
        return make

    def finish(value: Any) -> Any:
        return make(check(value))

    return finish


def _bounds(schema: Mapping[str, Any], *, finite: bool = False) -> Finish | None:
    ge, gt, le, lt = (schema.get(key) for key in ("ge", "gt", "le", "lt"))
    if ge is None and gt is None and le is None and lt is None and not finite:
        return None

    def check(value: Any) -> Any:
        if (
            (finite and not math.isfinite(value))
            or (ge is not None and not value >= ge)
            or (gt is not None and not value > gt)
            or (le is not None and not value <= le)
            or (lt is not None and not value < lt)
        ):
            raise Refused(f"{value} is out of bounds")
        return value

    return check
