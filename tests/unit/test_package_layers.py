"""The package layering, read off the source with ast: no cycle between packages, the shared
protocol at the bottom, observability free of the gateway, one builder of Kafka clients."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("velocity_stream", "consumers")
# What the protocol may import of the project: nothing above contracts, errors and settings.
PROTOCOL_MAY_IMPORT = {"contracts", "errors", "settings", "protocol"}


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield name.removesuffix(".__init__"), ast.parse(path.read_text(), str(path))


def _imports(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _package(module: str) -> str | None:
    """The layer a module belongs to: ``consumers`` or velocity_stream's first-level name."""
    parts = module.split(".")
    if parts[0] == "consumers":
        return "consumers"
    if parts[0] != "velocity_stream" or len(parts) < 2:
        return None
    return parts[1]


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, tree in _modules():
        source = _package(name)
        if source is None:
            continue  # velocity_stream/__init__.py: the version only
        for target in map(_package, _imports(tree)):
            is_package = target is not None and (ROOT / "velocity_stream" / target).is_dir()
            if target is not None and target != source and (is_package or target == "consumers"):
                graph.setdefault(source, set()).add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_no_import_cycle_between_packages():
    graph = _package_graph()
    assert "gateway" in graph and "protocol" in graph  # the graph was really read
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None


def test_the_protocol_imports_nothing_above_contracts_errors_and_settings():
    for name, tree in _modules():
        if _package(name) != "protocol":
            continue
        for imported in _imports(tree):
            layer = _package(imported)
            if imported.startswith(("velocity_stream.", "consumers")) and layer is not None:
                assert layer in PROTOCOL_MAY_IMPORT, f"{name} imports {imported}"


def test_observability_does_not_import_the_gateway():
    for name, tree in _modules():
        if _package(name) == "observability":
            found = [i for i in _imports(tree) if i.startswith("velocity_stream.gateway")]
            assert not found, f"{name} imports {found}"


def test_only_the_cli_imports_the_gateway():
    """The gateway is a role like the others: they share the protocol, not its modules."""
    outside = {
        (name, imported)
        for name, tree in _modules()
        if _package(name) not in ("gateway", "cli")
        for imported in _imports(tree)
        if imported == "velocity_stream.gateway" or imported.startswith("velocity_stream.gateway.")
    }
    assert not outside, sorted(outside)


def test_only_the_client_layer_builds_confluent_kafka_clients():
    builders: set[str] = set()
    for name, tree in _modules():
        imported = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "confluent_kafka"
            for alias in node.names
            if alias.name in ("Consumer", "Producer")
        }
        for node in ast.walk(tree):
            # a call of the class, or the class handed to a call (the layer's own builder)
            if isinstance(node, ast.Call) and any(
                isinstance(part, ast.Name) and part.id in imported
                for part in (node.func, *node.args)
            ):
                builders.add(name)
    assert builders == {"velocity_stream.kafka.clients"}
