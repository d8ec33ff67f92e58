"""CLI start-up stays light, checked without timing: which modules a command imports before it
runs, in a fresh interpreter. bench/cli_startup.py measures the time itself."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from velocity_stream.cli.main import GROUPS, build_parser

# What no offline command needs at start: web stack, Kafka client, faust, Avro, databases.
HEAVY = (
    "faust",
    "mode",
    "aiokafka",
    "confluent_kafka",
    "fastavro",
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "httpx",
    "nacl",
    "cryptography",
)
# Parser building and --version/--help also need no pydantic (settings, contract models).
PYDANTIC = ("pydantic", "pydantic_core", "pydantic_settings")


def _imported(code: str) -> set[str]:
    script = f"import sys\n{code}\nimport json; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}


def _imported_by_cli(*argv: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "velocity_stream.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    modules = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return modules, done


def test_building_the_parser_for_help_imports_nothing_heavy() -> None:
    modules = _imported("from velocity_stream.cli.main import build_parser; build_parser(load=())")
    assert not modules & {*HEAVY, *PYDANTIC}


@pytest.mark.parametrize("argv", [("--version",), ("--help",)])
def test_version_and_help_import_nothing_heavy(argv: tuple[str, ...]) -> None:
    modules, done = _imported_by_cli(*argv)
    assert done.returncode == 0
    assert "velocity-stream" in done.stdout
    assert not modules & {*HEAVY, *PYDANTIC}


@pytest.mark.parametrize(
    "argv",
    [
        ("schemas", "list"),
        ("example", "QdSignalBundle"),
        ("keys", "generate", "--help"),
        ("acls", "plan"),
        ("validate", "--help"),
        ("dlq", "--help"),
        ("docs", "asyncapi", "--help"),
        ("schemas", "check", "--help"),
        ("topics", "list", "--help"),
        ("consume", "client360", "--help"),
        ("gateway", "--help"),
        ("dev", "--help"),
        ("broker", "--help"),
        ("produce", "--help"),
    ],
)
def test_offline_commands_and_help_of_the_others_import_nothing_heavy(
    argv: tuple[str, ...],
) -> None:
    modules, done = _imported_by_cli(*argv)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not modules & set(HEAVY)


def test_stub_commands_match_what_the_groups_register() -> None:
    """``GROUPS`` (names and help shown by --help) is what each group registers, in order."""
    full = build_parser()
    (action,) = [a for a in full._actions if isinstance(a, argparse._SubParsersAction)]
    registered = [(c.dest, c.help) for c in action._choices_actions]
    assert registered == [command for _, commands in GROUPS for command in commands]


def test_a_command_loads_its_own_group_and_stubs_the_others() -> None:
    parser = build_parser(load=("keys",))
    args = parser.parse_args(["keys", "generate", "--signer", "review-app"])
    assert args.handler is not None
    with pytest.raises(SystemExit):
        parser.parse_args(["keys", "nonsense"])
