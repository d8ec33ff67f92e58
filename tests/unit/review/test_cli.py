"""`velocity-stream serve` and `dev` as commands: registration, help, and what they say when
they cannot run."""

from __future__ import annotations

import socket

import pytest

from velocity_stream.cli.main import build_parser, main


def test_serve_and_dev_are_commands():
    parser = build_parser()
    args = parser.parse_args(["serve", "--port", "9000", "--snapshots", "topic"])
    assert (args.port, args.snapshots) == (9000, "topic")
    args = parser.parse_args(["dev", "--no-seed", "--keep"])
    assert args.no_seed and args.keep and args.port is None


def test_serve_without_kafka_points_at_dev(monkeypatch, capsys):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    assert main(["serve"]) == 1
    assert "velocity-stream dev" in capsys.readouterr().err


def test_a_malformed_token_setting_is_an_error_not_a_traceback(monkeypatch, capsys):
    monkeypatch.setenv("VELOCITY_REVIEWER_TOKENS", "not json")
    assert main(["serve"]) == 1
    assert "reviewer_tokens" in capsys.readouterr().err
    # and every other command still parses
    assert build_parser().parse_args(["topics", "list"]).handler is not None


@pytest.mark.parametrize("command", ["serve", "dev"])
def test_help_describes_the_command(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert "review" in capsys.readouterr().out


def test_serve_on_a_busy_port_is_one_line_before_anything_connects(monkeypatch, capsys):
    # Nothing answers on Kafka's port: the busy port must be found before anything connects.
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        args = build_parser().parse_args(["serve", "--host", "127.0.0.1", "--port", str(port)])
        assert args.handler(args) == 1
    out, err = capsys.readouterr()
    assert "review app on" not in out
    assert err.splitlines()[-1] == (
        f"error: port {port} on 127.0.0.1 (review app) is in use; choose another with --port "
        "or VELOCITY_REVIEW_PORT"
    )
