"""The ``broker`` and ``topics`` command groups: run the embedded broker, provision topics."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from velocity_stream.kafka.broker import MEMORY_ONLY_WARNING, EmbeddedBroker


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``broker`` and ``topics`` to the ``velocity-stream`` parser."""
    broker = subparsers.add_parser(
        "broker",
        help="run the embedded Tansu broker in the foreground (memory only, not durable)",
        description="Run the embedded Kafka-compatible broker (Tansu) on 127.0.0.1 until "
        "Ctrl-C or SIGTERM. " + MEMORY_ONLY_WARNING,
    )
    broker.add_argument(
        "--port", type=int, default=None, help="port to listen on (default: a free one)"
    )
    broker.set_defaults(handler=run_broker)


def run_broker(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {
        sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with EmbeddedBroker(port=args.port) as broker:
            print(f"bootstrap servers: {broker.bootstrap_servers}", flush=True)
            print(f"  export KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap_servers}", flush=True)
            print(f"WARNING: {MEMORY_ONLY_WARNING}", file=sys.stderr, flush=True)
            print("press Ctrl-C to stop", file=sys.stderr, flush=True)
            while not stop.wait(0.5):
                if not broker.is_running:
                    print("the embedded broker exited unexpectedly", file=sys.stderr)
                    return 1
        print("broker stopped; its data is gone", file=sys.stderr)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
