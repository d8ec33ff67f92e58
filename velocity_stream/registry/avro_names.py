"""Avro's naming rules, checked the way Confluent's registry (Apache Avro for Java) checks them.

The specification ("Names"): every name of a record, enum or fixed, every field name and every
enum symbol is ``[A-Za-z_][A-Za-z0-9_]*``; a namespace is such names joined by dots (or empty);
a full name is a namespace and a name. fastavro accepts ``foo-bar-baz`` as a namespace and our
compatibility engine does not look; Java refuses it, so a schema registered here could not be
read by a Java client. :func:`check_names` refuses it here too, saying where.
"""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAMED = frozenset({"record", "error", "enum", "fixed"})


class InvalidName(ValueError):
    """A name, namespace, field name or enum symbol that breaks Avro's rules."""


def _check_name(value: object, what: str, where: str) -> None:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidName(
            f"{what} {value!r} at {where or '/'} is not a valid Avro name "
            "(letters, digits and _, not starting with a digit)"
        )


def _check_dotted(value: object, what: str, where: str, *, empty_ok: bool) -> None:
    if not isinstance(value, str):
        raise InvalidName(f"{what} at {where or '/'} must be a string, not {value!r}")
    if value == "" and empty_ok:
        return
    for part in value.split("."):
        _check_name(part, f"{what} {value!r}: part", where)


def check_names(schema: Any, where: str = "") -> None:
    """Raise :class:`InvalidName` for the first name in ``schema`` Avro does not allow."""
    if isinstance(schema, list):
        for index, branch in enumerate(schema):
            check_names(branch, f"{where}/{index}")
        return
    if not isinstance(schema, dict):
        return  # a primitive or a reference by name: named where it is defined
    kind = schema.get("type")
    if isinstance(kind, dict | list):
        check_names(kind, f"{where}/type")
        return
    if kind in _NAMED:
        if "namespace" in schema and schema["namespace"] is not None:
            _check_dotted(schema["namespace"], "namespace", f"{where}/namespace", empty_ok=True)
        _check_dotted(schema.get("name"), "name", f"{where}/name", empty_ok=False)
        for index, alias in enumerate(schema.get("aliases") or ()):
            _check_dotted(alias, "alias", f"{where}/aliases/{index}", empty_ok=False)
    if kind in ("record", "error"):
        for index, field in enumerate(schema.get("fields") or ()):
            if not isinstance(field, dict):
                continue  # the parsers refuse it with their own message
            here = f"{where}/fields/{index}"
            _check_name(field.get("name"), "field name", f"{here}/name")
            check_names(field.get("type"), f"{here}/type")
    elif kind == "enum":
        for index, symbol in enumerate(schema.get("symbols") or ()):
            _check_name(symbol, "enum symbol", f"{where}/symbols/{index}")
    elif kind == "array":
        check_names(schema.get("items"), f"{where}/items")
    elif kind == "map":
        check_names(schema.get("values"), f"{where}/values")
