"""``velocity-stream serve`` (the review web app) and ``velocity-stream dev`` (everything, on
one machine, seeded with a demo)."""

from __future__ import annotations

import argparse
import sys

from velocity_stream.cli.numbers import PORT, seconds
from velocity_stream.errors import VelocityError
from velocity_stream.settings import load_settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` and ``dev`` to the ``velocity-stream`` parser."""
    # Defaults come from settings when the command runs, not when the parser is built: a
    # malformed environment must not break every other command's --help.
    serve = subparsers.add_parser(
        "serve",
        help="serve the review web app (approval queue, clients, dead letters, JSON API)",
        description="Serve the review web app and its JSON API (OpenAPI at /openapi.json). "
        "Needs KAFKA_BOOTSTRAP_SERVERS and SCHEMA_REGISTRY_URL; reviewers log in with the "
        "tokens of VELOCITY_REVIEWER_TOKENS (a JSON object token -> reviewer ref).",
    )
    serve.add_argument("--host", help="interface to bind (default VELOCITY_REVIEW_HOST)")
    serve.add_argument(
        "--port", type=PORT, help="port (default VELOCITY_REVIEW_PORT, 8080; 0: any free port)"
    )
    serve.add_argument(
        "--snapshots",
        choices=("store", "topic"),
        default="store",
        help="read client snapshots from the read-model store (VELOCITY_STORE_URL, default) "
        "or fold them from the snapshot topic",
    )
    serve.set_defaults(handler=run_serve)

    dev = subparsers.add_parser(
        "dev",
        help="run everything on this machine (broker, registry, gateway, consumers, review "
        "app) with a demo",
        description="Start the embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set), the "
        "schema registry (unless SCHEMA_REGISTRY_URL is set), the catalog's topics, the "
        "gateway worker, the read-model consumers and the review app; seed a demo; print the "
        "URLs. Ctrl-C stops everything.",
    )
    dev.add_argument("--host", help="review app interface (default VELOCITY_REVIEW_HOST)")
    dev.add_argument(
        "--port", type=PORT, help="review app port (default VELOCITY_REVIEW_PORT; 0: any free port)"
    )
    dev.add_argument("--no-seed", action="store_true", help="start empty, without the demo")
    dev.add_argument(
        "--keep", action="store_true", help="keep the working directory (logs, database) on exit"
    )
    dev.add_argument(
        "--ready-timeout",
        type=seconds,
        default=180.0,
        metavar="SECONDS",
        help="how long to wait for the demo to be processed",
    )
    dev.set_defaults(handler=run_dev)


def run_serve(args: argparse.Namespace) -> int:
    from velocity_stream.http.listen import listen
    from velocity_stream.review.runtime import ReviewRuntime, ReviewServer, SnapshotSource

    try:
        settings = load_settings()
    except ValueError as error:  # pydantic's ValidationError: a malformed variable
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    if not settings.kafka_bootstrap_servers:
        print(
            "error: KAFKA_BOOTSTRAP_SERVERS is not set (for everything on this machine, run "
            "`velocity-stream dev`)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if not settings.reviewer_tokens:
        print("warning: VELOCITY_REVIEWER_TOKENS is empty: nobody can log in", file=sys.stderr)
    host = args.host or settings.review_host
    port = settings.review_port if args.port is None else args.port
    try:
        # Bound first: a busy port is one line before anything connects or is announced.
        with listen(host, port, what="review app", how="--port or VELOCITY_REVIEW_PORT") as sock:
            runtime = ReviewRuntime.from_settings(
                settings, snapshots=SnapshotSource(args.snapshots)
            )
            server = ReviewServer(runtime, sock)
            print(f"review app on {server.url} (API docs {server.url}/docs)", flush=True)
            with runtime:
                server.run()
    except VelocityError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def run_dev(args: argparse.Namespace) -> int:
    from velocity_stream.devstack.stack import DevOptions, DevStack, PortBusy

    try:
        settings = load_settings()
        options = DevOptions(
            host=args.host or settings.review_host,
            port=settings.review_port if args.port is None else args.port,
            seed=not args.no_seed,
            ready_timeout_s=args.ready_timeout,
            keep_dir=args.keep,
        )
        stack = DevStack(settings, options, sys.stdout)
    except (VelocityError, ValueError) as error:  # ValueError: a malformed variable
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    code = EXIT_OK
    try:
        stack.check_ports()  # before anything starts: exit 2 in one line
    except PortBusy as error:
        stack.stop()
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        stack.start()
        print(stack.summary(), flush=True)
        stack.wait()
    except KeyboardInterrupt:
        print("\ninterrupted", flush=True)
        code = EXIT_INTERRUPTED
    except VelocityError as error:
        print(f"\nerror: {error}", file=sys.stderr, flush=True)
        code = EXIT_FAILED
    finally:
        stack.stop()
    return code
