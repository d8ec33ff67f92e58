"""``velocity-stream schemas check [--against GIT_REF] [--format text|json|github]``: the schema
versioning policy in CI. Exit 0 when it holds, 1 on any violation, 2 on usage or I/O errors.

The ``schemas`` group belongs to ``cli/contracts_cmd.py``; it calls :func:`add_check_command`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from velocity_stream.errors import ConfigError

EXIT_OK, EXIT_VIOLATIONS, EXIT_UNUSABLE = 0, 1, 2


def add_check_command(
    schemas_subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add ``check`` to the ``schemas`` command group."""
    check = schemas_subparsers.add_parser(
        "check",
        help="check schema evolution: compatibility within majors, reader mappings, immutability",
        description=(
            "Check every family of the catalog: each version compatible (in the family's mode) "
            "with every earlier version of its major; a breaking major only with a registered "
            "reader mapping; models matching their schemas. With --against, released versions "
            "at that git ref must be unchanged and new versions are checked against them."
        ),
    )
    check.add_argument(
        "--against",
        metavar="GIT_REF",
        help="a git ref whose released schemas must be kept (e.g. origin/main, HEAD~1)",
    )
    check.add_argument(
        "--format",
        choices=("text", "json", "github"),  # velocity_stream.compat.report.OutputFormat
        default="text",
        help="text (default), json, or github workflow annotations",
    )
    check.add_argument(
        "--schemas-dir",
        type=Path,
        default=None,
        help="the schema folder (default: VELOCITY_SCHEMAS_DIR, else ./avro_schemas when there "
        "is one, else the packaged avro_schemas/)",
    )
    check.add_argument("--skip-models", action="store_true", help="do not check model/schema drift")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    # Imported here: the compatibility checker loads fastavro, and the CLI imports this module
    # whenever the `schemas` group is used.
    from velocity_stream.compat.catalog_check import check_catalog
    from velocity_stream.compat.git_snapshot import GitSnapshotError
    from velocity_stream.compat.report import render
    from velocity_stream.settings import load_settings

    try:
        schemas_dir: Path = (args.schemas_dir or load_settings().schemas_dir).resolve()
        if not schemas_dir.is_dir():
            raise ConfigError(f"the catalog folder {schemas_dir} does not exist")
        report = check_catalog(schemas_dir, args.against, check_models=not args.skip_models)
    except (ConfigError, GitSnapshotError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    except ValueError as error:  # pydantic's ValidationError: a malformed variable
        print(f"error: {str(error).replace(chr(10), ' ')}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(render(report, args.format))
    # which catalog was checked: on stdout beside text, on stderr beside a JSON document
    where = sys.stderr if args.format == "json" else sys.stdout
    print(f"catalog: {schemas_dir}", file=where)
    return EXIT_OK if report.ok else EXIT_VIOLATIONS
