"""A sink consumer's parts, as its factory (consumers/sink/registry.py) returns them."""

from __future__ import annotations

from dataclasses import dataclass, field

from consumers.sink.runner import Mapper
from consumers.sink.store import Applier
from consumers.sink.upserts import apply_writes
from consumers.storage import StoreTables


@dataclass(frozen=True)
class Sink:
    """The pure mapper, the tables (with ``offsets`` and ``rejects``), and what the consumer
    does with a batch's writes inside the store's transaction (by default the generic
    upserts of consumers/sink/writes.py)."""

    mapper: Mapper
    tables: StoreTables
    apply: Applier = field(default=apply_writes)
