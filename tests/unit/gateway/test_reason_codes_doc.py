"""docs/reason-codes.md and the ReasonCode enum list the same codes, with the right stages."""

from __future__ import annotations

import re
from pathlib import Path

from velocity_stream.errors import ReasonCode

DOC = Path(__file__).resolve().parents[3] / "docs" / "reason-codes.md"
_ROW = re.compile(r"^\| `([a-z0-9_.]+)` \| ([a-z]+) \| (.+) \|$")


def _documented() -> dict[str, tuple[str, str]]:
    rows: dict[str, tuple[str, str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line.strip())
        if match:
            code, stage, meaning = match.groups()
            assert code not in rows, f"{code} is documented twice"
            rows[code] = (stage, meaning)
    return rows


def test_every_reason_code_is_documented_and_nothing_else():
    documented = set(_documented())
    codes = {code.value for code in ReasonCode}
    assert sorted(codes - documented) == [], "codes missing from docs/reason-codes.md"
    assert sorted(documented - codes) == [], "docs/reason-codes.md lists codes the enum lacks"


def test_documented_stage_is_the_codes_stage_and_every_meaning_says_something():
    for code, (stage, meaning) in _documented().items():
        assert ReasonCode(code).stage == stage
        assert len(meaning) > 20


def test_reason_codes_are_unique_dotted_and_lower_case():
    values = [code.value for code in ReasonCode]
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z]+(\.[a-z0-9_]+)+", value) for value in values)
