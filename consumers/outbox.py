"""What both outbox publishers share: send a chunk, then wait for every acknowledgement.

Both consumers publish from a table of their own (Client360 its snapshots, the committer its
applied records) and record the publication only after the broker acknowledged every message
of the chunk, so a crash in between publishes the same content again, never less.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future

from velocity_stream.kafka.producer import Delivery

DELIVERY_TIMEOUT_S = 60.0


def send_all(sends: Iterable[Future[Delivery]]) -> int:
    """Queue every send first (one round trip for the chunk), then wait for each;
    raises DeliveryError on the first failure. Returns how many were acknowledged."""
    futures = list(sends)
    for future in futures:
        future.result(DELIVERY_TIMEOUT_S)
    return len(futures)
