"""Builds one gateway worker from settings and runs it (``python -m <this module>``).

Everything a worker needs is decided here once: the catalog, the schema resolver (registry or
the deterministic local table), the pure pipeline, the output producer and the faust app.
``velocity-stream gateway`` is a thin CLI over :func:`run`.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from velocity_stream import __version__
from velocity_stream.contracts.catalog import Catalog, Route, load_catalog
from velocity_stream.errors import ConfigError, SettingsError
from velocity_stream.gateway.faust_app import GatewayApp, WorkerOptions, build_app, run_worker
from velocity_stream.gateway.pipeline import Pipeline
from velocity_stream.gateway.runtime.output import OutputProducer
from velocity_stream.kafka.config import async_client_options
from velocity_stream.kafka.reachability import wait_for_kafka, wait_for_registry
from velocity_stream.kafka.topics import TopicAdmin, TopicStatus, apply, plan
from velocity_stream.observability import (
    GatewayMetrics,
    LagTracker,
    configure_logging,
    start_metrics_server,
)
from velocity_stream.registry.resolvers import resolver_for
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.settings import Settings, load_settings
from velocity_stream.trust import KeyRing, SigningKey
from velocity_stream.trust import config as trust_config

log = logging.getLogger(__name__)


def default_app_id(settings: Settings) -> str:
    """The consumer group (and table changelog prefix) of the gateway for a topic prefix."""
    return f"{settings.topic_prefix}-gateway"


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class GatewayConfig:
    """What ``velocity-stream gateway`` may change beyond the settings."""

    app_id: str | None = None
    create_topics: bool = False
    max_batch: int = 2000
    expire_interval_s: float = 1.0
    data_dir: Path | None = None
    loglevel: str = "info"
    extra: dict[str, str] = field(default_factory=dict)
    # librdkafka keys for the output producer over OUTPUT_OVERRIDES (tests set a small
    # message.max.bytes to make it refuse records the way a broker's limit would).
    output_overrides: Mapping[str, str | int | float | bool] = field(default_factory=dict)


def decision_keys(settings: Settings, catalog: Catalog) -> tuple[KeyRing, SigningKey | None]:
    """The verify keys and the rule signing key, checked against the catalog before anything
    starts: a worker that would refuse every decision (or every auto rule's) does not start."""
    verify_keys = trust_config.verify_keys(settings)
    rule_signer = trust_config.rule_signing_key(settings)
    deciders = [family for family in catalog if family.route is Route.DECISION]
    if not deciders:
        return verify_keys, rule_signer
    decider = deciders[0]
    if not verify_keys:
        raise trust_config.missing_verify_keys(decider.name)
    for key in verify_keys:
        if not decider.is_owned_by(key.signer):
            raise ConfigError(
                f"{trust_config.VERIFY_KEYS_SETTING}: key {key.key_id!r} signs for "
                f"{key.signer!r}, which is not a producer of {decider.name} (producers: "
                f"{', '.join(decider.producers)})"
            )
    if any(family.auto_approve for family in catalog):
        if rule_signer is None:
            raise trust_config.missing_rule_key(decider.name)
        if not verify_keys.trusts(rule_signer):
            raise trust_config.untrusted_rule_key(rule_signer)
    return verify_keys, rule_signer


def build_gateway(settings: Settings, config: GatewayConfig | None = None) -> GatewayApp:
    """The worker's faust app, wired to a pipeline over the settings' catalog and Kafka."""
    config = config or GatewayConfig()
    catalog: Catalog = load_catalog(settings.schemas_dir)
    # Keys first: a misconfigured worker says so before it talks to Kafka.
    verify_keys, rule_signer = decision_keys(settings, catalog)
    specs = catalog.topic_specs(settings.topic_prefix)
    admin = TopicAdmin(settings)
    report = (
        apply(admin, specs, catalog.replication_factor)
        if config.create_topics
        else plan(admin, specs, catalog.replication_factor)
    )
    missing = [o.spec.name for o in report.with_status(TopicStatus.MISSING)]
    if missing:
        # Producing to a missing topic would let some brokers auto-create it with the wrong
        # partition count (Tansu: 4), breaking co-partitioning for good.
        raise ConfigError(
            f"{len(missing)} catalog topics do not exist (e.g. {missing[0]}): run "
            "`velocity-stream topics apply` or start the gateway with --create-topics"
        )
    if not report.ok:
        log.warning("catalog topics differ from the cluster: see `velocity-stream topics plan`")
    serde = AvroSerde(catalog, resolver_for(settings, catalog), settings.topic_prefix)
    pipeline = Pipeline(
        catalog,
        serde,
        settings.topic_prefix,
        gateway_version=__version__,
        clock=wall_clock_ms,
        verify_keys=verify_keys,
        rule_signer=rule_signer,
    )
    output = OutputProducer(settings, overrides=config.output_overrides)
    app_id = config.app_id or default_app_id(settings)
    options = WorkerOptions(
        app_id=app_id,
        max_batch=config.max_batch,
        expire_interval_s=config.expire_interval_s,
        data_dir=config.data_dir,
        shutdown_grace_s=settings.gateway_shutdown_grace_s,
    )
    return build_app(
        async_client_options(settings),
        catalog,
        pipeline,
        output,
        options,
        metrics=GatewayMetrics.for_catalog(catalog, settings.topic_prefix),
        lag=LagTracker(app_id),
    )


def run(settings: Settings, config: GatewayConfig | None = None) -> int:
    """Build and run a worker until it is stopped; the process exit code."""
    config = config or GatewayConfig()
    configure_logging(settings, role="gateway", level=config.loglevel)
    # Before faust or any client starts: a broker (or registry) that is not there is one
    # line and exit 2 (velocity_stream.kafka.reachability), not aiokafka's retry logs.
    wait_for_kafka(settings)
    if settings.schema_registry_url:
        wait_for_registry(settings, settings.schema_registry_url)
    metrics_server = start_metrics_server(settings)
    try:
        app = build_gateway(settings, config)
        code = run_worker(app, loglevel=config.loglevel)
        log.info("gateway stopped: %s", app.processor.stats.summary())
    finally:
        if metrics_server is not None:
            metrics_server.close()
    return code


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as error:  # a malformed variable: one line, as the CLI says it
        print(f"error: {error}", file=sys.stderr)
        return 2
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
