"""Confluent's data-contract fields of a schema: ``metadata`` and ``ruleSet``.

Both are stored with the schema, returned wherever the schema is, and part of its identity: the
same Avro text with other metadata or rules is another schema (another id, another version), as
in Confluent's registry. Each is checked and brought to one spelling here, so equal contracts
compare equal whatever order the client wrote them in:

* ``metadata``: ``{"tags": {path: [tag]}, "properties": {name: value}, "sensitive": [name]}``,
  every name and value a string. Maps are sorted by key and lists sorted without repeats (Confluent
  keeps them as sorted maps and sets). Bad shapes are 422.
* ``ruleSet``: ``migrationRules`` (modes UPGRADE, DOWNGRADE, UPDOWN), ``domainRules`` and
  ``encodingRules`` (WRITE, READ, WRITEREAD), each a list of rules with a unique ``name``
  (a letter or ``_`` first, then letters, digits, ``_`` or ``-``; at most 256 characters) and a
  ``type``. A rule without ``kind`` is a TRANSFORM, one without ``mode`` WRITEREAD, as in
  Confluent's. Rule order is kept (rules run in order); ``disabled`` is always present (false
  when not sent), as Confluent answers it. Bad rules are 42210.

Empty ones (no tags, properties, sensitive names or rules) are the same as none.
"""

from __future__ import annotations

from typing import Any

from velocity_stream.registry.errors import ErrorCode, RegistryRequestError

Json = Any  # a decoded JSON value
RULE_KINDS = frozenset({"TRANSFORM", "CONDITION"})
MIGRATION_MODES = frozenset({"UPGRADE", "DOWNGRADE", "UPDOWN"})
DOMAIN_MODES = frozenset({"WRITE", "READ", "WRITEREAD"})
RULE_PHASES = (
    ("migrationRules", MIGRATION_MODES),
    ("domainRules", DOMAIN_MODES),
    ("encodingRules", DOMAIN_MODES),
)
_RULE_TEXT_FIELDS = ("doc", "kind", "mode", "type", "expr", "onSuccess", "onFailure")
_NAME_MAX = 256


def _bad_metadata(detail: str) -> RegistryRequestError:
    return RegistryRequestError(ErrorCode.UNPROCESSABLE, f"Invalid metadata: {detail}")


def _bad_rules(detail: str) -> RegistryRequestError:
    return RegistryRequestError(ErrorCode.INVALID_RULESET, f"Invalid rule set: {detail}")


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _bad_metadata(f"{where} must be a list of strings")
    return sorted(set(value))


def _string_map(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _bad_metadata(f"{where} must be an object of string values")
    return dict(sorted(value.items()))


def parse_metadata(value: object) -> dict[str, Json] | None:
    """``metadata`` in its one spelling; None when absent or empty; 422 when malformed."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad_metadata("must be an object")
    found: dict[str, Json] = {}
    tags = value.get("tags")
    if tags is not None:
        if not isinstance(tags, dict):
            raise _bad_metadata("tags must be an object of string lists")
        sorted_tags = {
            str(path): _strings(names, f"tags[{path!r}]") for path, names in sorted(tags.items())
        }
        if sorted_tags:
            found["tags"] = sorted_tags
    properties = value.get("properties")
    if properties is not None:
        checked = _string_map(properties, "properties")
        if checked:
            found["properties"] = checked
    sensitive = value.get("sensitive")
    if sensitive is not None:
        names = _strings(sensitive, "sensitive")
        if names:
            found["sensitive"] = names
    return found or None


def _rule_name(name: object, where: str) -> str:
    if not isinstance(name, str):
        raise _bad_rules(f"{where} has no name")
    if not name:
        raise _bad_rules(f"{where} has an empty name")
    if len(name) > _NAME_MAX:
        raise _bad_rules(f"{where}: rule name longer than {_NAME_MAX} characters")
    if not (name[0].isalpha() or name[0] == "_"):
        raise _bad_rules(f"{where}: illegal initial character in rule name {name!r}")
    if not all(c.isalnum() or c in "_-" for c in name[1:]):
        raise _bad_rules(f"{where}: illegal character in rule name {name!r}")
    return name


def _rule(rule: object, where: str, modes: frozenset[str]) -> dict[str, Json]:
    if not isinstance(rule, dict):
        raise _bad_rules(f"{where} must be an object")
    out: dict[str, Json] = {"name": _rule_name(rule.get("name"), where)}
    for key in _RULE_TEXT_FIELDS:
        text = rule.get(key)
        if text is None:
            continue
        if not isinstance(text, str):
            raise _bad_rules(f"{where}.{key} must be a string")
        out[key] = text
    if "type" not in out:
        raise _bad_rules(f"{where} ({out['name']}) has no type")
    # Confluent's defaults, filled in before the checks as Confluent does (so a migration rule
    # without a mode is refused there and here alike).
    out.setdefault("kind", "TRANSFORM")
    out.setdefault("mode", "WRITEREAD")
    if "kind" in out and out["kind"] not in RULE_KINDS:
        raise _bad_rules(f"{where}.kind {out['kind']!r} is not one of {sorted(RULE_KINDS)}")
    mode = out.get("mode")
    if mode is not None and mode not in modes:
        raise _bad_rules(f"{where}.mode {mode!r}: these rules can only be {sorted(modes)}")
    for action in ("onSuccess", "onFailure"):
        if "," in out.get(action, "") and mode not in ("WRITEREAD", "UPDOWN"):
            raise _bad_rules(f"{where}.{action}: two actions only go with WRITEREAD and UPDOWN")
    tags = rule.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise _bad_rules(f"{where}.tags must be a list of strings")
        if tags:
            out["tags"] = sorted(set(tags))
    params = rule.get("params")
    if params is not None:
        if not isinstance(params, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in params.items()
        ):
            raise _bad_rules(f"{where}.params must be an object of string values")
        if params:
            out["params"] = dict(sorted(params.items()))
    disabled = rule.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise _bad_rules(f"{where}.disabled must be true or false")
    out["disabled"] = bool(disabled)  # always present, as Confluent answers it
    return dict(sorted(out.items()))


def parse_rule_set(value: object) -> dict[str, Json] | None:
    """``ruleSet`` in its one spelling; None when absent or empty; 42210 when malformed."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad_rules("must be an object")
    found: dict[str, Json] = {}
    names: set[str] = set()
    for phase, modes in RULE_PHASES:
        rules = value.get(phase)
        if rules is None:
            continue
        if not isinstance(rules, list):
            raise _bad_rules(f"{phase} must be a list of rules")
        checked = [_rule(rule, f"{phase}[{i}]", modes) for i, rule in enumerate(rules)]
        for rule in checked:
            if rule["name"] in names:
                raise _bad_rules(f"found rule with duplicate name {rule['name']!r}")
            names.add(rule["name"])
        if checked:
            found[phase] = checked
    enable_at = value.get("enableAt")
    if enable_at is not None:
        if not isinstance(enable_at, str):
            raise _bad_rules("enableAt must be a string")
        found["enableAt"] = enable_at
    return found or None


def has_rule_of_type(rule_set: Json, rule_type: str) -> bool:
    """Does a stored rule set hold a rule of ``rule_type`` (``GET /schemas?ruleType=``)?"""
    if not isinstance(rule_set, dict):
        return False
    return any(
        isinstance(rule, dict) and rule.get("type") == rule_type
        for phase, _ in RULE_PHASES
        for rule in rule_set.get(phase) or ()
    )
