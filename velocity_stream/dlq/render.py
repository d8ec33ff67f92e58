"""Dead letters, replay plans and replay reports as text lines and JSON values. Pure.

The CLI prints these; keeping them here lets tests check the output without a broker, and keeps
the JSON shapes (which scripts depend on) in one place.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from velocity_stream.dlq.audit import AuditLog, AuditRecord
from velocity_stream.dlq.filters import format_time
from velocity_stream.dlq.payload import DecodeAttempt, framing, hex_dump
from velocity_stream.dlq.records import (
    Coordinates,
    DeadLetter,
    dead_letter_block_start,
    is_replay_excluded,
)
from velocity_stream.dlq.replay import ReplayPlan, ReplayReport


def coords_json(coordinates: Coordinates | None) -> dict[str, object] | None:
    if coordinates is None:
        return None
    topic, partition, offset = coordinates
    return {"topic": topic, "partition": partition, "offset": offset}


def bytes_json(value: bytes | None) -> dict[str, str] | None:
    """Text when the bytes are UTF-8, else hex: JSON cannot hold raw bytes."""
    if value is None:
        return None
    try:
        return {"text": value.decode("utf-8")}
    except UnicodeDecodeError:
        return {"hex": value.hex()}


def bytes_text(value: bytes | None) -> str:
    if value is None:
        return "(null)"
    try:
        return repr(value.decode("utf-8"))
    except UnicodeDecodeError:
        return f"0x{value.hex()}"


def replay_json(record: AuditRecord) -> dict[str, object]:
    return {
        "replay_id": record.replay_id,
        "operator": record.operator,
        "replayed_at": record.replayed_at,
        "forced": record.forced,
        "target": coords_json(record.target),
    }


def dead_letter_json(dead_letter: DeadLetter, replays: list[AuditRecord]) -> dict[str, Any]:
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
        "source": coords_json(dead_letter.source),
        "dropped": list(dead_letter.dropped),
        "replays": [replay_json(r) for r in replays],
    }


def detail_json(
    topic: str, dead_letter: DeadLetter, replays: list[AuditRecord], attempt: DecodeAttempt
) -> dict[str, Any]:
    """Everything ``dlq show`` knows, for ``--format json``."""
    record = dead_letter.record
    body = dead_letter_json(dead_letter, replays)
    body.update(
        {
            "topic": topic,
            "gateway_version": dead_letter.gateway_version,
            "key": bytes_json(record.key),
            "headers": [{"name": n, "value": bytes_json(v)} for n, v in record.headers],
            "replayed_headers": [n for n, _ in dead_letter.original_headers],
            "value_hex": (record.value or b"").hex(),
            "decode": attempt.to_json(),
        }
    )
    return body


def _replayed_text(record: AuditRecord | None) -> str:
    return "-" if record is None else f"{record.replayed_at} by {record.operator}"


def table_lines(found: list[DeadLetter], audit: AuditLog) -> list[str]:
    """One aligned row per dead letter, with a header row."""
    header = ("POSITION", "DEAD-LETTERED", "REASON", "FAMILY", "ARTIFACT", "REPLAYED")
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
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def reason_summary(found: list[DeadLetter]) -> str:
    counts = Counter(d.reason for d in found)
    return ", ".join(f"{code} {n}" for code, n in counts.most_common())


def show_lines(
    topic: str,
    d: DeadLetter,
    replays: list[AuditRecord],
    attempt: DecodeAttempt,
    *,
    full: bool = False,
) -> list[str]:
    """``dlq show`` as text: reason, origin, headers (gateway ones starred), value, decode."""
    record = d.record
    source = d.source
    lines = [
        f"dead letter     {topic} {d.position}",
        f"dead-lettered   {format_time(d.time_ms)}",
        f"reason          {d.reason or '(no velocity.dlq.reason header)'}  (stage {d.stage})",
        f"message         {d.message}",
    ]
    if d.field:
        lines.append(f"field           {d.field}")
    if d.dropped:
        lines.append(f"left out        {', '.join(d.dropped)} (too large; see the source)")
    lines += [
        f"source          {source[0]} {source[1]}:{source[2]}" if source else "source          ?",
        f"family          {d.family or '?'}",
        f"artifact id     {d.artifact_id or '-'}",
        f"gateway         {d.gateway_version or '?'}",
        f"key             {bytes_text(record.key)}",
        "headers         (* = not sent by a replay: the gateway's, or an earlier replay's)",
    ]
    block = dead_letter_block_start(record.headers)
    for index, (name, value) in enumerate(record.headers):
        mark = "*" if index >= block or is_replay_excluded(name) else " "
        lines.append(f"  {mark} {name} = {bytes_text(value)}")
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
    return lines


def plan_json(plan: ReplayPlan) -> dict[str, Any]:
    return {
        "selected": [d.position for d in plan.selected],
        "targets": plan.targets(),
        "skipped": [
            {"position": s.dead_letter.position, "why": s.why.value, "detail": s.detail}
            for s in plan.skipped
        ],
        "forced": plan.forced,
    }


def plan_lines(topic: str, selection: str, plan: ReplayPlan, *, dry_run: bool = True) -> list[str]:
    """A dry run's plan, or why a replay found nothing to send."""
    if dry_run:
        lines = [f"would replay {len(plan.selected)} dead letters from {topic} ({selection})"]
    else:
        lines = [f"nothing to replay from {topic} ({selection})"]
    lines += [f"  -> {t}: {n}" for t, n in sorted(plan.targets().items())]
    lines += [f"  skip {s.dead_letter.position}: {s.why.value}: {s.detail}" for s in plan.skipped]
    return lines


def report_json(report: ReplayReport) -> dict[str, Any]:
    body: dict[str, Any] = {
        "replay_id": report.replay_id,
        "operator": report.operator,
        "audit_topic": report.audit_topic,
        "replayed": [
            {"position": r.dead_letter.position, "target": coords_json(r.target)}
            for r in report.replayed
        ],
        "failed": [{"position": f.dead_letter.position, "error": f.error} for f in report.failed],
    }
    body.update({k: v for k, v in plan_json(report.plan).items() if k != "selected"})
    return body


def report_lines(report: ReplayReport) -> list[str]:
    lines = [
        f"replay {report.replay_id} by {report.operator}: {len(report.replayed)} replayed, "
        f"{len(report.plan.skipped)} skipped, {len(report.failed)} failed "
        f"(audit: {report.audit_topic})"
    ]
    for replayed in report.replayed:
        t, p, o = replayed.target
        lines.append(f"  {replayed.dead_letter.position} -> {t} {p}:{o}")
    lines += [
        f"  skip {s.dead_letter.position}: {s.why.value}: {s.detail}" for s in report.plan.skipped
    ]
    lines += [f"  FAILED {f.dead_letter.position}: {f.error}" for f in report.failed]
    return lines
