"""The gateway's runtime edges beside faust_app.py: output producer, batch processor, worker,
table-recovery ends, the rewind of fetched records not routed, shutdown deadline.

Nothing here imports faust; faust_app.py is the only module that does.
"""

from __future__ import annotations

from velocity_stream.gateway.runtime.output import DeliveryBarrier, OutputProducer
from velocity_stream.gateway.runtime.processor import BatchProcessor, GatewayStats, WriteContext

__all__ = [
    "BatchProcessor",
    "DeliveryBarrier",
    "GatewayStats",
    "OutputProducer",
    "WriteContext",
]
