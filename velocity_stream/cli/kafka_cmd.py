"""The ``broker``, ``topics`` and ``acls`` command groups: run the embedded broker, provision
topics, and say which ACLs each role needs."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from velocity_stream.cli.numbers import PORT, whole
from velocity_stream.errors import VelocityError
from velocity_stream.kafka.broker import (
    MEMORY_ONLY_WARNING,
    TANSU_LIMITS_NOTE,
    EmbeddedBroker,
    is_tansu_cluster,
)
from velocity_stream.settings import load_settings

if TYPE_CHECKING:
    from velocity_stream.kafka import topics

EXIT_OK, EXIT_DRIFT, EXIT_UNREACHABLE = 0, 1, 2

# Which clients talk to the embedded broker (measured; README "Quick start").
CLIENTS_NOTE = (
    "Clients: current ones work (confluent-kafka 2.16, which velocity-stream uses, so `tail` and "
    "`produce` do); older ones may not: Debian's kcat 1.7.1 on librdkafka 2.0.2 fails its "
    "ApiVersions handshake. Point older tools (kcat, kafka-console-*, old client libraries) at "
    "a real Kafka."
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``broker``, ``topics`` and ``acls`` to the ``velocity-stream`` parser."""
    broker = subparsers.add_parser(
        "broker",
        help="run the embedded Tansu broker in the foreground (memory only, not durable)",
        description="Run the embedded Kafka-compatible broker (Tansu) on 127.0.0.1 until "
        "Ctrl-C or SIGTERM. " + MEMORY_ONLY_WARNING + " " + CLIENTS_NOTE,
    )
    broker.add_argument(
        "--port", type=PORT, default=None, help="port to listen on (default: a free one)"
    )
    broker.set_defaults(handler=run_broker)

    topics = subparsers.add_parser(
        "topics", help="provision and inspect the topics the catalog implies"
    )
    topics_sub = topics.add_subparsers(dest="topics_command", metavar="COMMAND")
    topics_sub.required = True
    apply = topics_sub.add_parser(
        "apply",
        help="create missing catalog topics; report matched and drifted ones (exit 1 on drift)",
    )
    apply.add_argument(
        "--dry-run", action="store_true", help="report what would be created, change nothing"
    )
    listing = topics_sub.add_parser("list", help="every catalog topic and its state on the cluster")
    for sub in (apply, listing):
        sub.add_argument(
            "--replication-factor",
            type=whole(1),
            default=None,
            help="replication factor to create with and check (default: the catalog's)",
        )
        sub.add_argument("--format", choices=("text", "json"), default="text")
    apply.set_defaults(handler=run_topics_apply)
    listing.set_defaults(handler=run_topics_list)

    acls = subparsers.add_parser(
        "acls", help="the broker ACLs each role needs, derived from the catalog"
    )
    acls_sub = acls.add_subparsers(dest="acls_command", metavar="COMMAND")
    acls_sub.required = True
    acl_plan = acls_sub.add_parser(
        "plan",
        help="print kafka-acls.sh commands (or JSON) granting each role what it needs, no more",
        description="Only the gateway writes accepted, approvals and commits topics; only the "
        "review app and the gateway write decisions (docs/security.md). Roles are the "
        "catalog's producer and consumer names plus gateway and dlq-operator.",
    )
    acl_plan.add_argument(
        "--principal",
        action="append",
        default=[],
        metavar="ROLE=PRINCIPAL",
        help="the principal of a role (default User:<role>); repeat for each role",
    )
    acl_plan.add_argument(
        "--gateway-app-id",
        default=None,
        help="the gateway's app id: its consumer group and changelog prefix "
        "(default <prefix>-gateway, as `velocity-stream gateway` uses)",
    )
    acl_plan.add_argument("--bootstrap", default="$BOOTSTRAP", help="put into each command")
    acl_plan.add_argument("--format", choices=("commands", "json"), default="commands")
    acl_plan.set_defaults(handler=run_acls_plan)


def run_broker(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with EmbeddedBroker(port=args.port) as broker:
            print(f"bootstrap servers: {broker.bootstrap_servers}", flush=True)
            print(f"  export KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap_servers}", flush=True)
            print(f"WARNING: {MEMORY_ONLY_WARNING}", file=sys.stderr, flush=True)
            print(f"note: {CLIENTS_NOTE}", file=sys.stderr, flush=True)
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


def run_topics_apply(args: argparse.Namespace) -> int:
    return _run_topics(args, create=not args.dry_run, exit_on_drift=True)


def run_acls_plan(args: argparse.Namespace) -> int:
    from velocity_stream.contracts.catalog import load_catalog
    from velocity_stream.kafka import acls

    principals: dict[str, str] = {}
    for item in args.principal:
        role, sep, principal = item.partition("=")
        if not sep or not role or ":" not in principal:
            print(f"error: --principal {item!r} is not ROLE=Type:name", file=sys.stderr)
            return EXIT_UNREACHABLE
        principals[role] = principal
    try:
        settings = load_settings()
        catalog = load_catalog(settings.schemas_dir)
    except VelocityError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    app_id = args.gateway_app_id or f"{settings.topic_prefix}-gateway"
    plan = acls.plan(catalog, settings.topic_prefix, app_id)
    unknown = sorted(set(principals) - set(plan.roles()))
    if unknown:
        print(
            f"error: no role named {', '.join(unknown)} (roles: {', '.join(plan.roles())})",
            file=sys.stderr,
        )
        return EXIT_UNREACHABLE
    if args.format == "json":
        rows = [
            {
                "role": acl.role,
                "principal": principals.get(acl.role, f"User:{acl.role}"),
                "operation": acl.operation.value,
                "resource": acl.resource.value,
                "name": acl.name,
                "pattern": "prefixed" if acl.prefixed else "literal",
            }
            for acl in plan.acls
        ]
        print(json.dumps(rows, indent=2))
    else:
        print("\n".join(plan.commands(principals, args.bootstrap)))
    print(f"catalog: {catalog.root}", file=sys.stderr)
    return EXIT_OK


def run_topics_list(args: argparse.Namespace) -> int:
    return _run_topics(args, create=False, exit_on_drift=False)


def _run_topics(args: argparse.Namespace, *, create: bool, exit_on_drift: bool) -> int:
    from velocity_stream.contracts.catalog import load_catalog
    from velocity_stream.kafka import topics

    try:
        settings = load_settings()
        catalog = load_catalog(settings.schemas_dir)
        replication = args.replication_factor or catalog.replication_factor
        specs = catalog.topic_specs(settings.topic_prefix)
        admin = topics.TopicAdmin(settings)
        report = (
            topics.apply(admin, specs, replication)
            if create
            else topics.plan(admin, specs, replication)
        )
    except VelocityError as error:  # ConfigError included: unset bootstrap, bad catalog
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    if args.format == "json":
        print(json.dumps(_report_json(report), indent=2))
    else:
        _print_report(report, dry_run_of_apply=not create and exit_on_drift)
    print(f"catalog: {catalog.root}", file=sys.stderr)
    if exit_on_drift and not report.ok:
        return EXIT_DRIFT
    return EXIT_OK


def _report_json(report: topics.TopicReport) -> dict[str, object]:
    return {
        "cluster_id": report.cluster_id,
        "dry_run": report.dry_run,
        "ok": report.ok,
        "topics": [
            {
                "topic": o.spec.name,
                "status": o.status.value,
                "partitions": o.spec.partitions,
                "config": o.spec.config(),
                "drift": [
                    {"setting": d.setting, "expected": d.expected, "actual": d.actual}
                    for d in o.drifts
                ],
                "notes": list(o.notes),
            }
            for o in report.outcomes
        ],
    }


def _print_report(report: topics.TopicReport, *, dry_run_of_apply: bool) -> None:
    from velocity_stream.kafka.topics import TopicStatus

    width = max((len(o.spec.name) for o in report.outcomes), default=0)
    for outcome in report.outcomes:
        status = outcome.status.value
        if dry_run_of_apply and outcome.status is TopicStatus.MISSING:
            status = "would create"
        spec = outcome.spec
        print(
            f"{status:<13} {spec.name:<{width}}  partitions={spec.partitions} "
            f"cleanup.policy={spec.cleanup_policy} retention.ms={spec.retention_ms}"
        )
        for drift in outcome.drifts:
            print(f"{'':<13}   drift: {drift}")
        for note in outcome.notes:
            print(f"{'':<13}   note: {note}")
    counts = {s: len(report.with_status(s)) for s in TopicStatus}
    summary = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    print(f"{summary or 'no topics'}" + (" (dry run: nothing changed)" if dry_run_of_apply else ""))
    if is_tansu_cluster(report.cluster_id):
        print(f"note: embedded broker. {MEMORY_ONLY_WARNING}", file=sys.stderr)
        print(f"note: {TANSU_LIMITS_NOTE}", file=sys.stderr)
