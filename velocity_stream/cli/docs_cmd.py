"""``docs asyncapi``: write the AsyncAPI 3 document of the catalog."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from velocity_stream.asyncapi import build_document
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.settings import load_settings


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


def _asyncapi(args: argparse.Namespace) -> int:
    settings = load_settings()
    document = build_document(
        load_catalog(settings.schemas_dir), settings.topic_prefix, settings.kafka_bootstrap_servers
    )
    text = json.dumps(document, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output} ({len(document['channels'])} channels)", file=sys.stderr)
    return 0
