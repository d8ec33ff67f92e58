"""``schemas list``, ``example`` and ``validate``: the contract catalog from the command line.

The catalog is ``VELOCITY_SCHEMAS_DIR``, else ``./avro_schemas`` of the current directory when
there is one, else the package's own (velocity_stream.settings); every command names the folder
it read. Imports are deferred to the handlers: the CLI imports this module whenever one of its
commands runs, and ``schemas check --help`` should not load the contract models.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from velocity_stream.errors import ConfigError, ContractError, VelocityError

if TYPE_CHECKING:
    from velocity_stream.contracts.catalog import Catalog, Family
    from velocity_stream.settings import Settings

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

    validate = subparsers.add_parser(
        "validate",
        help="check a JSON artifact against its contract",
        description="Check one JSON artifact (the form `velocity-stream example FAMILY` prints) "
        "against its family's contract. JSON types are strict: a number is a JSON number (not "
        '"0.5", not true), an int has no fraction, a timestamp is an ISO 8601 string with an '
        "offset. Exit 0: valid; 1: one line per violation (code, field, message); 2: the file, "
        "the family or the catalog cannot be used.",
    )
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


def _error(text: str) -> int:
    print(f"error: {text}", file=sys.stderr)
    return EXIT_UNREADABLE


def _load() -> tuple[Settings, Catalog]:
    """Settings and the catalog they name; ConfigError (naming the folder) when unusable."""
    from velocity_stream.contracts.catalog import load_catalog
    from velocity_stream.settings import load_settings

    try:
        settings = load_settings()
    except ValueError as error:  # pydantic's ValidationError: a malformed variable
        raise ConfigError(str(error).replace("\n", " ")) from None
    if not settings.schemas_dir.is_dir():
        raise ConfigError(f"the catalog folder {settings.schemas_dir} does not exist")
    return settings, load_catalog(settings.schemas_dir)


def _family(name: str) -> tuple[Catalog, Family]:
    catalog = _load()[1]
    return catalog, catalog.family(name)


def _list(args: argparse.Namespace) -> int:
    try:
        settings, catalog = _load()
    except VelocityError as error:
        return _error(str(error))
    rows: list[dict[str, Any]] = []
    for family in catalog.all_families():
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
                "consumers": list(family.consumers),
            }
        )
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        print(f"catalog: {catalog.root}", file=sys.stderr)
        return EXIT_OK
    width = max((len(r["family"]) for r in rows), default=0)
    for row in rows:
        print(
            f"{row['family']:<{width}}  {', '.join(row['versions']):<14} "
            f"{row['compatibility']:<20} {row['route']:<8} {', '.join(row['topics'])}"
        )
    print(f"{len(rows)} families in {catalog.root}")
    return EXIT_OK


def _example(args: argparse.Namespace) -> int:
    from velocity_stream.contracts.examples import example

    try:
        _, family = _family(args.family)
        artifact = example(family.name)
    except (VelocityError, KeyError) as error:  # KeyError: a family with no built-in example
        return _error(str(error))
    print(artifact.model_dump_json(indent=2))
    return EXIT_OK


def _read_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if path.is_dir():
        raise IsADirectoryError(f"{source} is a directory")
    return path.read_text(encoding="utf-8")


def _validate(args: argparse.Namespace) -> int:
    from velocity_stream.contracts.metadata import validate_json_artifact
    from velocity_stream.contracts.registry import model_for

    try:
        catalog, family = _family(args.family)
    except VelocityError as error:
        return _error(str(error))
    try:
        text = _read_text(args.file)
        data = json.loads(text)
    except FileNotFoundError:
        return _error(f"cannot read {args.file}: no such file")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        return _error(f"cannot read {args.file}: {reason}")
    except json.JSONDecodeError as error:
        return _error(f"cannot read {args.file}: not JSON ({error})")
    if not isinstance(data, dict):
        return _error(f"{args.file}: an artifact is a JSON object")
    try:
        validate_json_artifact(model_for(family.name), text)
    except ContractError as error:
        for violation in error.violations:
            print(f"{violation.code.value}\t{violation.path or '<artifact>'}\t{violation.message}")
        return EXIT_INVALID
    print(f"ok: {family.name} holds its contract (catalog {catalog.root})")
    return EXIT_OK
