"""Differential property test: the checker against fastavro's own resolving reader.

A writer schema is generated, then mutated into a reader schema the way schemas evolve (fields
added or removed with or without defaults, types promoted or demoted, enum symbols added or
removed, unions wrapped and unwrapped, types and fields renamed with or without aliases). When
the checker calls the pair compatible, every datum written with the writer must decode under the
reader; when it calls it incompatible, some datum must fail to decode.

Generated data avoids two things the schemas do not decide: bytes that are not UTF-8 (the spec
promotes bytes to string, but decoding invalid UTF-8 fails in any reader) and union values that
fit several branches (tuple notation picks the branch explicitly).
"""

from __future__ import annotations

import copy
import io
import random
import string
from typing import Any

import fastavro
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from velocity_stream.compat import IncompatibilityCode, check_compatibility

PRIMITIVES = ["boolean", "int", "long", "float", "double", "bytes", "string"]
SYMBOLS = ["A", "B", "C", "D"]

Json = Any

# --- schema generation ----------------------------------------------------------------------

enums = st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=4, unique=True).map(
    lambda symbols: {"type": "enum", "name": None, "symbols": symbols}
)
fixeds = st.sampled_from([1, 2, 4]).map(lambda size: {"type": "fixed", "name": None, "size": size})


def records(sub: st.SearchStrategy[Json]) -> st.SearchStrategy[Json]:
    return st.lists(sub, min_size=1, max_size=4).map(
        lambda types: {
            "type": "record",
            "name": None,
            "fields": [{"name": f"f{i}", "type": t} for i, t in enumerate(types)],
        }
    )


def non_union(depth: int) -> st.SearchStrategy[Json]:
    leaves = st.one_of(st.sampled_from(PRIMITIVES), enums, fixeds)
    if depth == 0:
        return leaves
    sub = any_type(depth - 1)
    return st.one_of(
        leaves,
        sub.map(lambda t: {"type": "array", "items": t}),
        sub.map(lambda t: {"type": "map", "values": t}),
        records(sub),
    )


# Branch classes whose Python values cannot be mistaken for one another when written.
def union_branch_classes(depth: int) -> list[st.SearchStrategy[Json]]:
    inner = non_union(max(depth - 1, 0))
    return [
        st.just("null"),
        st.just("boolean"),
        st.sampled_from(["int", "long", "float", "double"]),
        st.one_of(st.just("string"), enums),
        st.one_of(st.just("bytes"), fixeds),
        inner.map(lambda t: {"type": "array", "items": t}),
        st.one_of(inner.map(lambda t: {"type": "map", "values": t}), records(inner)),
    ]


def unions(depth: int) -> st.SearchStrategy[Json]:
    classes = union_branch_classes(depth)
    return (
        st.lists(st.integers(0, len(classes) - 1), min_size=2, max_size=3, unique=True)
        .flatmap(lambda picks: st.tuples(*(classes[i] for i in picks)))
        .map(list)
    )


def any_type(depth: int) -> st.SearchStrategy[Json]:
    if depth == 0:
        return non_union(0)
    return st.one_of(non_union(depth), unions(depth))


def name_types(schema: Json) -> Json:
    """Give every named type a unique name, in definition order."""
    counter = iter(range(1, 10_000))

    def walk(node: Json) -> None:
        if isinstance(node, list):
            for branch in node:
                walk(branch)
        elif isinstance(node, dict):
            if node.get("name", "") is None:
                node["name"] = f"N{next(counter)}"
            for key in ("items", "values"):
                if key in node:
                    walk(node[key])
            for field in node.get("fields", []):
                walk(field["type"])

    walk(schema)
    return schema


writer_schemas = records(any_type(2)).map(name_types)

# --- mutation into a reader schema ------------------------------------------------------------

NEW_FIELDS = [
    ("int", 0),
    ("string", ""),
    (["null", "string"], None),
    ({"type": "array", "items": "long"}, []),
    ("boolean", False),
]


def positions(schema: Json) -> list[tuple[Json, Any]]:
    """Every (container, key) whose value is a type, below the root record."""
    found: list[tuple[Json, Any]] = []

    def walk(node: Json) -> None:
        if isinstance(node, list):
            for index, branch in enumerate(node):
                found.append((node, index))
                walk(branch)
        elif isinstance(node, dict):
            for key in ("items", "values"):
                if key in node:
                    found.append((node, key))
                    walk(node[key])
            for field in node.get("fields", []):
                found.append((field, "type"))
                walk(field["type"])

    walk(schema)
    return found


def nodes_of(schema: Json, kind: str) -> list[Json]:
    found = [schema] if isinstance(schema, dict) and schema.get("type") == kind else []
    for container, key in positions(schema):
        node = container[key]
        if isinstance(node, dict) and node.get("type") == kind:
            found.append(node)
    return found


MUTATIONS = [
    "retype",
    "add_field",
    "remove_field",
    "enum_add",
    "enum_remove",
    "enum_default",
    "fixed_resize",
    "wrap_union",
    "unwrap_union",
    "drop_branch",
    "rename_type",
    "rename_field",
    "swap_container",
    "retype",
]
# Writer primitive -> reader primitives worth trying: its promotions, the types it is promoted
# from (demotions) and a few unrelated ones.
NEIGHBOURS = {
    "int": ["long", "float", "double", "string", "boolean"],
    "long": ["int", "float", "double", "string"],
    "float": ["int", "long", "double", "string"],
    "double": ["float", "long", "int", "bytes"],
    "string": ["bytes", "int", "boolean"],
    "bytes": ["string", "long", "boolean"],
    "boolean": ["int", "string", "null"],
}


def mutate(reader: Json, draw: Any) -> str:
    """Apply one evolution step to ``reader`` in place; return its name for statistics."""
    choice = draw(st.sampled_from(MUTATIONS))
    pick = lambda items: items[draw(st.integers(0, len(items) - 1))]  # noqa: E731
    # The type of a field with a default stays put: changing it would make the default invalid.
    spots = [(c, k) for c, k in positions(reader) if not (isinstance(c, dict) and "default" in c)]
    if choice == "add_field":
        record = pick(nodes_of(reader, "record"))
        type_, default = pick(NEW_FIELDS)
        field = {"name": f"added{len(record['fields'])}", "type": copy.deepcopy(type_)}
        with_default = draw(st.booleans())
        if with_default:
            field["default"] = default
        record["fields"].append(field)
        return f"add_field(default={with_default})"
    if choice == "remove_field":
        candidates = [r for r in nodes_of(reader, "record") if len(r["fields"]) > 1]
        if candidates:
            record = pick(candidates)
            del record["fields"][draw(st.integers(0, len(record["fields"]) - 1))]
        return choice
    if choice == "retype":
        candidates = [
            (c, k)
            for c, k in spots
            if isinstance(c[k], str) and c[k] != "null" and not isinstance(c, list)
        ]
        if candidates:
            container, key = pick(candidates)
            old = container[key]
            container[key] = pick(NEIGHBOURS[old])
            return f"retype {old}->{container[key]}"
        return choice
    if choice.startswith("enum_"):
        candidates = nodes_of(reader, "enum")
        if candidates:
            enum = pick(candidates)
            missing = [s for s in SYMBOLS if s not in enum["symbols"]]
            if choice == "enum_add" and missing:
                enum["symbols"].append(missing[0])
            elif choice == "enum_remove" and len(enum["symbols"]) > 1:
                removable = [s for s in enum["symbols"] if s != enum.get("default")]
                enum["symbols"].remove(pick(removable))
            elif choice == "enum_default":
                enum["default"] = enum["symbols"][0]
                if draw(st.booleans()) and len(enum["symbols"]) > 1:
                    enum["symbols"].pop()
        return choice
    if choice == "fixed_resize":
        candidates = nodes_of(reader, "fixed")
        if candidates:
            pick(candidates)["size"] += 1
        return choice
    if choice == "wrap_union":
        candidates = [
            (c, k)
            for c, k in spots
            if not isinstance(c, list) and not isinstance(c[k], list) and c[k] != "null"
        ]
        if candidates:
            container, key = pick(candidates)
            container[key] = (
                ["null", container[key]] if draw(st.booleans()) else [container[key], "null"]
            )
        return choice
    if choice in ("unwrap_union", "drop_branch"):
        candidates = [(c, k) for c, k in spots if isinstance(c[k], list)]
        if candidates:
            container, key = pick(candidates)
            branches = container[key]
            if choice == "unwrap_union":
                container[key] = pick(branches)
            elif len(branches) > 1:
                del branches[draw(st.integers(0, len(branches) - 1))]
        return choice
    if choice == "rename_type":
        candidates = [n for kind in ("record", "enum", "fixed") for n in nodes_of(reader, kind)]
        named = pick(candidates)
        old = named["name"]
        named["name"] = f"{old}Renamed"
        with_alias = draw(st.booleans())
        if with_alias:
            named["aliases"] = [old]
        return f"rename_type(alias={with_alias})"
    if choice == "rename_field":
        record = pick(nodes_of(reader, "record"))
        field = pick(record["fields"])
        old = field["name"]
        field["name"] = f"{old}_renamed"
        with_alias = draw(st.booleans())
        if with_alias:
            field["aliases"] = [old]
        return f"rename_field(alias={with_alias})"
    # Swapping inside a union that already has the other container would make it invalid.
    candidates = [
        c[k]
        for c, k in spots
        if isinstance(c[k], dict)
        and c[k].get("type") in ("array", "map")
        and not (
            isinstance(c, list)
            and any(
                isinstance(b, dict) and b.get("type") in ("array", "map") and b is not c[k]
                for b in c
            )
        )
    ]
    if candidates:
        node = pick(candidates)
        if node["type"] == "array":
            node["type"], node["values"] = "map", node.pop("items")
        else:
            node["type"], node["items"] = "array", node.pop("values")
    return choice


# --- data generation ------------------------------------------------------------------------


def datum(schema: Json, rng: random.Random) -> Json:
    if isinstance(schema, list):
        branch = rng.choice(schema)
        name = branch if isinstance(branch, str) else branch.get("name", branch["type"])
        return (name, datum(branch, rng))
    kind = schema if isinstance(schema, str) else schema["type"]
    if kind == "null":
        return None
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "int":
        return rng.randint(-(2**31), 2**31 - 1)
    if kind == "long":
        return rng.randint(-(2**63), 2**63 - 1)
    if kind in ("float", "double"):
        return rng.uniform(-1e6, 1e6)
    if kind == "string":
        return "".join(rng.choices(string.ascii_letters, k=rng.randint(0, 6)))
    if kind == "bytes":
        return "".join(rng.choices(string.ascii_letters, k=rng.randint(0, 6))).encode()
    if kind == "fixed":
        return bytes(rng.randrange(256) for _ in range(schema["size"]))
    if kind == "enum":
        return rng.choice(schema["symbols"])
    if kind == "array":
        return [datum(schema["items"], rng) for _ in range(rng.randint(1, 3))]
    if kind == "map":
        return {f"k{i}": datum(schema["values"], rng) for i in range(rng.randint(1, 3))}
    return {f["name"]: datum(f["type"], rng) for f in schema["fields"]}


def decodes(writer: Any, reader: Any, value: Json) -> bool:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, writer, value)
    buffer.seek(0)
    try:
        fastavro.schemaless_reader(buffer, writer, reader)
    except Exception:  # any failure to read is what we are looking for
        return False
    return True


SAMPLES = 40


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writer=writer_schemas, data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_checker_agrees_with_fastavro_resolving_reader(writer, data, seed):
    reader = copy.deepcopy(writer)
    steps = [mutate(reader, data.draw) for _ in range(data.draw(st.integers(1, 2)))]
    result = check_compatibility(reader, writer)
    assert IncompatibilityCode.LOGICAL_TYPE_MISMATCH not in result.codes()
    event(f"{'compatible' if result.compatible else 'incompatible'}")
    for step in steps:
        event(f"mutation {step}")

    parsed_writer = fastavro.parse_schema(writer)
    parsed_reader = fastavro.parse_schema(reader)
    rng = random.Random(seed)
    outcomes = [decodes(parsed_writer, parsed_reader, datum(writer, rng)) for _ in range(SAMPLES)]
    if result.compatible:
        assert all(outcomes), "checker said compatible but fastavro failed to read"
    else:
        codes = sorted(result.codes())
        assert not all(outcomes), f"checker said incompatible ({codes}) but every datum decoded"
