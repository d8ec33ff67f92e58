"""Loopback ports for the servers integration tests start: never a fixed one, which another
process on the machine (or another pytest-xdist worker) may hold."""

from __future__ import annotations

from velocity_stream.devstack.stack import port_is_free
from velocity_stream.kafka.broker import free_port


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive loopback ports that are all free now."""
    while True:
        base = free_port()
        if base + count < 65536 and all(port_is_free("127.0.0.1", base + i) for i in range(count)):
            return base
