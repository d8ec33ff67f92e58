"""``docs asyncapi``: write the AsyncAPI 3 document of the catalog."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from velocity_stream.errors import VelocityError

EXIT_OK, EXIT_UNUSABLE = 0, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    docs = subparsers.add_parser("docs", help="generated documentation of the contracts")
    docs_sub = docs.add_subparsers(dest="docs_command", metavar="COMMAND")
    docs_sub.required = True
    asyncapi = docs_sub.add_parser(
        "asyncapi", help="write an AsyncAPI 3 document of every topic, message and owner"
    )
    asyncapi.add_argument(
        "-o", "--output", type=Path, help="file to write (default: standard output)"
    )
    asyncapi.set_defaults(handler=_asyncapi)


def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written, checked before the catalog is read; None if it can."""
    if path.is_dir():
        return f"{path} is a directory"
    parent = path.parent
    if not parent.is_dir():
        return f"{parent} is not a directory" if parent.exists() else f"no directory {parent}"
    return None


def _asyncapi(args: argparse.Namespace) -> int:
    from velocity_stream.asyncapi import build_document
    from velocity_stream.contracts.catalog import load_catalog
    from velocity_stream.settings import load_settings

    output: Path | None = args.output
    if output is not None and (why := _unwritable(output)) is not None:
        print(f"error: cannot write {output}: {why}", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        settings = load_settings()
        catalog = load_catalog(settings.schemas_dir)
    except (VelocityError, ValueError) as error:  # ValueError: a malformed variable
        print(f"error: {str(error).replace(chr(10), ' ')}", file=sys.stderr)
        return EXIT_UNUSABLE
    document = build_document(catalog, settings.topic_prefix, settings.kafka_bootstrap_servers)
    text = json.dumps(document, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"error: cannot write {output}: {error.strerror or error}", file=sys.stderr)
        return EXIT_UNUSABLE
    channels = len(document["channels"])
    print(f"wrote {output} ({channels} channels, catalog {catalog.root})", file=sys.stderr)
    return EXIT_OK
