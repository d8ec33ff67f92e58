"""``velocity-stream trace``: text and JSON trails over a seeded SQLite store, one line and
exit 1 for a ref no store knows, exit 2 for a store that cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consumers.storage import open_engine
from tests.unit.consumers.test_lineage import BATCH, CLIENT, DECISION, PERSON, ROW, seed
from velocity_stream.cli.main import main

PREFIX = "cli_"


@pytest.fixture
def store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'stores.db'}"
    engine = open_engine(url)
    seed(engine, PREFIX)
    engine.dispose()
    return url


def test_text_trail_of_a_client_field(store, capsys):
    code = main(
        ["trace", CLIENT, "--field", "email", "--store-url", store, "--table-prefix", PREFIX]
    )
    out = capsys.readouterr().out
    assert code == 0
    blocks = out.strip().split("\n\n")
    assert blocks[0].startswith(f"field {PERSON}#email")
    assert f"change {DECISION}  (written by)" in out
    assert "reviewer    human:sourik" in out
    assert f"import row {ROW}  (evidence)" in out


def test_json_trail(store, capsys):
    code = main(
        ["trace", f"{PERSON}#email", "--json", "--store-url", store, "--table-prefix", PREFIX]
    )
    body = json.loads(capsys.readouterr().out)
    assert code == 0
    kinds = {hop["kind"] for hop in body["hops"]}
    assert {"field", "change", "decision", "proposal", "import_row", "import_batch"} <= kinds
    assert any(hop["ref"] == BATCH for hop in body["hops"])


def test_unknown_ref_is_one_line_and_exit_1(store, capsys):
    code = main(["trace", "proposal:nope", "--store-url", store, "--table-prefix", PREFIX])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err.strip() == "error: 'proposal:nope' is not in any store"


def test_unreadable_store_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["trace", "x", "--store-url", "mysql://nowhere/db"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "cannot be opened" in err
    (tmp_path / "garbage.db").write_bytes(b"this is not a database file at all" * 100)
    code = main(["trace", "x", "--store-url", f"sqlite:///{tmp_path / 'garbage.db'}"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "cannot be read" in err
