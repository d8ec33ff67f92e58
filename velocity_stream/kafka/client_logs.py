"""Kafka clients' own logs, thinned: librdkafka (through confluent-kafka's ``logger`` setting),
aiokafka, faust and mode log a line per reconnect attempt while a broker is away, hundreds a
minute. :class:`RepeatFilter` lets the first of each kind through and counts the rest.

Kept free of heavy imports: the client layer and the log set-up both use it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable

# Loggers of the Kafka clients (librdkafka through confluent-kafka's ``logger``, aiokafka, faust
# and mode) and of our callbacks that relay their errors: the ones that repeat a line per
# reconnect attempt while a broker is away. :class:`RepeatFilter` thins them out.
KAFKA_CLIENT_LOGGERS = (
    "velocity_stream.kafka",
    "velocity_stream.gateway.librdkafka",
    "velocity_stream.gateway.runtime.output",
    "velocity_stream.review.tail",
    "velocity_stream.dlq.reader",
    "velocity_stream.dlq.replay",
    "velocity_stream.registry.store",
    "consumers.partitions",
    "aiokafka",
    "kafka",
    "faust",
    "mode",
)

_DIGITS = re.compile(r"\d+")


class RepeatFilter(logging.Filter):
    """Lets the first of a kind of line through and drops its repeats for ``window_s`` seconds;
    the next one after the window says how many were dropped. Lines are of a kind when their
    logger, level and text with every number blanked out agree (so "after 0ms" and "after 3ms"
    are one kind). ``names``: only records of these loggers (and their children) are thinned;
    ``min_level``: only records at this level or above (a client's lost-connection flood is
    warnings and errors; its information lines, such as a worker's assignments and "Worker
    ready" after each rebalance, are state changes an operator and the tests read whole).
    """

    def __init__(
        self,
        window_s: float = 60.0,
        *,
        names: Iterable[str] | None = None,
        clock: Callable[[], float] | None = None,
        max_kinds: int = 1024,
        min_level: int = logging.WARNING,
    ) -> None:
        super().__init__()
        self.window_s = window_s
        self.min_level = min_level
        self.names = tuple(names) if names is not None else None
        self.max_kinds = max_kinds
        self._clock = clock or time.monotonic
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def _applies(self, name: str) -> bool:
        if self.names is None:
            return True
        return any(name == n or name.startswith(n + ".") for n in self.names)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.min_level or not self._applies(record.name):
            return True
        try:
            text = record.getMessage()
        except Exception:  # a broken format string: let the handler report it
            return True
        kind = (record.name, record.levelno, _DIGITS.sub("#", text))
        now = self._clock()
        with self._lock:
            seen = self._seen.get(kind)
            if seen is not None and now - seen[0] < self.window_s:
                self._seen[kind] = (seen[0], seen[1] + 1)
                return False
            if len(self._seen) >= self.max_kinds:
                self._seen.clear()
            self._seen[kind] = (now, 0)
        if seen is not None and seen[1]:
            record.msg = f"{text} ({seen[1]} more like it in the last {self.window_s:g} s)"
            record.args = None
        return True


LIBRDKAFKA_LOGGER = "velocity_stream.kafka.librdkafka"
_librdkafka_filter = RepeatFilter()


def librdkafka_logger(name: str = LIBRDKAFKA_LOGGER) -> logging.Logger:
    """The logger to give librdkafka clients as their ``logger`` setting, thinned by a
    :class:`RepeatFilter` of its own (so repeats are dropped even where no handler of ours is
    installed, e.g. a short command writing to stderr through logging's last resort)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RepeatFilter) for f in logger.filters):
        logger.addFilter(_librdkafka_filter if name == LIBRDKAFKA_LOGGER else RepeatFilter())
    return logger


def thin_last_resort() -> None:
    """Thin the Kafka clients' lines where no handler is installed (``serve``, ``registry
    serve`` and the short commands log through logging's last resort, to stderr)."""
    last = logging.lastResort
    if last is not None and not any(isinstance(f, RepeatFilter) for f in last.filters):
        last.addFilter(RepeatFilter(names=KAFKA_CLIENT_LOGGERS))


thin_last_resort()
