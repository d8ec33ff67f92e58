"""Entry point of the dev stack's child processes: ``python -m velocity_stream.devstack.child
<role>``, one role per process, configured by the environment the dev command hands it.

The roles call the same functions as ``velocity-stream gateway`` and ``velocity-stream consume
...``, so the dev stack runs exactly what a deployment runs, without depending on how the CLI
is assembled.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from velocity_stream.settings import Settings, load_settings

# The consumers' entry points, by role: each module has ``run(settings, *, stop) -> int``.
CONSUMER_MODULES = {
    "client360": "consumers.client360.main",
    "committer": "consumers.committer.main",
}
ROLES = ("broker", "gateway", *CONSUMER_MODULES)


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the consumers' loops stop between batches."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_stop)
    return stop


def run_broker(port: int) -> int:
    """The embedded broker, in a process of its own session: a Ctrl-C meant for the dev
    command does not reach it, so it stops last, after everything that talks to it."""
    from velocity_stream.kafka.broker import EmbeddedBroker

    stop = _stop_on_signals()
    with EmbeddedBroker(port=port) as broker:
        while not stop.wait(0.5):
            if not broker.is_running:
                return 1
    return 0


def run_gateway(settings: Settings, data_dir: Path | None) -> int:
    from velocity_stream.gateway.runtime.worker import GatewayConfig, run

    return run(settings, GatewayConfig(data_dir=data_dir, loglevel="warn"))


def run_consumer(module: str, settings: Settings) -> int:
    """A consumer's ``run(settings, stop=...)``; imported by name because the consumers are
    a separate top-level package the library does not depend on."""
    run = importlib.import_module(module).run
    return int(run(settings, stop=_stop_on_signals()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="velocity_stream.devstack.child")
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s {args.role} %(levelname)s %(name)s: %(message)s"
    )
    if args.role == "broker":
        return run_broker(args.port)
    settings = load_settings()
    if args.role == "gateway":
        return run_gateway(settings, args.data_dir)
    return run_consumer(CONSUMER_MODULES[args.role], settings)


if __name__ == "__main__":
    sys.exit(main())
