"""``schemas list``, ``example`` and ``validate``: the contract catalog from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.errors import ConfigError, ContractError
from velocity_stream.settings import load_settings

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schemas = subparsers.add_parser("schemas", help="the contract catalog and its schemas")
    schemas_sub = schemas.add_subparsers(dest="schemas_command", metavar="COMMAND")
    schemas_sub.required = True
    listing = schemas_sub.add_parser("list", help="families, versions, topics and modes")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    listing.set_defaults(handler=_list)
    _register_schema_subcommands(schemas_sub)

    example = subparsers.add_parser("example", help="print a valid example artifact as JSON")
    example.add_argument("family", help="artifact name, e.g. QdSignalBundle or qd-signal-bundle")
    example.set_defaults(handler=_example)

    validate = subparsers.add_parser("validate", help="check a JSON artifact against its contract")
    validate.add_argument("family")
    validate.add_argument("file", help="a JSON artifact, or - for standard input")
    validate.set_defaults(handler=_validate)


def _register_schema_subcommands(
    schemas_sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """``schemas`` subcommands that live with the package they drive."""
    from velocity_stream.cli.registry_cmd import add_register_command
    from velocity_stream.cli.schemas_check import add_check_command

    add_check_command(schemas_sub)
    add_register_command(schemas_sub)


def _catalog() -> Catalog:
    return load_catalog(load_settings().schemas_dir)


def _list(args: argparse.Namespace) -> int:
    settings = load_settings()
    catalog = load_catalog(settings.schemas_dir)
    rows: list[dict[str, Any]] = []
    for family in catalog:
        rows.append(
            {
                "family": family.name,
                "versions": [str(v.version) for v in family.versions],
                "topics": [
                    family.ingress_topic(settings.topic_prefix, major) for major in family.majors()
                ],
                "compatibility": family.compatibility.value,
                "route": family.route.value,
                "key": family.key_field,
                "producers": list(family.producers),
            }
        )
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    width = max(len(r["family"]) for r in rows)
    for row in rows:
        print(
            f"{row['family']:<{width}}  {', '.join(row['versions']):<14} "
            f"{row['compatibility']:<20} {row['route']:<8} {', '.join(row['topics'])}"
        )
    return EXIT_OK


def _example(args: argparse.Namespace) -> int:
    from velocity_stream.contracts.examples import example

    try:
        family = _catalog().family(args.family)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(example(family.name).model_dump_json(indent=2))
    return EXIT_OK


def _read_json(source: str) -> Any:
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return json.loads(text)


def _validate(args: argparse.Namespace) -> int:
    from velocity_stream.contracts.metadata import validate_artifact
    from velocity_stream.contracts.registry import model_for

    try:
        family = _catalog().family(args.family)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        data = _read_json(args.file)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        print(f"error: cannot read {args.file}: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    if not isinstance(data, dict):
        print(f"error: {args.file}: an artifact is a JSON object", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        validate_artifact(model_for(family.name), data)
    except ContractError as error:
        for violation in error.violations:
            print(f"{violation.code.value}\t{violation.path or '<artifact>'}\t{violation.message}")
        return EXIT_INVALID
    print(f"ok: {family.name} holds its contract")
    return EXIT_OK
