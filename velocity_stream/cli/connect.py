"""The CLI's one check before a command talks to Kafka or the registry.

``main`` runs every handler through :func:`run_connected`, which first calls
:func:`check_services`: a command that needs Kafka waits at most ``VELOCITY_CONNECT_TIMEOUT_S``
for a bootstrap server (and, if it needs one, the schema registry) to answer, and otherwise
ends with one line naming the address and the setting, exit 2, before any client has logged a
thing. The long-running
roles then get a watch that logs when Kafka goes and comes back (and feeds their /healthz).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

# Commands whose every subcommand reads or writes Kafka (``registry`` only as ``registry
# serve`` without --memory). Others (schemas, example, acls, keys, docs, broker, dev) do not,
# or manage their own broker.
KAFKA_COMMANDS = frozenset(
    {"topics", "dlq", "produce", "tail", "gateway", "consume", "serve", "registry"}
)
# Commands that resolve schema ids through SCHEMA_REGISTRY_URL when it is set; ``serve``
# always uses a registry (the local default URL when unset).
REGISTRY_COMMANDS = frozenset({"gateway", "consume", "produce", "tail", "dlq", "serve"})
LONG_RUNNING = frozenset({"gateway", "consume", "serve", "registry"})


def needs_kafka(args: argparse.Namespace) -> bool:
    command = getattr(args, "command", None)
    if command not in KAFKA_COMMANDS:
        return False
    if command == "registry":
        return getattr(args, "registry_command", None) == "serve" and not getattr(
            args, "memory", False
        )
    return True


def check_services(args: argparse.Namespace) -> None:
    """Raise :class:`~velocity_stream.kafka.reachability.Unreachable` when the command's Kafka
    or registry does not answer in time; start the Kafka watch of a long-running role."""
    if not needs_kafka(args):
        return
    from velocity_stream.kafka.reachability import start_watch, wait_for_kafka, wait_for_registry
    from velocity_stream.registry.client import DEFAULT_URL
    from velocity_stream.settings import load_settings

    try:
        settings = load_settings()
    except ValueError:  # a malformed variable: the command itself says which
        return
    if not (settings.kafka_bootstrap_servers or "").strip():
        return  # the command says how to set it, or starts an embedded broker
    wait_for_kafka(settings)
    command = args.command
    if command in REGISTRY_COMMANDS:
        url = settings.schema_registry_url or (DEFAULT_URL if command == "serve" else None)
        if url:
            wait_for_registry(settings, url)
    if command in LONG_RUNNING:
        start_watch(settings)


def run_connected(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command's handler after :func:`check_services`; an unreachable Kafka or registry,
    at start or raised later by the command, is one line on stderr and exit 2."""
    if not needs_kafka(args):
        return handler(args)
    from velocity_stream.kafka.reachability import Unreachable

    try:
        check_services(args)
        return handler(args)
    except Unreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
