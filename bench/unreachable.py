"""Every command against an unreachable Kafka (or registry): lines printed, seconds, exit code.

Runs each command as a subprocess with KAFKA_BOOTSTRAP_SERVERS on a closed port (nothing
listens on it), a few at a time, and prints a Markdown table. A command still running after
--limit seconds is stopped and shown as "running".

    python bench/unreachable.py [--limit 40] [--jobs 4] [--connect-timeout 15]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from velocity_stream.trust import KeyRing, SigningKey
from velocity_stream.trust.keys import REVIEW_APP_SIGNER, RULES_SIGNER

CLI = str(Path(sys.executable).with_name("velocity-stream"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Outcome:
    name: str
    lines: int
    seconds: float
    code: int | None  # None: still running at the limit
    traceback: bool
    first: str


def commands(workdir: Path) -> list[tuple[str, list[str], dict[str, str], str | None]]:
    """(name, argv, extra environment, stdin) of every command that talks to Kafka."""
    review = SigningKey.generate(REVIEW_APP_SIGNER, "bench-review")
    rules = SigningKey.generate(RULES_SIGNER, "bench-rules")
    keys = {
        "VELOCITY_DECISION_VERIFY_KEYS": KeyRing([review.verify_key, rules.verify_key]).text(),
        "VELOCITY_RULE_SIGNING_KEY": rules.text(),
        "VELOCITY_REVIEW_SIGNING_KEY": review.text(),
    }
    store = {"VELOCITY_STORE_URL": f"sqlite:///{workdir / 'store.db'}"}
    example = subprocess.run(
        [CLI, "example", "InteractionBundle"], capture_output=True, text=True, check=False
    ).stdout.replace("\n", " ")
    closed_registry = {"SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{free_port()}"}
    return [
        ("topics list", ["topics", "list"], {}, None),
        ("topics apply", ["topics", "apply"], {}, None),
        ("dlq list", ["dlq", "list"], {}, None),
        ("produce", ["produce", "InteractionBundle", "-"], {}, example + "\n"),
        ("tail", ["tail", "velocity.interaction.accepted.v1"], {}, None),
        ("gateway", ["gateway"], keys, None),
        ("consume client360", ["consume", "client360"], store, None),
        ("consume committer", ["consume", "committer"], store, None),
        ("registry serve", ["registry", "serve", "--port", str(free_port())], {}, None),
        ("serve", ["serve", "--port", str(free_port())], {**keys, **store}, None),
        ("schemas register (registry)", ["schemas", "register"], closed_registry, None),
    ]


def run_one(
    name: str, argv: list[str], env: dict[str, str], stdin: str | None, limit: float
) -> Outcome:
    started = time.monotonic()
    process = subprocess.Popen(
        [CLI, *argv],
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(stdin, timeout=limit)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        code = None
    seconds = time.monotonic() - started
    lines = [line for line in output.splitlines() if line.strip()]
    return Outcome(
        name, len(lines), seconds, code, "Traceback" in output, lines[-1][:110] if lines else ""
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=float, default=40.0)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--connect-timeout", type=float, default=None)
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("KAFKA_", "VELOCITY_", "SCHEMA_REGISTRY"))
        }
        base["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{free_port()}"
        base["VELOCITY_METRICS_ENABLED"] = "false"
        if args.connect_timeout is not None:
            base["VELOCITY_CONNECT_TIMEOUT_S"] = str(args.connect_timeout)
        todo = [c for c in commands(Path(tmp)) if not args.only or c[0] in args.only]
        with ThreadPoolExecutor(args.jobs) as pool:
            futures = [
                pool.submit(run_one, name, argv, {**base, **env}, stdin, args.limit)
                for name, argv, env, stdin in todo
            ]
            outcomes = [future.result() for future in futures]
    print("| command | lines | seconds | exit | traceback | last line |")
    print("|---|---|---|---|---|---|")
    for o in outcomes:
        code = "running" if o.code is None else str(o.code)
        print(
            f"| {o.name} | {o.lines} | {o.seconds:.1f} | {code} | "
            f"{'yes' if o.traceback else 'no'} | `{o.first.replace('|', '/')}` |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
