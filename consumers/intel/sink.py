"""The intel consumer as a sink: its tables, its mapper, the generic apply."""

from __future__ import annotations

from consumers.intel.mapper import IntelMapper
from consumers.intel.tables import intel_tables
from consumers.sink.parts import Sink


def intel_sink(table_prefix: str = "") -> Sink:
    tables = intel_tables(table_prefix)
    return Sink(IntelMapper(tables), tables)
