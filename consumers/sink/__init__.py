"""The table-sink framework: consumers that store what they read as rows (intel, imports,
governance). A consumer provides a pure Mapper (record -> Writes) and its tables, optionally
its own apply hook; the framework owns the Kafka loop, the transaction, rejects and offsets.
docs/stores.md describes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from velocity_stream.lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from consumers.sink.parts import Sink
    from consumers.sink.registry import SINKS, SinkEntry, sink_entry
    from consumers.sink.runner import Mapper, SinkOptions, SinkRunner, SinkStats
    from consumers.sink.store import Applier, Rejection, SinkResult, SinkStore
    from consumers.sink.upserts import apply_writes
    from consumers.sink.writes import NOTHING, Mode, Upsert, Writes

# Imported on first use: the CLI reads the registry without loading SQLAlchemy or Kafka.
_EXPORTS = {
    "Sink": "consumers.sink.parts",
    "SINKS": "consumers.sink.registry",
    "SinkEntry": "consumers.sink.registry",
    "sink_entry": "consumers.sink.registry",
    "Mapper": "consumers.sink.runner",
    "SinkOptions": "consumers.sink.runner",
    "SinkRunner": "consumers.sink.runner",
    "SinkStats": "consumers.sink.runner",
    "Applier": "consumers.sink.store",
    "Rejection": "consumers.sink.store",
    "SinkResult": "consumers.sink.store",
    "SinkStore": "consumers.sink.store",
    "NOTHING": "consumers.sink.writes",
    "Mode": "consumers.sink.writes",
    "Upsert": "consumers.sink.writes",
    "Writes": "consumers.sink.writes",
    "apply_writes": "consumers.sink.upserts",
}
__all__ = [
    "NOTHING",
    "SINKS",
    "Applier",
    "Mapper",
    "Mode",
    "Rejection",
    "Sink",
    "SinkEntry",
    "SinkOptions",
    "SinkResult",
    "SinkRunner",
    "SinkStats",
    "SinkStore",
    "Upsert",
    "Writes",
    "apply_writes",
    "sink_entry",
]
__getattr__ = _lazy_exports(__name__, _EXPORTS)
