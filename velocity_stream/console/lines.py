"""JSON lines to validated artifacts, and the per-line report of what was refused. Pure.

One artifact per line, as ``velocity-stream example FAMILY`` prints it (compacted to a line).
Blank lines are skipped; every other line either becomes a validated artifact or one refusal
per broken rule, each with its line number, reason code, field path and message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from velocity_stream.contracts.catalog import Family, Version
from velocity_stream.contracts.metadata import Artifact, validate_json_artifact
from velocity_stream.contracts.registry import model_for
from velocity_stream.errors import ConfigError, ContractError

# Codes for lines that never reach the contract (the contract's own codes are ReasonCodes).
INVALID_JSON = "input.invalid_json"
NOT_AN_OBJECT = "input.not_an_object"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why one input line was not sent: where (line, field path), which rule, and why."""

    line: int
    code: str
    path: str
    message: str

    def text(self) -> str:
        """``line N<TAB>code<TAB>path<TAB>message``: one line, easy to cut and grep."""
        message = " ".join(self.message.split())  # a report line never spans lines
        return f"line {self.line}\t{self.code}\t{self.path or '<artifact>'}\t{message}"


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """A line that holds its family's contract."""

    line: int
    artifact: Artifact


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` for every line that is not blank, numbered from 1."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def _major(family: Family, data: dict[str, Any]) -> int | None:
    """The major the line's ``schema_version`` names when the catalog has it, else None
    (the latest major: its model then reports the mismatch)."""
    text = data.get("schema_version")
    if not isinstance(text, str):
        return None
    try:
        major = Version.parse(text).major
    except ConfigError:  # a malformed version is the contract's to report
        return None
    return major if major in family.majors() else None


def parse_line(family: Family, number: int, line: str) -> ParsedLine | list[Refusal]:
    """One line as a validated artifact of ``family``, or every reason it is not one."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        return [Refusal(number, INVALID_JSON, "", f"not JSON: {error}")]
    if not isinstance(data, dict):
        kind = type(data).__name__
        return [Refusal(number, NOT_AN_OBJECT, "", f"an artifact is a JSON object, not {kind}")]
    try:
        # Strict JSON types, as `validate` reads them: no "0.5" or true for a number.
        artifact = validate_json_artifact(model_for(family.name, _major(family, data)), line)
    except ContractError as error:
        return [Refusal(number, v.code.value, v.path, v.message) for v in error.violations]
    return ParsedLine(number, artifact)


def parse_lines(
    family: Family, lines: Iterable[tuple[int, str]]
) -> tuple[list[ParsedLine], list[Refusal]]:
    """Every line parsed: the valid ones in input order, and the refusals in input order."""
    valid: list[ParsedLine] = []
    refused: list[Refusal] = []
    for number, line in lines:
        parsed = parse_line(family, number, line)
        if isinstance(parsed, ParsedLine):
            valid.append(parsed)
        else:
            refused.extend(parsed)
    return valid, refused
