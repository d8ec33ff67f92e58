from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from velocity_stream.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_schemas_list_json_names_every_family_with_topics_and_modes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "schemas", "list", "--format", "json")
    rows = {row["family"]: row for row in json.loads(out)}
    assert code == 0
    assert len(rows) == 11
    assert rows["ApprovalDecision"]["compatibility"] == "FULL_TRANSITIVE"
    assert rows["QdSignalBundle"]["topics"] == ["velocity.qd-signal-bundle.v1"]
    assert "1.0.0" in rows["InteractionBundle"]["versions"]


@pytest.mark.parametrize("name", ["QdSignalBundle", "qd_signal_bundle", "qd-signal-bundle"])
def test_example_accepts_every_spelling_and_validates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    code, out, _ = run(capsys, "example", name)
    assert code == 0
    artifact = tmp_path / "artifact.json"
    artifact.write_text(out)
    code, out, _ = run(capsys, "validate", name, str(artifact))
    assert code == 0
    assert out.startswith("ok:")


def test_validate_prints_one_line_per_violation_with_code_and_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = run(capsys, "example", "QdSignalBundle")
    data = json.loads(out)
    data["confidence"] = 1.5
    data["supporting_evidence_refs"] = []
    data["operator_input"] = None
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(data)))
    code, out, _ = run(capsys, "validate", "QdSignalBundle", "-")
    lines = [line.split("\t") for line in out.strip().splitlines()]
    assert code == 1
    assert ["contract.confidence_range", "confidence"] in [line[:2] for line in lines]
    assert "contract.qd_signal.evidence_required" in [line[0] for line in lines]


def test_validate_unreadable_input_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, _, err = run(capsys, "validate", "QdSignalBundle", str(broken))
    assert code == 2
    assert "cannot read" in err
    code, _, err = run(capsys, "validate", "QdSignalBundle", str(tmp_path / "missing.json"))
    assert code == 2


def test_unknown_family_exits_2_naming_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "example", "NoSuchThing")
    assert code == 2
    assert "QdSignalBundle" in err
