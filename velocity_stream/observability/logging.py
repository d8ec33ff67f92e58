"""Structured logs: one JSON object per line, carrying the trace id of the message being handled.

Producers put a trace id in every message's ``velocity.trace_id`` header (see
velocity_stream/protocol/headers.py) and the gateway forwards it onto its outputs. A worker wraps
the handling of each message in :func:`message_context`; a context variable then carries the
id to every log call made meanwhile, in this thread or asyncio task, without passing it down.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import TracebackType
from typing import TextIO

from velocity_stream.kafka.client_logs import KAFKA_CLIENT_LOGGERS, RepeatFilter
from velocity_stream.protocol.headers import TRACE_ID
from velocity_stream.settings import LogFormat, Settings

_trace_id: ContextVar[str | None] = ContextVar("velocity_trace_id", default=None)

# Header values are untrusted input: a trace id is accepted only in a plain shape and size, so
# a producer cannot stuff a log line with megabytes or terminal escapes through it.
_TRACE_ID_SHAPE = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged.
_RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "trace_id",
}

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [trace=%(trace_id)s] %(message)s"

HeaderPairs = Iterable[tuple[str, bytes | str | None]]


def current_trace_id() -> str | None:
    """The trace id of the message being handled in this context, if any."""
    return _trace_id.get()


def valid_trace_id(value: bytes | str | None) -> str | None:
    """``value`` as a trace id, or None when it is missing or not shaped like one."""
    if value is None:
        return None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return text if _TRACE_ID_SHAPE.fullmatch(text) else None


def trace_id_from_headers(headers: HeaderPairs | None) -> str | None:
    """The producer's trace id from Kafka headers (the last ``velocity.trace_id`` wins)."""
    found: bytes | str | None = None
    for name, value in headers or ():
        if name == TRACE_ID:
            found = value
    return valid_trace_id(found)


class trace_context:  # lower case: it reads as a function, ``with trace_context(id):``
    """Make ``trace_id`` current for the block (None clears it), restoring the previous one.

    A class rather than a generator-based context manager: it runs once per message.
    """

    __slots__ = ("_token", "trace_id")

    def __init__(self, trace_id: str | None) -> None:
        self.trace_id = valid_trace_id(trace_id)
        self._token: Token[str | None] | None = None

    def __enter__(self) -> str | None:
        self._token = _trace_id.set(self.trace_id)
        return self.trace_id

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _trace_id.reset(self._token)
            self._token = None


def message_context(headers: HeaderPairs | None) -> trace_context:
    """Handle one Kafka message: its trace id (from its headers) is current for the block."""
    return trace_context(trace_id_from_headers(headers))


class TraceIdFilter(logging.Filter):
    """Stamps ``record.trace_id`` with the current trace id ("-" when none), for any format."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "trace_id", None) is None:
            record.trace_id = _trace_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ms), level, logger, message, trace_id when known,
    ``extra=`` fields, and the formatted exception. ``static`` fields go on every line (role,
    client id): never put secrets there, nor in ``extra``."""

    def __init__(self, static: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.static = dict(static or {})

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, UTC)
        body: dict[str, object] = {
            "time": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace = getattr(record, "trace_id", None)
        if trace is None or trace == "-":
            trace = _trace_id.get()
        if trace:
            body["trace_id"] = trace
        body.update(self.static)
        for name, value in record.__dict__.items():
            if name not in _RECORD_FIELDS and not name.startswith("_") and name not in body:
                body[name] = value
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            body["stack"] = self.formatStack(record.stack_info)
        # default=str: bytes, enums and datetimes in ``extra`` become text instead of raising.
        return json.dumps(body, ensure_ascii=False, default=str)


def log_handler(
    log_format: LogFormat,
    *,
    static: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> logging.Handler:
    """A stream handler (stderr by default) in ``log_format`` that knows the trace id."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    if log_format is LogFormat.JSON:
        handler.setFormatter(JsonFormatter(static))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(TraceIdFilter())
    handler.addFilter(RepeatFilter(names=KAFKA_CLIENT_LOGGERS))
    handler.set_name("velocity-stream")
    return handler


# Level spellings of faust's and mode's command lines that the logging module does not know.
_LEVEL_ALIASES = {"CRIT": "CRITICAL", "WARN": "WARNING", "FATAL": "CRITICAL"}


def configure_logging(
    settings: Settings,
    *,
    role: str | None = None,
    level: str | None = None,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install the worker's log handler on the root logger (replacing one installed before).

    ``level`` (e.g. a command-line flag) overrides ``VELOCITY_LOG_LEVEL``. Returns the handler
    so a framework that configures logging itself (faust's worker takes ``loghandlers``) can
    be given the same one.
    """
    static = {"role": role} if role else None
    handler = log_handler(settings.log_format, static=static, stream=stream)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "velocity-stream":
            root.removeHandler(existing)
    root.addHandler(handler)
    name = (level or settings.log_level).upper()
    root.setLevel(_LEVEL_ALIASES.get(name, name))
    return handler
