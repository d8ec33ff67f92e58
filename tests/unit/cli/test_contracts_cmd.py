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
    assert len(rows) == 14
    assert rows["ApprovalDecision"]["compatibility"] == "FULL_TRANSITIVE"
    # An internal family is listed with its one topic, its writer and its reader.
    commits = rows["CommitRecord"]
    assert commits["route"] == "internal"
    assert commits["topics"] == ["velocity.gateway.commits.v1"]
    assert (commits["producers"], commits["consumers"]) == (["gateway"], ["graph-committer"])
    assert rows["QdSignalBundle"]["topics"] == ["velocity.qd-signal-bundle.v1"]
    assert "1.0.0" in rows["InteractionBundle"]["versions"]


@pytest.mark.parametrize(
    "name", ["QdSignalBundle", "qd_signal_bundle", "qd-signal-bundle", "CommitRecord"]
)
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


def _validate_with(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    family: str,
    changes: dict[str, object],
) -> tuple[int, list[list[str]]]:
    _, out, _ = run(capsys, "example", family)
    artifact = tmp_path / "artifact.json"
    artifact.write_text(json.dumps({**json.loads(out), **changes}))
    code, out, _ = run(capsys, "validate", family, str(artifact))
    return code, [line.split("\t") for line in out.strip().splitlines()]


@pytest.mark.parametrize(
    ("family", "changes", "field"),
    [
        ("QdSignalBundle", {"confidence": "0.5"}, "confidence"),  # a string for a double
        ("QdSignalBundle", {"confidence": True}, "confidence"),  # a bool for a double
        ("QdSignalBundle", {"value": "0.74"}, "value"),
        ("ImportRowRecord", {"row_number": 3.0}, "row_number"),  # a float for an int
        ("ImportRowRecord", {"row_number": "3"}, "row_number"),
        ("ImportRowRecord", {"row_number": False}, "row_number"),
        ("RawImportBatch", {"row_count": 2.5}, "row_count"),
        ("QdSignalBundle", {"created_at": 1776508800000}, "created_at"),  # epoch ms, not ISO
        ("QdSignalBundle", {"created_at": "2026-04-18"}, "created_at"),  # a date, no time
        ("QdSignalBundle", {"source_system": 7}, "source_system"),  # a number for a string
    ],
)
def test_validate_takes_json_types_strictly(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    family: str,
    changes: dict[str, object],
    field: str,
) -> None:
    code, lines = _validate_with(capsys, tmp_path, family, changes)
    assert code == 1
    assert [line[1] for line in lines] == [field]
    assert lines[0][0] == "contract.invalid_field"


@pytest.mark.parametrize(
    ("family", "changes"),
    [
        ("QdSignalBundle", {"confidence": 1}),  # a JSON integer is a number: fine for a double
        ("QdSignalBundle", {"created_at": "2026-04-18T10:40:00+02:00"}),  # any offset
        ("QdSignalBundle", {"created_at": "2026-04-18T10:40:00.123Z"}),
    ],
)
def test_validate_accepts_what_the_contract_documents(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, family: str, changes: dict[str, object]
) -> None:
    code, lines = _validate_with(capsys, tmp_path, family, changes)
    assert (code, lines[0][0].split(" ")[0]) == (0, "ok:")


def test_a_naive_timestamp_keeps_its_own_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, lines = _validate_with(
        capsys, tmp_path, "QdSignalBundle", {"created_at": "2026-04-18T10:40:00"}
    )
    assert code == 1 and lines[0][:2] == ["contract.naive_timestamp", "created_at"]


def test_every_example_validates_strictly_and_avro_records_stay_lax() -> None:
    """``validate`` is strict about JSON; the gateway's Avro-decoded records (Python values,
    datetimes already) go through validate_artifact as before."""
    from velocity_stream.contracts.catalog import load_catalog
    from velocity_stream.contracts.examples import example
    from velocity_stream.contracts.metadata import validate_artifact, validate_json_artifact
    from velocity_stream.contracts.registry import model_for
    from velocity_stream.settings import DEFAULT_SCHEMAS_DIR

    for family in load_catalog(DEFAULT_SCHEMAS_DIR):
        artifact = example(family.name)
        model = model_for(family.name)
        assert validate_json_artifact(model, artifact.model_dump_json()) == artifact
        assert validate_artifact(model, artifact.to_avro()) == artifact


@pytest.mark.parametrize(
    "argv",
    [
        ("validate", "QdSignalBundle", "/missing/dir/a.json"),
        ("validate", "QdSignalBundle", "/"),
        ("validate", "NoSuchFamily", "-"),
        ("example", "qd-signal-bundel"),
    ],
)
def test_bad_paths_and_families_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1


def test_an_unknown_family_suggests_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(capsys, "example", "qd-signal-bundel")
    assert "did you mean QdSignalBundle?" in err
