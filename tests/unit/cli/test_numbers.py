"""Numeric options are checked where they are typed: a value out of range is argparse's usage
line naming the option (exit 2), never a client library's traceback later."""

from __future__ import annotations

import pytest

from consumers.client360.runner import RunnerOptions
from velocity_stream.cli.main import build_parser

REFUSED = [
    (["consume", "client360", "--batch-size", "-5"], "--batch-size", "from 1 to 1000000"),
    (["consume", "client360", "--batch-size", "0"], "--batch-size", "from 1 to 1000000"),
    (["consume", "committer", "--batch-size", "1000001"], "--batch-size", "from 1 to 1000000"),
    (["consume", "imports", "--batch-size", "ten"], "--batch-size", "'ten' is not a whole"),
    (["consume", "client360", "--max-idle", "-1"], "--max-idle", "not a duration"),
    (["consume", "client360", "--refresh-interval", "0"], "--refresh-interval", "not a duration"),
    (["consume", "client360", "--refresh-interval", "nan"], "--refresh-interval", "duration"),
    (["gateway", "--max-batch", "0"], "--max-batch", "from 1 to 1000000"),
    (["gateway", "--expire-interval", "inf"], "--expire-interval", "not a duration"),
    (["registry", "serve", "--port", "65536"], "--port", "from 0 to 65535"),
    (["registry", "serve", "--max-schema-bytes", "0"], "--max-schema-bytes", "at least 1"),
    (["broker", "--port", "-1"], "--port", "from 0 to 65535"),
    (["serve", "--port", "80000"], "--port", "from 0 to 65535"),
    (["dev", "--ready-timeout", "-3"], "--ready-timeout", "not a duration"),
    (["dlq", "list", "--limit", "0"], "--limit", "at least 1"),
    (["topics", "apply", "--replication-factor", "0"], "--replication-factor", "at least 1"),
    (["tail", "some.topic", "--max", "-1"], "--max", "at least 1"),
    (["produce", "QdSignalBundle", "--timeout", "0"], "--timeout", "not a duration"),
]


@pytest.mark.parametrize(("argv", "option", "says"), REFUSED, ids=lambda v: str(v))
def test_a_number_out_of_range_is_a_usage_error_naming_the_option(
    argv: list[str], option: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"argument {option}" in last and says in last, last


def test_numbers_in_range_parse_to_their_values() -> None:
    parser = build_parser()
    args = parser.parse_args(
        [
            "consume",
            "client360",
            "--batch-size",
            "1",
            "--max-idle",
            "0.5",
            "--refresh-interval",
            "30",
        ]
    )
    assert (args.batch_size, args.max_idle, args.refresh_interval) == (1, 0.5, 30.0)
    assert parser.parse_args(["registry", "serve", "--port", "0"]).port == 0
    assert parser.parse_args(["gateway", "--max-batch", "1000000"]).max_batch == 1_000_000
    assert parser.parse_args(["consume", "client360"]).refresh_interval is None


def test_the_refresh_interval_help_states_the_runners_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["consume", "client360", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"(default {RunnerOptions().refresh_interval_s:g})" in help_text
