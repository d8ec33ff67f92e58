"""``velocity-stream gateway``: run one gateway worker (a faust worker) in the foreground.

Kafka, the topic prefix, the fetch wait, the session timeout and the registry come from the
environment (velocity_stream.settings); the flags only tune this worker.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from velocity_stream.cli.numbers import MAX_BATCH, seconds, whole
from velocity_stream.errors import ConfigError
from velocity_stream.settings import load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gateway`` to the ``velocity-stream`` parser."""
    gateway = subparsers.add_parser(
        "gateway",
        help="run a gateway worker: validate and route every artifact on the ingress topics",
        description="Run one gateway worker until Ctrl-C or SIGTERM. Workers with the same "
        "--app-id share the ingress partitions (a consumer group); tables are recovered from "
        "their changelog topics on start. Reads KAFKA_BOOTSTRAP_SERVERS, VELOCITY_TOPIC_PREFIX, "
        "VELOCITY_FETCH_WAIT_MAX_MS, VELOCITY_SESSION_TIMEOUT_MS and SCHEMA_REGISTRY_URL (unset: "
        "every process registers the catalog's schemas locally in one fixed order).",
    )
    gateway.add_argument(
        "--app-id",
        default=None,
        help="consumer group and changelog prefix (default: <prefix>-gateway)",
    )
    gateway.add_argument(
        "--create-topics",
        action="store_true",
        help="create the catalog's missing topics before starting (like `topics apply`)",
    )
    gateway.add_argument(
        "--max-batch",
        type=whole(1, MAX_BATCH),
        default=2000,
        help="records per fetch handed to the pipeline",
    )
    gateway.add_argument(
        "--expire-interval",
        type=seconds,
        default=1.0,
        metavar="SECONDS",
        help="how often held inputs are checked against their deadline",
    )
    gateway.add_argument("--data-dir", type=Path, default=None, help="faust's data directory")
    gateway.add_argument(
        "--log-level", default="info", choices=("crit", "error", "warn", "info", "debug")
    )
    gateway.set_defaults(handler=run_gateway)


def run_gateway(args: argparse.Namespace) -> int:
    # Imported here: faust is heavy and only this command needs it.
    from velocity_stream.gateway.runtime.worker import GatewayConfig, run

    config = GatewayConfig(
        app_id=args.app_id,
        create_topics=args.create_topics,
        max_batch=args.max_batch,
        expire_interval_s=args.expire_interval,
        data_dir=args.data_dir,
        loglevel=args.log_level,
    )
    try:
        return run(load_settings(), config)
    except ConfigError as error:
        print(f"velocity-stream gateway: {error}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """``python -m velocity_stream.cli.gateway_cmd [flags]``: the command without the main CLI."""
    parser = argparse.ArgumentParser(prog="velocity-stream")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    register(subparsers)
    args = parser.parse_args(["gateway", *(sys.argv[1:] if argv is None else argv)])
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
