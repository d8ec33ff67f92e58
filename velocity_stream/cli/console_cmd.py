"""``produce`` and ``tail``: console tools like kcat / kafka-console-*, contract-aware.

Thin: parse, call velocity_stream.console, print. Nothing heavy is imported here (the CLI loads
every group's ``register`` on each start): the Kafka client, fastavro and the contract models
are imported when a command runs. Exit codes: 0 done, 1 some lines were refused (produce),
2 the command could not run (input, settings, Kafka, registry, topic).
"""

from __future__ import annotations

import argparse
import sys

from velocity_stream.cli.numbers import seconds, whole

EXIT_OK, EXIT_REFUSED, EXIT_UNUSABLE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    produce = subparsers.add_parser(
        "produce",
        help="send JSON lines as validated artifacts of a family (to its ingress topic)",
        description="One artifact per line, in the JSON form `velocity-stream example FAMILY` "
        "prints. Every line is validated first; the valid ones are sent, Avro-encoded, to the "
        "family's ingress topic. Refused lines are reported on stderr as "
        "'line N<TAB>code<TAB>field<TAB>message'. Decisions are signed with "
        "VELOCITY_REVIEW_SIGNING_KEY, and refused without it. Exit 0: all sent; 1: some lines "
        "refused (the others were sent); 2: unusable input or Kafka/registry not reachable.",
    )
    produce.add_argument("family", help="artifact family, e.g. QdSignalBundle or qd-signal-bundle")
    produce.add_argument(
        "file", nargs="?", default="-", help="JSON lines file, or - for standard input (default)"
    )
    produce.add_argument("--trace-id", default=None, help="one trace id for every record sent")
    produce.add_argument(
        "--timeout",
        type=seconds,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for the broker to acknowledge (default 60)",
    )
    produce.set_defaults(handler=run_produce)

    tail = subparsers.add_parser(
        "tail",
        help="print a topic's records decoded, as JSON lines",
        description="Each record as one JSON line: topic, partition, offset, timestamp, key, "
        "headers (text where UTF-8), the family and the decoded artifact; a record that does "
        "not decode is shown with its value in base64 and the decode error. Dead letters get "
        "their velocity.dlq.* reason headers decoded. Without --follow the tail stops at the "
        "end the first fetch response reports.",
    )
    tail.add_argument(
        "topic",
        help="a full topic name, a family name (its accepted topic; --ingress for its ingress "
        "topic), or dead-letters / approvals / commits",
    )
    tail.add_argument(
        "--from-beginning", action="store_true", help="start at the first record (default: new)"
    )
    tail.add_argument("--follow", "-f", action="store_true", help="keep waiting for new records")
    tail.add_argument(
        "--ingress", action="store_true", help="TOPIC is a family: read its ingress topic"
    )
    tail.add_argument("--family", default=None, metavar="NAME", help="only records of a family")
    tail.add_argument(
        "--max", type=whole(1), default=None, metavar="N", help="stop after N records"
    )
    tail.set_defaults(handler=run_tail)


def _error(text: str) -> int:
    print(f"error: {text}", file=sys.stderr)
    return EXIT_UNUSABLE


def _read_input(source: str) -> str:
    from pathlib import Path

    data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    return data.decode("utf-8")


def run_produce(args: argparse.Namespace) -> int:
    from velocity_stream.console.produce import produce_lines
    from velocity_stream.contracts.catalog import Route, load_catalog
    from velocity_stream.errors import VelocityError
    from velocity_stream.settings import load_settings
    from velocity_stream.trust.config import review_signing_key

    try:
        settings = load_settings()
        catalog = load_catalog(settings.schemas_dir)
        family = catalog.family(args.family)
    except VelocityError as error:
        return _error(str(error))
    try:
        text = _read_input(args.file)
    except (OSError, UnicodeDecodeError) as error:
        return _error(f"cannot read {args.file}: {error}")
    try:
        signer = None
        if family.route is Route.DECISION and settings.review_signing_key is not None:
            signer = review_signing_key(settings)
        code, _ = produce_lines(
            settings,
            catalog,
            family,
            text,
            signer=signer,
            err=sys.stderr,
            trace_id=args.trace_id,
            flush_timeout=args.timeout,
        )
    except VelocityError as error:
        return _error(str(error))
    return code


def run_tail(args: argparse.Namespace) -> int:
    from velocity_stream.console.tail import resolve_topic
    from velocity_stream.console.tail import run_tail as tail
    from velocity_stream.contracts.catalog import load_catalog
    from velocity_stream.errors import VelocityError
    from velocity_stream.registry.resolvers import resolver_for
    from velocity_stream.serde.avro import AvroSerde
    from velocity_stream.settings import load_settings

    try:
        settings = load_settings()
        catalog = load_catalog(settings.schemas_dir)
        topic = resolve_topic(catalog, settings.topic_prefix, args.topic, ingress=args.ingress)
        if args.family:
            catalog.family(args.family)  # an unknown family fails before Kafka is asked
        serde = AvroSerde(catalog, resolver_for(settings, catalog), settings.topic_prefix)
        tail(
            settings,
            catalog,
            serde,
            topic,
            sys.stdout,
            from_beginning=args.from_beginning,
            follow=args.follow,
            family=args.family,
            max_records=args.max,
        )
    except VelocityError as error:
        return _error(str(error))
    return EXIT_OK
