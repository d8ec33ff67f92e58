"""``registry serve``, ``registry import`` and ``schemas register``: run the embedded registry,
copy another registry into it, register the catalog."""

from __future__ import annotations

import argparse
import json
import socket
import sys

from velocity_stream.cli.numbers import PORT, whole
from velocity_stream.errors import ConfigError, RegistryError

EXIT_OK, EXIT_REFUSED, EXIT_FAILED = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``registry`` command group (``registry serve``, ``registry import``)."""
    from velocity_stream.registry.server import DEFAULT_PORT
    from velocity_stream.registry.service import DEFAULT_MAX_SCHEMA_BYTES
    from velocity_stream.registry.store import DEFAULT_TOPIC

    registry = subparsers.add_parser("registry", help="the embedded schema registry")
    registry_sub = registry.add_subparsers(dest="registry_command", metavar="COMMAND")
    registry_sub.required = True
    serve = registry_sub.add_parser(
        "serve",
        help="serve the Confluent-compatible registry API (state in a Kafka topic)",
        description="Serve the Confluent Schema Registry REST API for Avro. State lives in a "
        "compacted Kafka topic on KAFKA_BOOTSTRAP_SERVERS; when that is unset an embedded "
        "broker is started (memory only: everything is lost when it stops).",
    )
    serve.add_argument(
        "--port", type=PORT, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0: any free port"
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default loopback)")
    serve.add_argument(
        "--topic", default=DEFAULT_TOPIC, help=f"state topic (default {DEFAULT_TOPIC})"
    )
    serve.add_argument(
        "--max-schema-bytes",
        type=whole(1),
        default=DEFAULT_MAX_SCHEMA_BYTES,
        help=f"largest schema accepted (default {DEFAULT_MAX_SCHEMA_BYTES})",
    )
    serve.add_argument(
        "--memory", action="store_true", help="keep state in this process only (no Kafka)"
    )
    serve.set_defaults(handler=_serve)
    importing = registry_sub.add_parser(
        "import",
        help="copy another Confluent-compatible registry into ours, keeping ids",
        description="Copy every live version of the matching subjects from another registry "
        "(Confluent, Karapace, ...) into ours in IMPORT mode, keeping ids and versions, with "
        "references, metadata and rule sets, then the compatibility levels. Safe to run again: "
        "what is already there is not copied twice. Exit 1 when something was refused, 2 when "
        "a registry cannot be reached.",
    )
    importing.add_argument(
        "--from", dest="source", required=True, metavar="URL", help="the registry to copy from"
    )
    importing.add_argument(
        "--to", dest="target", metavar="URL", help="our registry (default SCHEMA_REGISTRY_URL)"
    )
    importing.add_argument(
        "--subjects", default="*", metavar="GLOB", help="only subjects matching (default all)"
    )
    importing.add_argument("--dry-run", action="store_true", help="read both, write nothing")
    importing.add_argument("--format", choices=("text", "json"), default="text")
    importing.set_defaults(handler=_import)


def add_register_command(
    schemas_subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add ``schemas register`` to the ``schemas`` group's subparsers."""
    command = schemas_subparsers.add_parser(
        "register",
        help="register every released schema version in a schema registry",
        description="Register every released version of every family (oldest first) under "
        "TopicNameStrategy subjects (<topic>-value, ingress and accepted topics), after setting "
        "each subject's compatibility level from the catalog. Exit 1 when the registry refuses "
        "a version, 2 when it cannot be reached.",
    )
    command.add_argument(
        "--registry", metavar="URL", help="registry URL (default SCHEMA_REGISTRY_URL or local)"
    )
    command.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    command.add_argument("--format", choices=("text", "json"), default="text")
    command.set_defaults(handler=_register)


def _serve(args: argparse.Namespace) -> int:
    from velocity_stream.http.listen import bound_port, listen
    from velocity_stream.kafka.broker import MEMORY_ONLY_WARNING, EmbeddedBroker
    from velocity_stream.registry.server import ServeOptions, build_service, serve_forever
    from velocity_stream.registry.store import StoreOptions
    from velocity_stream.settings import load_settings

    settings = load_settings()
    options = ServeOptions(
        host=args.host,
        port=args.port,
        max_schema_bytes=args.max_schema_bytes,
        store=StoreOptions(topic=args.topic),
    )
    broker: EmbeddedBroker | None = None
    listener: socket.socket | None = None
    try:
        # Bound first: a busy port is this one line, before anything starts or is announced.
        listener = listen(args.host, args.port, what="schema registry", how="--port")
        if args.memory:
            service = build_service(None, options)
            where = "process memory (lost on exit)"
        else:
            if not settings.kafka_bootstrap_servers:
                broker = EmbeddedBroker().start()
                print(f"warning: {MEMORY_ONLY_WARNING}", file=sys.stderr)
                settings = settings.model_copy(
                    update={"kafka_bootstrap_servers": broker.bootstrap_servers}
                )
            service = build_service(settings, options)
            where = f"topic {args.topic} on {settings.kafka_bootstrap_servers}"
        print(f"registry on http://{args.host}:{bound_port(listener)} (state: {where})", flush=True)
        serve_forever(service, listener, max_body_bytes=settings.registry_max_body_bytes)
    except (ConfigError, RegistryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if listener is not None:
            listener.close()  # uvicorn closes it once served; not if the start failed
        if broker is not None:
            broker.stop()
    return EXIT_OK


def _http_url(option: str, value: str) -> str | None:
    """None when ``value`` is an http(s) URL with a host; else the operator's error line."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        if parts.port is not None and not 0 < parts.port < 65536:
            ok = False
    except ValueError:
        ok = False
    return None if ok else f"{option} {value!r} is not an http(s) URL with a host"


def _import(args: argparse.Namespace) -> int:
    from velocity_stream.registry.client import RegistryClient
    from velocity_stream.registry.migration import Importer, summary_lines
    from velocity_stream.settings import load_settings

    settings = load_settings()
    for option, value in (("--from", args.source), ("--to", args.target)):
        problem = value is not None and _http_url(option, value)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return EXIT_FAILED
    out = sys.stderr if args.format == "json" else sys.stdout

    def progress(line: str) -> None:
        print(line, file=out, flush=True)

    try:
        with (
            RegistryClient(args.source) as source,
            RegistryClient.from_settings(settings, args.target) as target,
        ):
            if source.url == target.url:
                print(
                    f"error: --from and --to are the same registry ({source.url})", file=sys.stderr
                )
                return EXIT_FAILED
            importer = Importer(
                source, target, subjects=args.subjects, dry_run=args.dry_run, progress=progress
            )
            report = importer.run()
    except (ConfigError, RegistryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        for line in summary_lines(report):
            print(line)
    return EXIT_OK if report.ok else EXIT_REFUSED


def _register(args: argparse.Namespace) -> int:
    from velocity_stream.contracts.catalog import load_catalog
    from velocity_stream.registry.client import RegistryClient
    from velocity_stream.registry.registration import Outcome, register_catalog
    from velocity_stream.settings import load_settings

    settings = load_settings()
    try:
        catalog = load_catalog(settings.schemas_dir)
        with RegistryClient.from_settings(settings, args.registry) as client:
            report = register_catalog(catalog, client, settings.topic_prefix, dry_run=args.dry_run)
            url = client.url
    except (ConfigError, RegistryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        verb = "would set" if report.dry_run else "set"
        for change in report.levels:
            print(f"{verb} {change.subject} compatibility {change.before or '-'} -> {change.after}")
        for r in report.results:
            ident = f" id {r.schema_id}" if r.schema_id is not None else ""
            print(f"{r.outcome.value:<18} {r.subject} {r.family} {r.version}{ident}")
            for message in r.messages:
                print(f"    {message}")
        refused = sum(r.outcome is Outcome.REFUSED for r in report.results)
        state = "ok" if report.ok else f"{refused} version(s) refused"
        print(f"{state}: {len(report.results)} subject versions against {url}")
    return EXIT_OK if report.ok else EXIT_REFUSED
