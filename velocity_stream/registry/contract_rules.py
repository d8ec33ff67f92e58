"""The catalog's contract rules as Confluent schema metadata, so non-Python producers see them.

Our cross-field rules are Python (each model's ``rules()`` and the envelope rules every
artifact shares); they are enforced by the gateway, not by a serializer. A producer in another
language cannot run them, but it can read what they are: registration attaches them to every
subject version of a family's major as ``metadata.properties``:

* ``velocity.family``: the family (``QdSignalBundle``);
* ``velocity.rules``: the reason codes a record of this family can be dead-lettered with for a
  broken rule, comma-separated (``contract.qd_signal.evidence_required,...``);
* ``velocity.rule.<reason code>``: the field the rule is reported at (``supporting_evidence_refs``),
  or ``*`` where the field is computed at run time (a rule over each element of a list).

The codes are read from the models' source (every ``Violation(ReasonCode.X, "field", ...)`` in
the model's classes and in the module-level helpers they call), so a rule added to a model is
published without another list to keep in step. Field-level checks pydantic makes (types,
required fields) are the Avro schema's own and are not listed.
"""

from __future__ import annotations

import ast
import inspect
import logging
import sys
import textwrap
from functools import cache

from velocity_stream.contracts.catalog import Family
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.contracts.registry import MODELS

log = logging.getLogger(__name__)

FAMILY_PROPERTY = "velocity.family"
RULES_PROPERTY = "velocity.rules"
RULE_PREFIX = "velocity.rule."
ANY_FIELD = "*"


def _tree(source: str) -> ast.Module:
    return ast.parse(textwrap.dedent(source))


def _violations(node: ast.AST, module_functions: dict[str, ast.FunctionDef]) -> dict[str, str]:
    """Reason code value -> field, for every Violation(...) under ``node`` and the module
    functions it calls (transitively)."""
    found: dict[str, str] = {}
    seen: set[str] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        for call in (n for n in ast.walk(current) if isinstance(n, ast.Call)):
            if isinstance(call.func, ast.Name) and call.func.id in module_functions:
                if call.func.id not in seen:
                    seen.add(call.func.id)
                    pending.append(module_functions[call.func.id])
                continue
            if not (isinstance(call.func, ast.Name) and call.func.id == "Violation"):
                continue
            if not call.args or not isinstance(call.args[0], ast.Attribute):
                continue
            code = call.args[0]
            if not (isinstance(code.value, ast.Name) and code.value.id == "ReasonCode"):
                continue
            where = call.args[1] if len(call.args) > 1 else None
            field = where.value if isinstance(where, ast.Constant) else ANY_FIELD
            found.setdefault(code.attr, str(field))
    return found


@cache
def rules_of(model: type[Artifact]) -> tuple[tuple[str, str], ...]:
    """(reason code, field) of every rule of ``model``, by code."""
    from velocity_stream.errors import ReasonCode

    found: dict[str, str] = {}
    for cls in model.__mro__:
        if not (isinstance(cls, type) and issubclass(cls, Artifact)):
            continue
        try:
            module_tree = _tree(inspect.getsource(sys.modules[cls.__module__]))
            class_tree = _tree(inspect.getsource(cls))
        except (OSError, TypeError, SyntaxError):
            # No source to read (an install without .py files): nothing to publish for it.
            log.warning("no source for %s: its contract rules are not published", cls.__name__)
            continue
        functions = {n.name: n for n in module_tree.body if isinstance(n, ast.FunctionDef)}
        for name, field in _violations(class_tree, functions).items():
            found.setdefault(ReasonCode[name].value, field)
    return tuple(sorted(found.items()))


def contract_metadata(family: Family, major: int) -> dict[str, object] | None:
    """The metadata registration attaches to ``family``'s subjects of ``major``; None when the
    family has no model (a deployment's own family without rules here)."""
    model = MODELS.get(family.name, {}).get(major)
    if model is None:
        return None
    rules = rules_of(model)
    properties = {FAMILY_PROPERTY: family.name, RULES_PROPERTY: ",".join(c for c, _ in rules)}
    properties.update({f"{RULE_PREFIX}{code}": field for code, field in rules})
    return {"properties": properties}
