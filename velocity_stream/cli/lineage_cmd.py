"""``velocity-stream trace REF``: where a Client360 field, a committed node or any artifact came
from, read from the stores in VELOCITY_STORE_URL (consumers/lineage). No Kafka is involved.

REF is an artifact id, a proposal, decision or change id, a client or node ref, a bundle,
transcript or signal id, an import row id (``<batch>/row/<n>``) or a batch id; ``NODE#FIELD``
(or ``--field``) names one field of a node. Exit 0 with the trail, 1 when no store knows the
ref, 2 when the store cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_UNKNOWN, EXIT_FAILED = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``trace`` command."""
    trace = subparsers.add_parser(
        "trace",
        help="the lineage of a field, node or artifact: commit, decision, proposal, evidence",
        description="Follow REF through the stores (graph committer, Client360, imports, "
        "governance, intel) back to the change that committed it, the decision and its "
        "reviewer, the proposal, its evidence and the raw import rows it came from. REF is an "
        "artifact, proposal, decision, change, client, node, bundle, transcript, signal, "
        "import row (<batch>/row/<n>) or batch id; NODE#FIELD names one field of a node.",
    )
    trace.add_argument("ref", metavar="REF")
    trace.add_argument("--field", help="one field of REF (a node or client), e.g. email")
    trace.add_argument("--json", action="store_true", help="print the trail as JSON")
    trace.add_argument("--store-url", help="SQLAlchemy URL (default VELOCITY_STORE_URL)")
    trace.add_argument(
        "--table-prefix", default="", help="prefix of the stores' table names (as the workers')"
    )
    trace.set_defaults(handler=_run_trace)


def _run_trace(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from consumers.lineage import Lineage, UnknownRef, render_text
    from consumers.storage import open_engine
    from velocity_stream.errors import VelocityError
    from velocity_stream.settings import load_settings

    try:
        url = args.store_url or load_settings().store_url
        engine = open_engine(url)
    except (VelocityError, SQLAlchemyError, ValueError, ImportError) as error:
        print(f"error: the store cannot be opened: {_one_line(error)}", file=sys.stderr)
        return EXIT_FAILED
    try:
        trail = Lineage(engine, args.table_prefix).trace(args.ref, args.field)
    except UnknownRef as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return EXIT_UNKNOWN
    except (VelocityError, SQLAlchemyError) as error:
        where = engine.url.render_as_string(hide_password=True)
        print(f"error: the store {where} cannot be read: {_one_line(error)}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(trail.to_json(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render_text(trail))
    return EXIT_OK


def _one_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
