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
from collections import Counter
from collections.abc import Callable
from typing import Any, TextIO

from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.dlq.audit import AuditLog, AuditRecord, audit_topic
from velocity_stream.dlq.filters import DeadLetterFilter, format_time
from velocity_stream.dlq.payload import DecodeAttempt, attempt_decode, framing, hex_dump
from velocity_stream.dlq.progress import ProgressBar
from velocity_stream.dlq.reader import TopicReader, read_audit_log, read_dead_letters
from velocity_stream.dlq.records import (
    DeadLetter,
    dead_letter_block_start,
    is_replay_excluded,
    parse_dead_letter,
)
from velocity_stream.dlq.replay import (
    Replayer,
    ReplayPlan,
    ReplayReport,
    ensure_audit_topic,
    plan_replay,
)
from velocity_stream.errors import VelocityError
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.settings import Settings, load_settings

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
    listing.add_argument("--limit", type=int, default=None, help="show at most N")
    _add_output(listing)
    listing.set_defaults(handler=_guarded(run_list))

    show = dlq_sub.add_parser("show", help="one dead letter: headers, reason, value, decode")
    show.add_argument("position", help="PARTITION:OFFSET on the dead-letter topic")
    show.add_argument("--full", action="store_true", help="dump the whole value, not 512 bytes")
    show.add_argument(
        "--no-decode", action="store_true", help="do not ask the schema registry to decode"
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
    replay.add_argument("--limit", type=int, default=None, help="replay at most N")
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
        type=int,
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
    enabled = args.progress if args.progress is not None else sys.stderr.isatty()
    return ProgressBar(sys.stderr, label) if enabled else None


def _context() -> tuple[Settings, Catalog]:
    settings = load_settings()
    return settings, load_catalog(settings.schemas_dir)


def _filter(args: argparse.Namespace, catalog: Catalog) -> DeadLetterFilter:
    return DeadLetterFilter.build(
        catalog, reasons=args.reason, families=args.family, since=args.since, until=args.until
    )


def _read(
    args: argparse.Namespace, settings: Settings, catalog: Catalog, reader: TopicReader
) -> tuple[list[DeadLetter], AuditLog, str]:
    prefix = settings.topic_prefix
    topic = catalog.dead_letter_topic(prefix)
    audit = read_audit_log(reader, audit_topic(catalog, prefix))
    bar = _progress(args, f"reading {topic}")
    try:
        found = read_dead_letters(
            reader,
            topic,
            catalog.ingress_topics(prefix),
            _filter(args, catalog),
            limit=args.limit,
            on_record=bar,
        )
    finally:
        if bar is not None:
            bar.finish()
    return found, audit, topic


# --- list ---------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    settings, catalog = _context()
    selection = _filter(args, catalog)  # fail on a bad filter before touching Kafka
    with TopicReader(settings) as reader:
        found, audit, topic = _read(args, settings, catalog, reader)
    if args.format == "json":
        rows = [_summary_json(d, audit.replays_of(d.coordinates)) for d in found]
        print(json.dumps({"topic": topic, "filter": selection.describe(), "dead_letters": rows}))
        return EXIT_OK
    if not found:
        print(f"no dead letters on {topic} ({selection.describe()})")
        return EXIT_OK
    _print_table(sys.stdout, found, audit)
    reasons = Counter(d.reason for d in found)
    summary = ", ".join(f"{code} {n}" for code, n in reasons.most_common())
    print(f"\n{len(found)} dead letters on {topic} ({selection.describe()}): {summary}")
    return EXIT_OK


def _print_table(out: TextIO, found: list[DeadLetter], audit: AuditLog) -> None:
    rows = [
        (
            d.position,
            format_time(d.time_ms),
            d.reason or "(no reason header)",
            d.family or "?",
            d.artifact_id or "-",
            _replayed_text(audit.last_replay(d.coordinates)),
        )
        for d in found
    ]
    header = ("POSITION", "DEAD-LETTERED", "REASON", "FAMILY", "ARTIFACT", "REPLAYED")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)), file=out
        )


def _replayed_text(record: AuditRecord | None) -> str:
    if record is None:
        return "-"
    return f"{record.replayed_at} by {record.operator}"


def _summary_json(dead_letter: DeadLetter, replays: list[AuditRecord]) -> dict[str, Any]:
    source = dead_letter.source
    return {
        "position": dead_letter.position,
        "partition": dead_letter.record.partition,
        "offset": dead_letter.record.offset,
        "dead_lettered_at": format_time(dead_letter.time_ms),
        "reason": dead_letter.reason,
        "stage": dead_letter.stage,
        "message": dead_letter.message,
        "field": dead_letter.field or None,
        "family": dead_letter.family,
        "artifact_id": dead_letter.artifact_id,
        "source": (
            {"topic": source[0], "partition": source[1], "offset": source[2]} if source else None
        ),
        "replays": [
            {
                "replay_id": r.replay_id,
                "operator": r.operator,
                "replayed_at": r.replayed_at,
                "forced": r.forced,
                "target": {"topic": r.target[0], "partition": r.target[1], "offset": r.target[2]},
            }
            for r in replays
        ],
    }


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
    settings, catalog = _context()
    partition, offset = _position(args.position)
    prefix = settings.topic_prefix
    topic = catalog.dead_letter_topic(prefix)
    ingress = catalog.ingress_topics(prefix)
    with TopicReader(settings) as reader:
        record = reader.read_one(topic, partition, offset)
        audit = read_audit_log(reader, audit_topic(catalog, prefix)) if record else AuditLog(())
    if record is None:
        print(f"no record at {topic} {partition}:{offset}", file=sys.stderr)
        return EXIT_INCOMPLETE
    dead_letter = parse_dead_letter(record, ingress)
    target = ingress.get(dead_letter.source_topic or "")
    serde = None if args.no_decode else _registry_serde(settings, catalog)
    attempt = attempt_decode(
        record.value, target[0] if target else None, target[1] if target else None, serde
    )
    replays = audit.replays_of(dead_letter.coordinates)
    if args.format == "json":
        body = _summary_json(dead_letter, replays)
        body.update(
            {
                "topic": topic,
                "gateway_version": dead_letter.gateway_version,
                "key": _bytes_json(record.key),
                "headers": [{"name": n, "value": _bytes_json(v)} for n, v in record.headers],
                "original_headers": [n for n, _ in dead_letter.original_headers],
                "value_hex": (record.value or b"").hex(),
                "decode": attempt.to_json(),
            }
        )
        print(json.dumps(body))
        return EXIT_OK
    _print_show(sys.stdout, topic, dead_letter, replays, attempt, full=args.full)
    return EXIT_OK


def _registry_serde(settings: Settings, catalog: Catalog) -> AvroSerde | None:
    """A serde reading writer schemas from the configured registry (None if unavailable)."""
    from velocity_stream.registry.client import RegistryClient, RegistrySchemaResolver

    try:
        client = RegistryClient.from_settings(settings)
        return AvroSerde(catalog, RegistrySchemaResolver(client), settings.topic_prefix)
    except VelocityError:
        return None


def _bytes_json(value: bytes | None) -> dict[str, str] | None:
    if value is None:
        return None
    try:
        return {"text": value.decode("utf-8")}
    except UnicodeDecodeError:
        return {"hex": value.hex()}


def _bytes_text(value: bytes | None) -> str:
    if value is None:
        return "(null)"
    try:
        return repr(value.decode("utf-8"))
    except UnicodeDecodeError:
        return f"0x{value.hex()}"


def _print_show(
    out: TextIO,
    topic: str,
    d: DeadLetter,
    replays: list[AuditRecord],
    attempt: DecodeAttempt,
    *,
    full: bool,
) -> None:
    record = d.record
    lines = [
        f"dead letter     {topic} {d.position}",
        f"dead-lettered   {format_time(d.time_ms)}",
        f"reason          {d.reason or '(no velocity.dlq.reason header)'}  (stage {d.stage})",
        f"message         {d.message}",
    ]
    if d.field:
        lines.append(f"field           {d.field}")
    source = d.source
    lines += [
        f"source          {source[0]} {source[1]}:{source[2]}" if source else "source          ?",
        f"family          {d.family or '?'}",
        f"artifact id     {d.artifact_id or '-'}",
        f"gateway         {d.gateway_version or '?'}",
        f"key             {_bytes_text(record.key)}",
        "headers (* = added by the gateway; a replay sends the others)",
    ]
    block = dead_letter_block_start(record.headers)
    for index, (name, value) in enumerate(record.headers):
        mark = "*" if index >= block or is_replay_excluded(name) else " "
        lines.append(f"  {mark} {name} = {_bytes_text(value)}")
    for replay in replays:
        target = f"{replay.target[0]} {replay.target[1]}:{replay.target[2]}"
        forced = " (forced)" if replay.forced else ""
        lines.append(
            f"replayed        {replay.replayed_at} by {replay.operator} -> {target}{forced}"
        )
    value = record.value or b""
    lines.append(f"value           {len(value)} bytes; {framing(record.value)[0]}")
    lines += ["  " + line for line in hex_dump(value, None if full else 512)]
    lines.append(f"decode          {attempt.stage}: {attempt.detail}")
    if attempt.record is not None:
        decoded = json.dumps(attempt.to_json()["record"], indent=2, sort_keys=True)
        lines += ["  " + line for line in decoded.splitlines()]
    print("\n".join(lines), file=out)


# --- replay -------------------------------------------------------------------------------


def run_replay(args: argparse.Namespace) -> int:
    settings, catalog = _context()
    selection = _filter(args, catalog)
    operator = args.operator or getpass.getuser()
    with TopicReader(settings) as reader:
        found, audit, topic = _read(args, settings, catalog, reader)
    ingress = catalog.ingress_topics(settings.topic_prefix)
    plan = plan_replay(found, audit, ingress, force=args.force)
    if args.dry_run or not plan.selected:
        _print_plan(args, topic, selection, plan, dry_run=True)
        return EXIT_OK
    if not args.yes and not _confirm(topic, plan):
        print("nothing replayed", file=sys.stderr)
        return EXIT_INCOMPLETE
    audit_name = ensure_audit_topic(settings, catalog, args.replication_factor)
    bar = _progress(args, "replaying")
    try:
        with Replayer(settings, catalog, operator=operator, audit_topic=audit_name) as replayer:
            report = replayer.run(plan, filter_text=selection.describe(), progress=bar)
    finally:
        if bar is not None:
            bar.finish()
    _print_report(args, topic, selection, report)
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


def _plan_json(plan: ReplayPlan) -> dict[str, Any]:
    return {
        "selected": [d.position for d in plan.selected],
        "targets": plan.targets(),
        "skipped": [
            {"position": s.dead_letter.position, "why": s.why.value, "detail": s.detail}
            for s in plan.skipped
        ],
        "forced": plan.forced,
    }


def _print_plan(
    args: argparse.Namespace,
    topic: str,
    selection: DeadLetterFilter,
    plan: ReplayPlan,
    *,
    dry_run: bool,
) -> None:
    if args.format == "json":
        body = {"topic": topic, "filter": selection.describe(), "dry_run": dry_run}
        body.update(_plan_json(plan))
        print(json.dumps(body))
        return
    verb = "would replay" if dry_run else "replaying"
    print(f"{verb} {len(plan.selected)} dead letters from {topic} ({selection.describe()})")
    for target, count in sorted(plan.targets().items()):
        print(f"  -> {target}: {count}")
    for skipped in plan.skipped:
        print(f"  skip {skipped.dead_letter.position}: {skipped.why.value}: {skipped.detail}")


def _print_report(
    args: argparse.Namespace, topic: str, selection: DeadLetterFilter, report: ReplayReport
) -> None:
    if args.format == "json":
        body: dict[str, Any] = {
            "topic": topic,
            "filter": selection.describe(),
            "dry_run": False,
            "replay_id": report.replay_id,
            "operator": report.operator,
            "audit_topic": report.audit_topic,
            "replayed": [
                {
                    "position": r.dead_letter.position,
                    "target": {
                        "topic": r.target[0],
                        "partition": r.target[1],
                        "offset": r.target[2],
                    },
                }
                for r in report.replayed
            ],
            "failed": [
                {"position": f.dead_letter.position, "error": f.error} for f in report.failed
            ],
        }
        body.update({k: v for k, v in _plan_json(report.plan).items() if k != "selected"})
        print(json.dumps(body))
        return
    print(
        f"replay {report.replay_id} by {report.operator}: {len(report.replayed)} replayed, "
        f"{len(report.plan.skipped)} skipped, {len(report.failed)} failed "
        f"(audit: {report.audit_topic})"
    )
    for replayed in report.replayed:
        t, p, o = replayed.target
        print(f"  {replayed.dead_letter.position} -> {t} {p}:{o}")
    for skipped in report.plan.skipped:
        print(f"  skip {skipped.dead_letter.position}: {skipped.why.value}: {skipped.detail}")
    for failure in report.failed:
        print(f"  FAILED {failure.dead_letter.position}: {failure.error}")
