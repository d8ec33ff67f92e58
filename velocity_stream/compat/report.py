"""Renders compatibility findings for people and machines: plain text, JSON, and GitHub Actions
workflow annotations (``::error file=...,line=...,title=...::message``) that point at the .avsc."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

from velocity_stream.compat.issues import CompatibilityResult, JsonValue
from velocity_stream.compat.pointers import line_of_field
from velocity_stream.compat.policy import PolicyReport, PolicyViolation


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"


def render(report: PolicyReport, output: OutputFormat | str, root: Path | None = None) -> str:
    """The report in ``output`` format; file paths are shown relative to ``root`` (default cwd)."""
    output = OutputFormat(output)
    base = (root or Path.cwd()).resolve()
    if output is OutputFormat.JSON:
        return render_json(report, base)
    if output is OutputFormat.GITHUB:
        return render_github(report, base)
    return render_text(report, base)


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _summary(report: PolicyReport) -> str:
    against = f", against {report.against_ref}" if report.against_ref else ""
    scope = (
        f"{report.families} families, {report.versions} versions, "
        f"{report.pairs_checked} schema pairs checked{against}"
    )
    if report.ok:
        return f"schemas check: ok ({scope})"
    count = len(report.violations)
    return f"schemas check: {count} violation{'s' if count != 1 else ''} ({scope})"


def render_text(report: PolicyReport, root: Path) -> str:
    lines: list[str] = []
    for violation in report.violations:
        lines.append(f"{_shown(violation.file, root)}: [{_label(violation)}] {violation.message}")
        lines.append(f"    fix: {violation.hint}")
    lines.append(_summary(report))
    return "\n".join(lines)


def _label(violation: PolicyViolation) -> str:
    return (
        f"{violation.kind.value}/{violation.code.value}" if violation.code else violation.kind.value
    )


def render_json(report: PolicyReport, root: Path) -> str:
    violations: list[JsonValue] = []
    for violation in report.violations:
        entry = violation.to_dict()
        entry["file"] = _shown(violation.file, root)
        violations.append(entry)
    document: dict[str, JsonValue] = {
        "ok": report.ok,
        "families": report.families,
        "versions": report.versions,
        "pairs_checked": report.pairs_checked,
        "against": report.against_ref,
        "violations": violations,
    }
    return json.dumps(document, indent=2)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _line(violation: PolicyViolation) -> int | None:
    # The field path was taken from the reader's schema; its names usually appear in the file
    # being fixed too, so the annotation lands on the field even for a forward-direction break.
    if not violation.field_path or not violation.file.is_file():
        return None
    try:
        text = violation.file.read_text(encoding="utf-8")
    except OSError:
        return None
    return line_of_field(text, violation.field_path)


def render_github(report: PolicyReport, root: Path) -> str:
    lines: list[str] = []
    for violation in report.violations:
        properties = [f"file={_escape_property(_shown(violation.file, root))}"]
        line = _line(violation)
        if line is not None:
            properties.append(f"line={line}")
        title = f"{violation.family} {violation.version}: {_label(violation)}"
        properties.append(f"title={_escape_property(title)}")
        body = f"{violation.message}. Fix: {violation.hint}"
        lines.append(f"::error {','.join(properties)}::{_escape_data(body)}")
    lines.append(_summary(report))
    return "\n".join(lines)


def render_result(result: CompatibilityResult) -> str:
    """One pair's result as text: one line per issue, with its location and fix."""
    if result.compatible:
        return "compatible"
    return "\n".join(
        f"{issue.code.value} at {issue.location or '/'}: {issue.message} (fix: {issue.hint})"
        for issue in result.issues
    )
