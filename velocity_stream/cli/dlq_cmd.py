"""``dlq list|show|replay``: inspect the gateway's dead letters and send them back through it.

Thin: parse, call velocity_stream.dlq, print. Results go to stdout (text or JSON); progress bars
and prompts go to stderr. Exit codes: 0 done, 1 something was not found or not replayed,
2 the command could not run (settings, broker, audit topic).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from velocity_stream.cli.numbers import whole
from velocity_stream.errors import VelocityError

# The dead-letter tools load the Kafka client, fastavro and the gateway's core: imported when a
# command runs, not when the CLI builds its parser.
if TYPE_CHECKING:
    from velocity_stream.contracts.catalog import Catalog
    from velocity_stream.dlq.audit import AuditLog
    from velocity_stream.dlq.filters import DeadLetterFilter
    from velocity_stream.dlq.progress import ProgressBar
    from velocity_stream.dlq.records import DeadLetter
    from velocity_stream.dlq.replay import ReplayPlan
    from velocity_stream.kafka.reader import TopicReader
    from velocity_stream.serde.avro import AvroSerde
    from velocity_stream.settings import Settings

EXIT_OK, EXIT_INCOMPLETE, EXIT_FAILED = 0, 1, 2

Handler = Callable[[argparse.Namespace], int]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dlq list``, ``dlq show`` and ``dlq replay`` to the ``velocity-stream`` parser."""
    dlq = subparsers.add_parser(
        "dlq",
        help="list, inspect and replay the gateway's dead letters",
        description="Dead letters keep the refused input's key, value and headers plus "
        "velocity.dlq.* reason headers. A replay sends the original record back to its "
        "ingress topic, through the gateway, and records it on the audit topic.",
    )
    dlq_sub = dlq.add_subparsers(dest="dlq_command", metavar="COMMAND")
    dlq_sub.required = True

    listing = dlq_sub.add_parser("list", help="dead letters matching the filters")
    _add_filters(listing)
    listing.add_argument("--limit", type=whole(1), default=None, help="show at most N")
    _add_output(listing)
    listing.set_defaults(handler=_guarded(run_list))

    show = dlq_sub.add_parser("show", help="one dead letter: headers, reason, value, decode")
    show.add_argument("position", help="PARTITION:OFFSET on the dead-letter topic")
    show.add_argument("--full", action="store_true", help="dump the whole value, not 512 bytes")
    show.add_argument(
        "--no-decode", action="store_true", help="do not decode the value (no registry call)"
    )
    show.add_argument("--format", choices=("text", "json"), default="text")
    show.set_defaults(handler=_guarded(run_show))

    replay = dlq_sub.add_parser(
        "replay",
        help="send dead letters back to their ingress topic (through the gateway), audited",
        description="Republishes each selected dead letter's original key, value and headers "
        "to the ingress topic it was refused on, with velocity.replay.* headers naming it. "
        "Dead letters replayed before (per the audit topic) are skipped unless --force.",
    )
    _add_filters(replay)
    replay.add_argument("--limit", type=whole(1), default=None, help="replay at most N")
    replay.add_argument("--dry-run", action="store_true", help="show the plan, send nothing")
    replay.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    replay.add_argument(
        "--force",
        action="store_true",
        help="replay dead letters the audit log says were replayed already",
    )
    replay.add_argument(
        "--operator", default=None, help="who is replaying, for the audit (default: OS user)"
    )
    replay.add_argument(
        "--replication-factor",
        type=whole(1),
        default=None,
        help="for the audit topic if it must be created (default: the catalog's)",
    )
    _add_output(replay)
    replay.set_defaults(handler=_guarded(run_replay))


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reason",
        action="append",
        default=[],
        metavar="CODE",
        help="reason code or prefix (state, state.*, contract.import_row); repeatable",
    )
    parser.add_argument(
        "--family", action="append", default=[], metavar="NAME", help="artifact family; repeatable"
    )
    parser.add_argument("--since", default=None, metavar="ISO", help="dead-lettered at or after")
    parser.add_argument("--until", default=None, metavar="ISO", help="dead-lettered before")


def _add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text")
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="progress on stderr even when it is not a terminal",
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false")


def _guarded(handler: Handler) -> Handler:
    """Expected failures (settings, broker, catalog) become one line on stderr and exit 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except VelocityError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_FAILED

    return run


def _progress(args: argparse.Namespace, label: str) -> ProgressBar | None:
    from velocity_stream.dlq.progress import ProgressBar

    enabled = args.progress if args.progress is not None else sys.stderr.isatty()
    return ProgressBar(sys.stderr, label) if enabled else None


def _context() -> tuple[Settings, Catalog]:
    from velocity_stream.contracts.catalog import load_catalog
    from velocity_stream.settings import load_settings

    settings = load_settings()
    return settings, load_catalog(settings.schemas_dir)


def _filter(args: argparse.Namespace, catalog: Catalog) -> DeadLetterFilter:
    from velocity_stream.dlq.filters import DeadLetterFilter

    return DeadLetterFilter.build(
        catalog, reasons=args.reason, families=args.family, since=args.since, until=args.until
    )


def _read(
    args: argparse.Namespace,
    settings: Settings,
    catalog: Catalog,
    reader: TopicReader,
    *,
    limit: int | None,
) -> tuple[list[DeadLetter], AuditLog, str]:
    from velocity_stream.dlq.audit import audit_topic
    from velocity_stream.dlq.reader import read_audit_log, read_dead_letters

    prefix = settings.topic_prefix
    topic = catalog.dead_letter_topic(prefix)
    audit = read_audit_log(
        reader, audit_topic(catalog, prefix), _audit_serde(settings, catalog), catalog
    )
    bar = _progress(args, f"reading {topic}")
    try:
        found = read_dead_letters(
            reader,
            topic,
            catalog.ingress_topics(prefix),
            _filter(args, catalog),
            limit=limit,
            on_record=bar,
        )
    finally:
        if bar is not None:
            bar.finish()
    return found, audit, topic


# --- list ---------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    from velocity_stream.dlq import render
    from velocity_stream.kafka.reader import TopicReader

    settings, catalog = _context()
    selection = _filter(args, catalog)  # fail on a bad filter before touching Kafka
    with TopicReader(settings, role="dlq-reader") as reader:
        found, audit, topic = _read(args, settings, catalog, reader, limit=args.limit)
    if args.format == "json":
        rows = [render.dead_letter_json(d, audit.replays_of(d.coordinates)) for d in found]
        print(json.dumps({"topic": topic, "filter": selection.describe(), "dead_letters": rows}))
        return EXIT_OK
    if not found:
        print(f"no dead letters on {topic} ({selection.describe()})")
        return EXIT_OK
    print("\n".join(render.table_lines(found, audit)))
    print(f"\n{len(found)} dead letters on {topic} ({selection.describe()}): ", end="")
    print(render.reason_summary(found))
    return EXIT_OK


# --- show ---------------------------------------------------------------------------------


def _position(text: str) -> tuple[int, int]:
    partition, sep, offset = text.partition(":")
    try:
        if not sep:
            raise ValueError(text)
        return int(partition), int(offset)
    except ValueError:
        raise VelocityError(f"{text!r} is not PARTITION:OFFSET (e.g. 3:1042)") from None


def run_show(args: argparse.Namespace) -> int:
    from velocity_stream.dlq import render
    from velocity_stream.dlq.audit import AuditLog, audit_topic
    from velocity_stream.dlq.payload import DecodeAttempt, attempt_decode, framing
    from velocity_stream.dlq.reader import read_audit_log
    from velocity_stream.dlq.records import parse_dead_letter
    from velocity_stream.kafka.reader import TopicReader

    settings, catalog = _context()
    partition, offset = _position(args.position)
    prefix = settings.topic_prefix
    topic = catalog.dead_letter_topic(prefix)
    ingress = catalog.ingress_topics(prefix)
    with TopicReader(settings, role="dlq-reader") as reader:
        record = reader.read_one(topic, partition, offset)
        audit = (
            read_audit_log(
                reader, audit_topic(catalog, prefix), _audit_serde(settings, catalog), catalog
            )
            if record
            else AuditLog(())
        )
    if record is None:
        print(f"no record at {topic} {partition}:{offset}", file=sys.stderr)
        return EXIT_INCOMPLETE
    dead_letter = parse_dead_letter(record, ingress)
    target = ingress.get(dead_letter.source_topic or "")
    if args.no_decode:
        text, schema_id = framing(record.value)
        attempt = DecodeAttempt("skipped", f"{text}; not decoded (--no-decode)", schema_id)
    else:
        serde = _registry_serde(settings, catalog)
        family, major = target if target else (None, None)
        attempt = attempt_decode(record.value, family, major, serde)
    replays = audit.replays_of(dead_letter.coordinates)
    if args.format == "json":
        print(json.dumps(render.detail_json(topic, dead_letter, replays, attempt)))
    else:
        print("\n".join(render.show_lines(topic, dead_letter, replays, attempt, full=args.full)))
    return EXIT_OK


def _registry_serde(settings: Settings, catalog: Catalog) -> AvroSerde | None:
    """A serde with the gateway's schema source: the registry when SCHEMA_REGISTRY_URL is set,
    else the catalog's schemas registered locally in the gateway's fixed order."""
    from velocity_stream.registry.resolvers import resolver_for
    from velocity_stream.serde.avro import AvroSerde

    try:
        return AvroSerde(catalog, resolver_for(settings, catalog), settings.topic_prefix)
    except VelocityError:
        return None


def _audit_serde(settings: Settings, catalog: Catalog) -> AvroSerde:
    """The serde the audit records are written and read with; a VelocityError (one line for
    the operator) when there is no schema source."""
    serde = _registry_serde(settings, catalog)
    if serde is None:
        raise VelocityError(
            "cannot read or write replay audit records: no schema source (check "
            "SCHEMA_REGISTRY_URL)"
        )
    return serde


# --- replay -------------------------------------------------------------------------------


def run_replay(args: argparse.Namespace) -> int:
    from velocity_stream.dlq import render
    from velocity_stream.dlq.replay import Replayer, ensure_audit_topic, plan_replay
    from velocity_stream.kafka.reader import TopicReader

    settings, catalog = _context()
    selection = _filter(args, catalog)
    operator = args.operator or getpass.getuser()
    with TopicReader(settings, role="dlq-reader") as reader:
        # --limit counts dead letters to replay, not dead letters read: read them all.
        found, audit, topic = _read(args, settings, catalog, reader, limit=None)
    ingress = catalog.ingress_topics(settings.topic_prefix)
    plan = plan_replay(found, audit, ingress, force=args.force, limit=args.limit)
    head = {"topic": topic, "filter": selection.describe()}
    if args.dry_run or not plan.selected:
        if args.format == "json":
            print(json.dumps({**head, "dry_run": args.dry_run, **render.plan_json(plan)}))
        else:
            lines = render.plan_lines(topic, selection.describe(), plan, dry_run=args.dry_run)
            print("\n".join(lines))
        return EXIT_OK
    if not args.yes and not _confirm(topic, plan):
        print("nothing replayed", file=sys.stderr)
        return EXIT_INCOMPLETE
    audit_name = ensure_audit_topic(settings, catalog, args.replication_factor)
    bar = _progress(args, "replaying")
    try:
        serde = _audit_serde(settings, catalog)
        with Replayer(
            settings, catalog, operator=operator, audit_topic=audit_name, serde=serde
        ) as replayer:
            report = replayer.run(plan, filter_text=selection.describe(), progress=bar)
    finally:
        if bar is not None:
            bar.finish()
    if args.format == "json":
        print(json.dumps({**head, "dry_run": False, **render.report_json(report)}))
    else:
        print("\n".join(render.report_lines(report)))
    return EXIT_OK if report.ok else EXIT_INCOMPLETE


def _confirm(topic: str, plan: ReplayPlan) -> bool:
    if not sys.stdin.isatty():
        print(
            f"refusing to replay {len(plan.selected)} dead letters without --yes "
            "(standard input is not a terminal); --dry-run shows the plan",
            file=sys.stderr,
        )
        return False
    targets = ", ".join(f"{t} ({n})" for t, n in sorted(plan.targets().items()))
    sys.stderr.write(f"replay {len(plan.selected)} dead letters from {topic} to {targets}? [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")
