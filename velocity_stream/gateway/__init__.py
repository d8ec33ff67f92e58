"""The gateway's pure core: validate and route every artifact, generic over the catalog.

Only ``faust_app.py`` (the runtime adapter) imports faust; everything exported here is plain
Python over bytes, tables of bytes, and the catalog.
"""

from __future__ import annotations

from velocity_stream.gateway.commits import CommitRecord
from velocity_stream.gateway.memory_runner import MemoryRunner, murmur2, partition_for
from velocity_stream.gateway.messages import OutboundMessage, Outcome
from velocity_stream.gateway.pipeline import Pipeline
from velocity_stream.gateway.state import GatewayState
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.protocol.routes import RouteKind

__all__ = [
    "CommitRecord",
    "GatewayState",
    "InboundMessage",
    "MemoryRunner",
    "OutboundMessage",
    "Outcome",
    "Pipeline",
    "RouteKind",
    "murmur2",
    "partition_for",
]
