"""``registry serve`` and ``schemas register`` as the lead wires them into the CLI."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time

import httpx
import pytest

from velocity_stream.cli import registry_cmd
from velocity_stream.registry.server import BackgroundRegistry, free_port
from velocity_stream.registry.service import RegistryService
from velocity_stream.registry.store import memory_store

# The registry command group on its own, in a process of its own.
REGISTRY_COMMAND = (
    "import sys; from velocity_stream.cli.registry_cmd import register; import argparse;"
    "p = argparse.ArgumentParser(); register(p.add_subparsers());"
    "a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))"
)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="velocity-stream")
    groups = root.add_subparsers(dest="command")
    registry_cmd.register(groups)
    schemas = groups.add_parser("schemas")
    registry_cmd.add_register_command(schemas.add_subparsers(dest="schemas_command"))
    return root


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    code: int = args.handler(args)
    return code


def test_the_commands_parse_with_their_defaults() -> None:
    serve = parser().parse_args(["registry", "serve"])
    assert (serve.port, serve.host, serve.topic, serve.memory) == (
        8081,
        "127.0.0.1",
        "_velocity_schemas",
        False,
    )
    register = parser().parse_args(["schemas", "register", "--registry", "http://x", "--dry-run"])
    assert (register.registry, register.dry_run) == ("http://x", True)


def test_schemas_register_dry_run_then_for_real(capsys: pytest.CaptureFixture[str]) -> None:
    with BackgroundRegistry(RegistryService(memory_store())) as registry:
        assert run(["schemas", "register", "--registry", registry.url, "--dry-run"]) == 0
        assert "would-register" in capsys.readouterr().out
        assert httpx.get(f"{registry.url}/subjects").json() == []
        assert run(["schemas", "register", "--registry", registry.url, "--format", "json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["ok"] and {r["outcome"] for r in report["results"]} == {"registered"}
        assert run(["schemas", "register", "--registry", registry.url]) == 0
        assert "already-registered" in capsys.readouterr().out


def test_schemas_register_against_nothing_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert run(["schemas", "register", "--registry", url]) == 2
    assert "unreachable" in capsys.readouterr().err


def test_registry_serve_answers_over_http_until_stopped() -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            REGISTRY_COMMAND,
            "registry",
            "serve",
            "--memory",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/config", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "registry serve never answered"
                time.sleep(0.1)
        assert answer.json() == {"compatibilityLevel": "BACKWARD"}
        assert answer.headers["content-type"] == "application/vnd.schemaregistry.v1+json"
    finally:
        process.terminate()
        process.wait(10)


def test_registry_serve_on_a_busy_port_is_one_line_and_announces_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        assert run(["registry", "serve", "--memory", "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"error: port {port} on 127.0.0.1 (schema registry) is in use; choose another with --port\n"
    )


def test_registry_serve_on_port_zero_announces_the_port_it_got() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", REGISTRY_COMMAND, "registry", "serve", "--memory", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("registry on http://127.0.0.1:"), line
        url = line.split()[2]
        assert not url.endswith(":0")
        answer = httpx.get(f"{url}/config", timeout=5)
        assert answer.json() == {"compatibilityLevel": "BACKWARD"}
    finally:
        process.terminate()
        process.wait(10)
