"""Metrics and structured logs for every worker: what the gateway and consumers call, in one place.

Wiring a worker takes a few lines::

    configure_logging(settings, role="gateway")
    start_metrics_server(settings)
    metrics = GatewayMetrics.for_catalog(catalog, settings.topic_prefix)
    lag = LagTracker(group_id)
    ...
    with message_context(message.headers):      # trace id for every log line meanwhile
        outcome = pipeline.process(message, state)
        ...produce outcome.outputs and wait for the acks...
        metrics.observe(outcome)
        lag.update(topic, partition, offset + 1, consumer.highwater(tp))

docs/metrics.md lists every metric and log field.
"""

from __future__ import annotations

from velocity_stream.observability.approvals import DecidedBy, PendingApprovals, pending_in_state
from velocity_stream.observability.lag import LagTracker, consumer_lag
from velocity_stream.observability.logging import (
    JsonFormatter,
    TraceIdFilter,
    configure_logging,
    current_trace_id,
    log_handler,
    message_context,
    trace_context,
    trace_id_from_headers,
)
from velocity_stream.observability.metrics import (
    ConsumerMetrics,
    GatewayMetrics,
    VelocityMetrics,
    default_metrics,
)
from velocity_stream.observability.server import (
    MetricsServer,
    serve_metrics,
    start_metrics_server,
)

__all__ = [
    "ConsumerMetrics",
    "DecidedBy",
    "GatewayMetrics",
    "JsonFormatter",
    "LagTracker",
    "MetricsServer",
    "PendingApprovals",
    "TraceIdFilter",
    "VelocityMetrics",
    "configure_logging",
    "consumer_lag",
    "current_trace_id",
    "default_metrics",
    "log_handler",
    "message_context",
    "pending_in_state",
    "serve_metrics",
    "start_metrics_server",
    "trace_context",
    "trace_id_from_headers",
]
