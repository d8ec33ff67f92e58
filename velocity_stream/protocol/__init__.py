"""The protocol every role shares: header names, the consumed record, routes and decisions.

The gateway, the review app, the dead-letter tools, the console, the consumers and
observability all speak it, so it lives below all of them. It may import contracts, errors
and settings, nothing above; nothing here touches a Kafka client.

Modules: ``headers`` (header names and codecs), ``records`` (``InboundMessage``, ``Headers``
and the one header normalizer), ``routes`` (``RouteKind``), ``decisions`` (the decision
family's field names and typed outcome, the reviewer prefixes).
"""

from __future__ import annotations

from velocity_stream.protocol.records import Headers, InboundMessage, normalize_headers
from velocity_stream.protocol.routes import RouteKind

__all__ = ["Headers", "InboundMessage", "RouteKind", "normalize_headers"]
