"""Entry point of ``velocity-stream``: builds the parser from each command group and dispatches."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from velocity_stream import __version__

# Each command group module exposes ``register(subparsers)``; the subcommand parsers it adds
# set ``handler`` (a function taking the parsed namespace and returning an exit code).
Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    from velocity_stream.cli import (
        console_cmd,
        consumers_cmd,
        contracts_cmd,
        dlq_cmd,
        docs_cmd,
        gateway_cmd,
        kafka_cmd,
        keys_cmd,
        registry_cmd,
        review_cmd,
    )

    parser = argparse.ArgumentParser(
        prog="velocity-stream",
        description="Streaming contract gateway for Kafka: contracts, gateway, read models.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    groups = (
        review_cmd,
        contracts_cmd,
        kafka_cmd,
        registry_cmd,
        gateway_cmd,
        consumers_cmd,
        dlq_cmd,
        docs_cmd,
        keys_cmd,
        console_cmd,
    )
    for group in groups:
        group.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
