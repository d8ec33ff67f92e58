"""A hard deadline on a gateway worker's shutdown.

A worker told to stop (SIGTERM, SIGINT, or its own stop after a refused output) stops
consuming, waits for the outputs it queued to be stored and commits what was acked. With the
broker gone every one of those steps waits on its own timeout (librdkafka's message timeout of
5 minutes, aiokafka's commit retries, faust's 60 s thread stop), measured at more than 300 s:
supervisors had to SIGKILL it. :class:`ShutdownDeadline` bounds the whole stop: armed by the
first stop request, it ends the process with :data:`EXIT_DEADLINE` once ``grace_s`` has passed.

Nothing accepted is lost by that: an input is committed only after every output it caused is
stored, so what was not committed is read again by the next worker, whose outputs are the same
bytes (at-least-once, deterministic outputs). The timer is a thread, so a blocked event loop
cannot hold it up. Nothing here imports faust.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

# The exit code of a worker that did not stop cleanly within its grace period.
EXIT_DEADLINE = 1


class ShutdownDeadline:
    """Ends the process ``grace_s`` seconds after :meth:`arm`, unless it exited by then."""

    def __init__(self, grace_s: float, *, exit: Callable[[int], object] = os._exit) -> None:
        if grace_s <= 0:
            raise ValueError(f"the shutdown grace must be positive, not {grace_s}")
        self.grace_s = grace_s
        self._exit = exit
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._why = ""
        self._armed_at = 0.0
        self.expired = threading.Event()

    @property
    def armed(self) -> bool:
        return self._timer is not None

    def arm(self, why: str) -> bool:
        """Start the countdown (once; later calls change nothing). True when this call armed it."""
        with self._lock:
            if self._timer is not None:
                return False
            self._why = why
            self._armed_at = time.monotonic()
            timer = threading.Timer(self.grace_s, self._expire)
            timer.name = "velocity-shutdown-deadline"
            timer.daemon = True
            self._timer = timer
        log.info("stopping (%s): the worker exits within %.1f s", why, self.grace_s)
        timer.start()
        return True

    def cancel(self) -> None:
        """Stop the countdown (the worker finished stopping, or a test is done with it)."""
        with self._lock:
            timer = self._timer
        if timer is not None:
            timer.cancel()

    def _expire(self) -> None:
        self.expired.set()
        waited = time.monotonic() - self._armed_at
        log.critical(
            "the worker did not stop within %.1f s of %s (%.1f s passed): exiting with code "
            "%d now; inputs not committed yet are read again by the next worker",
            self.grace_s,
            self._why,
            waited,
            EXIT_DEADLINE,
        )
        _flush_logs()
        self._exit(EXIT_DEADLINE)


def _flush_logs() -> None:
    # os._exit skips every flush: push out what the handlers hold (the line above included).
    # A broken handler or stream must not keep the process alive.
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
