"""``velocity-stream schemas check`` end to end on a throwaway git repository: exit codes,
--against a ref (edits, deletions, new versions), output formats; and on the real catalog."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest

from velocity_stream.cli.schemas_check import add_check_command
from velocity_stream.compat.git_snapshot import GitSnapshotError, read_snapshot
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR

CATALOG = """
[defaults]
compatibility = "BACKWARD_TRANSITIVE"
partitions = 1
cleanup_policy = "delete"
retention_ms = 1000
accepted_retention_ms = -1

[gateway]
approvals_topic = "a"
dead_letter_topic = "d"
partitions = 1
dead_letter_retention_ms = 1000
reviewers = ["human:x"]
decision_hold_ms = 1000

[families.Thing]
avro_name = "t.Thing"
directory = "thing"
topic = "thing"
key_field = "id"
route = "accept"
producers = ["p"]
consumers = ["c"]
"""


def thing(*extra_fields):
    fields = [{"name": "id", "type": "string"}, *extra_fields]
    return json.dumps(
        {"type": "record", "name": "Thing", "namespace": "t", "fields": fields}, indent=2
    )


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path):
    schemas = tmp_path / "schemas"
    (schemas / "thing").mkdir(parents=True)
    (schemas / "catalog.toml").write_text(CATALOG)
    (schemas / "thing" / "1.0.0.avsc").write_text(thing())
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "release 1.0.0")
    return tmp_path


def run(capsys, schemas: Path, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    groups = parser.add_subparsers()
    add_check_command(groups.add_parser("schemas").add_subparsers())
    args = parser.parse_args(["schemas", "check", "--schemas-dir", str(schemas), *argv])
    code = args.handler(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_additive_version_passes_against_head(repo, capsys):
    (repo / "schemas/thing/1.1.0.avsc").write_text(
        thing({"name": "note", "type": ["null", "string"], "default": None})
    )
    code, out, _ = run(capsys, repo / "schemas", "--against", "HEAD", "--skip-models")
    assert code == 0
    assert out.strip().splitlines() == [
        "schemas check: ok (1 families, 2 versions, 1 schema pairs checked, against HEAD)",
        f"catalog: {(repo / 'schemas').resolve()}",  # the folder it checked
    ]


def test_breaking_minor_version_exits_1_with_pointer_and_fix(repo, capsys):
    (repo / "schemas/thing/1.1.0.avsc").write_text(thing({"name": "owner", "type": "string"}))
    code, out, _ = run(capsys, repo / "schemas", "--skip-models")
    assert code == 1
    assert "Thing 1.1.0 cannot read data written with 1.0.0" in out
    assert "/fields/1 (field `owner`)" in out
    assert "fix: give field `owner` a default" in out


def test_release_edited_in_place_is_caught_against_the_ref(repo, capsys):
    (repo / "schemas/thing/1.0.0.avsc").write_text(thing({"name": "x", "type": "int"}))
    code, out, _ = run(capsys, repo / "schemas", "--against", "main", "--skip-models")
    assert code == 1
    assert "[released_schema_edited] Thing 1.0.0 was released at main" in out
    # Without --against the edit is invisible: nothing else is wrong.
    assert run(capsys, repo / "schemas", "--skip-models")[0] == 0


def test_release_deleted_is_caught_against_the_ref(repo, capsys):
    (repo / "schemas/thing/2.0.0.avsc").write_text(thing())
    (repo / "schemas/thing/1.0.0.avsc").unlink()
    code, out, _ = run(capsys, repo / "schemas", "--against", "HEAD", "--skip-models")
    assert code == 1
    assert "released_schema_deleted" in out


def test_github_format_prints_annotations(repo, capsys):
    (repo / "schemas/thing/1.1.0.avsc").write_text(thing({"name": "owner", "type": "string"}))
    code, out, _ = run(capsys, repo / "schemas", "--format", "github", "--skip-models")
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("::error file=")
    assert "thing/1.1.0.avsc,line=" in first


def test_json_format_is_parseable(repo, capsys):
    code, out, _ = run(capsys, repo / "schemas", "--format", "json", "--skip-models")
    assert code == 0
    assert json.loads(out)["ok"] is True


def test_unknown_ref_exits_2(repo, capsys):
    code, _, err = run(capsys, repo / "schemas", "--against", "no-such-ref", "--skip-models")
    assert code == 2
    assert "unknown git ref 'no-such-ref'" in err


def test_unreadable_catalog_exits_2(tmp_path, capsys):
    code, _, err = run(capsys, tmp_path, "--skip-models")
    assert code == 2
    assert err.startswith("error:")


def test_models_are_checked_unless_skipped(repo, capsys):
    # The throwaway family has no contract model: the drift check says so.
    code, out, _ = run(capsys, repo / "schemas")
    assert code == 1
    assert "model_drift" in out


def test_snapshot_reads_files_at_the_ref(repo):
    (repo / "schemas/thing/1.0.0.avsc").write_text("changed")
    snapshot = read_snapshot(repo / "schemas", "HEAD")
    assert set(snapshot.files) == {"catalog.toml", "thing/1.0.0.avsc"}
    assert snapshot.files["thing/1.0.0.avsc"] == thing()
    assert len(snapshot.commit) == 40


def test_snapshot_outside_a_repository_fails_cleanly(tmp_path):
    with pytest.raises(GitSnapshotError):
        read_snapshot(tmp_path, "HEAD")


def test_the_real_catalog_holds_the_policy(capsys):
    code, out, _ = run(capsys, DEFAULT_SCHEMAS_DIR)
    assert code == 0, out
