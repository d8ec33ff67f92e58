"""Entry point of ``velocity-stream``: builds the parser from each command group and dispatches.

Start-up is kept light: ``main`` imports only the command group of the command it runs. The
other groups' commands are added as stubs (their name and one-line help, from ``GROUPS``), so
``--help`` lists every command without importing FastAPI, faust, the Kafka client or fastavro.
tests/unit/cli/test_startup.py checks that ``GROUPS`` matches what the groups register.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Collection, Sequence

from velocity_stream import __version__
from velocity_stream.cli.connect import run_connected
from velocity_stream.errors import SettingsError

# Each command group module exposes ``register(subparsers)``; the subcommand parsers it adds
# set ``handler`` (a function taking the parsed namespace and returning an exit code).
Handler = Callable[[argparse.Namespace], int]

# Command group modules (under velocity_stream.cli), in --help order, with the commands each
# registers and their one-line help (the same text the group passes to ``add_parser``).
GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "review_cmd",
        (
            ("serve", "serve the review web app (approval queue, clients, dead letters, JSON API)"),
            (
                "dev",
                "run everything on this machine (broker, registry, gateway, consumers, review "
                "app) with a demo",
            ),
        ),
    ),
    (
        "contracts_cmd",
        (
            ("schemas", "the contract catalog and its schemas"),
            ("example", "print a valid example artifact as JSON"),
            ("validate", "check a JSON artifact against its contract"),
        ),
    ),
    (
        "kafka_cmd",
        (
            (
                "broker",
                "run the embedded Tansu broker in the foreground (memory only, not durable)",
            ),
            ("topics", "provision and inspect the topics the catalog implies"),
            ("acls", "the broker ACLs each role needs, derived from the catalog"),
        ),
    ),
    ("registry_cmd", (("registry", "the embedded schema registry"),)),
    (
        "gateway_cmd",
        (
            (
                "gateway",
                "run a gateway worker: validate and route every artifact on the ingress topics",
            ),
        ),
    ),
    (
        "consumers_cmd",
        (("consume", "run a stream consumer: the Client360 read model or the graph committer"),),
    ),
    (
        "lineage_cmd",
        (
            (
                "trace",
                "the lineage of a field, node or artifact: commit, decision, proposal, evidence",
            ),
        ),
    ),
    ("dlq_cmd", (("dlq", "list, inspect and replay the gateway's dead letters"),)),
    ("docs_cmd", (("docs", "generated documentation of the contracts"),)),
    ("keys_cmd", (("keys", "signing keys of approval decisions"),)),
    (
        "console_cmd",
        (
            (
                "produce",
                "send JSON lines as validated artifacts of a family (to its ingress topic)",
            ),
            ("tail", "print a topic's records decoded, as JSON lines"),
        ),
    ),
)


def build_parser(load: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The ``velocity-stream`` parser. ``load=None`` registers every group (the full parser);
    otherwise only the groups of the commands in ``load`` are imported and registered, and the
    other commands are stubs that show in ``--help`` but parse nothing."""
    parser = argparse.ArgumentParser(
        prog="velocity-stream",
        description="Streaming contract gateway for Kafka: contracts, gateway, read models.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module, commands in GROUPS:
        if load is None or any(name in load for name, _ in commands):
            group = importlib.import_module(f"velocity_stream.cli.{module}")
            group.register(subparsers)
        else:
            for name, help_text in commands:
                subparsers.add_parser(name, help=help_text, add_help=False)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs: its first argument, unless that is an option."""
    return argv[0] if argv and not argv[0].startswith("-") else None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = _command(arguments)
    parser = build_parser(load=() if command is None else (command,))
    args = parser.parse_args(arguments)
    handler: Handler = args.handler
    try:
        return run_connected(handler, args)  # Kafka/registry checked first
    except SettingsError as error:  # a malformed variable, wherever it was first read
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
