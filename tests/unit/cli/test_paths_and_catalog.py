"""Usage errors are one line and exit 2 (the CLI as a subprocess, as a user runs it), and
commands read ./avro_schemas of the current directory when there is one, naming the folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from velocity_stream.settings import DEFAULT_SCHEMAS_DIR, Settings, default_schemas_dir


def cli(*argv: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VELOCITY_SCHEMAS_DIR", "KAFKA_BOOTSTRAP_SERVERS")
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "velocity_stream.cli.main", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=60,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (("docs", "asyncapi", "-o", "/missing/dir/x.json"), "/missing/dir"),
        (("docs", "asyncapi", "-o", "/"), "is a directory"),
        (("validate", "QdSignalBundle", "/missing/x.json"), "/missing/x.json"),
        (("schemas", "check", "--schemas-dir", "/missing/schemas"), "/missing/schemas"),
        (("dlq", "list", "--reason", "not.a.code"), "decode.empty_payload"),
        (("dlq", "list", "--reason", "state.import_row.unknwn_batch"), "unknown_batch"),
        (("dlq", "replay", "--family", "NoSuchFamily", "--dry-run"), "QdSignalBundle"),
        (("validate", "NoSuchFamily", "-"), "QdSignalBundle"),
        (("example", "NoSuchFamily"), "QdSignalBundle"),
    ],
)
def test_bad_paths_codes_and_families_are_one_line_and_exit_2(
    argv: tuple[str, ...], names: str
) -> None:
    assert names in one_line_error(cli(*argv))


def test_a_missing_schemas_dir_setting_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    for argv in (("schemas", "list"), ("example", "QdSignalBundle"), ("acls", "plan")):
        assert str(missing) in one_line_error(cli(*argv, VELOCITY_SCHEMAS_DIR=str(missing)))


@pytest.fixture
def other_repo(tmp_path: Path) -> Path:
    """Another repository with its own catalog: the package's, one family fewer."""
    root = tmp_path / "other"
    shutil.copytree(DEFAULT_SCHEMAS_DIR, root / "avro_schemas")
    catalog = root / "avro_schemas" / "catalog.toml"
    text = catalog.read_text()
    start = text.index("[families.Client360Snapshot]")
    end = text.find("\n[", start + 1)
    catalog.write_text(text[:start] + (text[end + 1 :] if end != -1 else ""))
    return root


def test_the_current_directorys_avro_schemas_is_the_default(other_repo: Path) -> None:
    assert default_schemas_dir(other_repo) == (other_repo / "avro_schemas").resolve()
    assert default_schemas_dir(other_repo / "avro_schemas") == DEFAULT_SCHEMAS_DIR
    assert Settings(VELOCITY_SCHEMAS_DIR="/x").schemas_dir == Path("/x")  # the setting wins

    listed = cli("schemas", "list", cwd=other_repo)
    assert listed.returncode == 0, listed.stderr
    assert "Client360Snapshot" not in listed.stdout
    assert listed.stdout.strip().endswith(f"13 families in {other_repo / 'avro_schemas'}")

    checked = cli("schemas", "check", "--skip-models", cwd=other_repo)
    assert f"catalog: {other_repo / 'avro_schemas'}" in checked.stdout

    assert "Client360Snapshot" in one_line_error(
        cli("example", "Client360Snapshot", cwd=other_repo)
    )

    # VELOCITY_SCHEMAS_DIR still wins
    listed = cli("schemas", "list", cwd=other_repo, VELOCITY_SCHEMAS_DIR=str(DEFAULT_SCHEMAS_DIR))
    assert "Client360Snapshot" in listed.stdout
    assert listed.stdout.strip().endswith(f"14 families in {DEFAULT_SCHEMAS_DIR}")


def test_a_folder_without_avro_schemas_uses_the_packaged_catalog(tmp_path: Path) -> None:
    listed = cli("schemas", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip().endswith(f"14 families in {DEFAULT_SCHEMAS_DIR}")


def test_broker_help_says_which_clients_it_serves() -> None:
    done = cli("broker", "--help")
    text = " ".join(done.stdout.split())
    assert "confluent-kafka 2.16" in text and "kcat 1.7.1" in text and "real Kafka" in text
