"""A malformed environment variable is one line naming it and exit 2 (1 for `serve`, as its
other refusals), whichever command reads it first; never a traceback, never the value (some
variables hold secrets)."""

from __future__ import annotations

import pytest

from velocity_stream.cli import consumers_cmd, gateway_cmd
from velocity_stream.cli.main import main
from velocity_stream.gateway.runtime import worker

SECRET = "s3cret-not-json"
BAD = [
    ("VELOCITY_METRICS_PORT", "70000", "less than or equal to 65535"),
    ("VELOCITY_REVIEW_PORT", "-1", "greater than or equal to 0"),
    ("VELOCITY_LOG_FORMAT", "xml", "'json' or 'text'"),
    ("VELOCITY_CONNECT_TIMEOUT_S", "soon", "valid number"),
    ("VELOCITY_REVIEWER_TOKENS", SECRET, "JSON value"),
]
COMMANDS = [
    (["topics", "list"], 2),
    (["schemas", "list"], 2),
    (["consume", "client360", "--max-idle", "1"], 2),
    (["serve"], 1),
]


@pytest.mark.parametrize(("variable", "value", "says"), BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize(("argv", "code"), COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS])
def test_a_malformed_variable_is_one_line_naming_it(
    variable: str,
    value: str,
    says: str,
    argv: list[str],
    code: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # never reached
    monkeypatch.setenv(variable, value)
    assert main(argv) == code
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: bad setting") and says in lines[0], lines[0]
    named = variable if variable != "VELOCITY_REVIEWER_TOKENS" else "reviewer_tokens"
    assert named in lines[0]
    assert SECRET not in out + err


@pytest.mark.parametrize(
    ("entry", "prefix"),
    [
        (lambda: gateway_cmd.main([]), "velocity-stream gateway"),  # its other refusals' prefix
        (lambda: consumers_cmd.main(["consume", "client360"]), "error"),
        (worker.main, "error"),
    ],
    ids=["gateway_cmd", "consumers_cmd", "gateway worker"],
)
def test_the_module_entry_points_say_it_in_one_line_too(
    entry, prefix: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("VELOCITY_METRICS_PORT", "70000")
    assert entry() == 2
    assert capsys.readouterr().err == (
        f"{prefix}: bad setting VELOCITY_METRICS_PORT: Input should be less than or equal to "
        "65535\n"
    )
