"""Whether a contract model holds U+0000 in any string, answered fast: validation asks it of
every artifact, and only an artifact that holds one is walked for the paths (nul_walk.py).

Both checks answer exactly as the walk does (``walk_holds_nul``), for any instance, at a
fraction of its cost (docs/reason-codes.md has the figures):

- the native check, ``_fastnul``, a Cython extension built when the package is installed: the
  same walk in C, with one ``PyUnicode_FindChar`` (a ``memchr`` for most text) per string;
- where it was not built, a Python check compiled once per model class from its fields: the
  strings are gathered with direct ``__dict__`` access (only fields that can hold strings,
  descending only into nested models and containers that can) and searched in one go.

The compiled check trusts no annotation: each value must be what its field declares (exactly
the model class with exactly its fields, the declared tuple or list, a dict, a string, a
value of a type that holds no string) and anything else (``model_construct``, a validator
that returns another type, a field typed ``Any``) is left to the walk.
"""

from __future__ import annotations

import itertools
import operator
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Union

from pydantic import BaseModel

from velocity_stream.contracts.nul_walk import INERT_TYPES, NUL, walk_holds_nul

try:  # built by `pip install`; optional, so an install without a C compiler still works
    from velocity_stream.contracts import _fastnul
except ImportError:  # pragma: no cover - exercised only where the build was skipped
    _fastnul = None  # type: ignore[assignment]

NATIVE_CHECK = _fastnul is not None
# Nested models inlined into one class's checker beyond this depth call their own checker.
_INLINE_DEPTH = 6

Check = Callable[[BaseModel], bool]


def holds_nul(model: BaseModel) -> bool:
    """Whether a string reachable from ``model`` holds U+0000: exactly when the walk
    (``nul_paths``) names one. The native check when it is built, else the compiled one."""
    if NATIVE_CHECK:
        return _fastnul.holds_nul(model)
    return compiled_holds_nul(model)


def compiled_holds_nul(model: BaseModel) -> bool:
    """:func:`holds_nul` with the Python check compiled for the model's class."""
    cls = type(model)
    check = _CHECKS.get(cls)
    if check is None:
        check = _CHECKS[cls] = compile_check(cls)
    try:
        return check(model)
    except (TypeError, KeyError):
        # a value that is not what its field declares, met where no guard looked (a
        # non-string among strings stops the join): the walk takes any value
        return walk_holds_nul(model)


_CHECKS: dict[type[BaseModel], Check] = {}


# --- the plan: what a field's annotation says it may hold -------------------------------


@dataclass(frozen=True)
class _Text:
    """A string."""


@dataclass(frozen=True)
class _Other:
    """Anything else: no string when its type is inert (or one of ``enums``), else walked."""

    enums: frozenset[type]


@dataclass(frozen=True)
class _Optional:
    inner: _Node


@dataclass(frozen=True)
class _Items:
    kind: type  # tuple or list, as pydantic builds it
    item: _Node


@dataclass(frozen=True)
class _Map:
    """A dict with string keys (checked) and values of ``value``."""

    value: _Node


@dataclass(frozen=True)
class _Record:
    cls: type[BaseModel]


_Node = _Text | _Other | _Optional | _Items | _Map | _Record
_WALK = _Other(frozenset())


def plan(annotation: Any) -> _Node:
    """What a field annotated ``annotation`` holds, as far as strings go."""
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if annotation is str:
        return _Text()
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Union or origin is types.UnionType:
        return _union(args)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _Items(tuple, plan(args[0]))
    if origin is list and len(args) == 1:
        return _Items(list, plan(args[0]))
    if origin is dict and len(args) == 2 and args[0] is str:
        return _Map(plan(args[1]))
    if isinstance(annotation, type) and origin is None:
        if issubclass(annotation, BaseModel):
            return _Record(annotation)
        if issubclass(annotation, Enum) and not _enum_holds_nul(annotation):
            return _Other(frozenset({annotation}))
    return _WALK  # inert types pass the guard, anything else is walked


def _union(args: tuple[Any, ...]) -> _Node:
    present = [arg for arg in args if arg is not type(None)]
    if len(present) == 1 and len(present) < len(args):
        inner = plan(present[0])
        return inner if isinstance(inner, _Other) else _Optional(inner)
    enums: set[type] = set()
    for node in map(plan, present):
        if not isinstance(node, _Other):
            return _WALK  # strings in more than one shape: left to the walk
        enums |= node.enums
    return _Other(frozenset(enums))


def _enum_holds_nul(enum: type[Enum]) -> bool:
    return issubclass(enum, str) and any(NUL in member for member in enum)


# --- the checker: the plan as Python source -------------------------------------------


def compile_check(cls: type[BaseModel]) -> Check:
    """``check(model)`` for instances of ``cls``: True when a string in it holds U+0000.

    It may raise TypeError or KeyError for a value that is not what its field declares;
    :func:`compiled_holds_nul` then walks the model."""
    source = _Source()
    lines = [
        "def check(model):",
        "    parts = []",
        *_record(source, cls, "model", depth=0, indent="    ", otherwise="return WALK(model)"),
        "    return NUL in ''.join(parts)",
    ]
    namespace: dict[str, Any] = {"NUL": NUL, "WALK": walk_holds_nul, "CHECK": compiled_holds_nul}
    namespace.update(source.constants)
    exec(compile("\n".join(lines), f"<nul check {cls.__name__}>", "exec"), namespace)
    check: Check = namespace["check"]
    return check


class _Source:
    """Fresh names for the generated source, and the constants it refers to."""

    def __init__(self) -> None:
        self.constants: dict[str, Any] = {}
        self._count = itertools.count()

    def name(self, prefix: str) -> str:
        return f"{prefix}{next(self._count)}"

    def constant(self, value: object, prefix: str) -> str:
        name = self.name(prefix)
        self.constants[name] = value
        return name


def _record(
    source: _Source, cls: type[BaseModel], value: str, depth: int, indent: str, otherwise: str
) -> list[str]:
    """Lines gathering the strings of ``value``, expected to be exactly a ``cls``; when it is
    not (another class, fields added or missing), the lines run ``otherwise``."""
    nodes = {name: plan(info.annotation) for name, info in cls.model_fields.items()}
    klass = source.constant(cls, "C")
    attrs = source.name("d")
    exact = f"type({value}) is {klass} and len({attrs} := {value}.__dict__) == {len(nodes)}"
    lines = [f"{indent}if {exact}:"]
    inner = indent + "    "
    # the string fields in one call: a KeyError if one is missing
    texts = [name for name, node in nodes.items() if isinstance(node, _Text)]
    if len(texts) == 1:
        lines.append(f"{inner}parts.append({attrs}[{texts[0]!r}])")
    elif texts:
        getter = source.constant(operator.itemgetter(*texts), "G")
        lines.append(f"{inner}parts += {getter}({attrs})")
    for name, node in nodes.items():
        if not isinstance(node, _Text):
            field = source.name("v")
            lines.append(f"{inner}{field} = {attrs}[{name!r}]")
            lines.extend(_node(source, node, field, depth, inner))
    lines += [f"{indent}else:", f"{indent}    {otherwise}"]
    return lines


def _node(source: _Source, node: _Node, value: str, depth: int, indent: str) -> list[str]:
    """Lines gathering the strings of ``value`` as ``node`` says it holds them."""
    walked = f"if WALK({value}): return True"
    if isinstance(node, _Text):
        return [f"{indent}parts.append({value})"]
    if isinstance(node, _Other):
        inert = source.constant(INERT_TYPES | node.enums, "L")
        return [f"{indent}if type({value}) not in {inert} and WALK({value}): return True"]
    if isinstance(node, _Optional):
        return [
            f"{indent}if {value} is not None:",
            *_node(source, node.inner, value, depth, indent + "    "),
        ]
    if isinstance(node, _Record):
        if depth >= _INLINE_DEPTH:  # deep or recursive models: their own checker
            klass = source.constant(node.cls, "C")
            return [
                f"{indent}if type({value}) is {klass}:",
                f"{indent}    if CHECK({value}): return True",
                f"{indent}else:",
                f"{indent}    {walked}",
            ]
        return _record(source, node.cls, value, depth + 1, indent, walked)
    if isinstance(node, _Items):
        kind = source.constant(node.kind, "K")
        head = f"{indent}if type({value}) is {kind}:"
        body = _each(source, node.item, value, depth, indent + "    ")
        return [head, *body, f"{indent}else:", f"{indent}    {walked}"]
    body = _each(source, node.value, f"{value}.values()", depth, indent + "    ")
    return [
        f"{indent}if isinstance({value}, dict):",
        f"{indent}    parts += {value}",  # the keys: a non-string among them stops the join
        *body,
        f"{indent}else:",
        f"{indent}    {walked}",
    ]


def _each(source: _Source, item: _Node, items: str, depth: int, indent: str) -> list[str]:
    """Lines gathering the strings of every element of the iterable ``items`` (an array's
    items or a map's values), each held as ``item`` says."""
    if isinstance(item, _Text):
        return [f"{indent}parts += {items}"]
    name = source.name("i")
    return [f"{indent}for {name} in {items}:", *_node(source, item, name, depth, indent + "    ")]
