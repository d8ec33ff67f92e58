"""The governance consumer as a sink: its tables, its mapper, its own apply hook (the current
state of a proposal is derived from all its stored states, see store.py)."""

from __future__ import annotations

from consumers.governance.mapping import GovernanceRows
from consumers.governance.store import governance_applier
from consumers.governance.tables import governance_tables
from consumers.reading import ArtifactReader
from consumers.sink.parts import Sink
from consumers.sink.writes import NOTHING, Writes
from velocity_stream.protocol.records import InboundMessage


class GovernanceMapper(GovernanceRows):
    """The framework's Mapper: a record's rows travel as ``Writes.extra`` to the apply hook."""

    def map(self, message: InboundMessage, reader: ArtifactReader) -> Writes:
        found = self.rows(message, reader)
        return Writes(extra=(found,)) if found else NOTHING


def governance_sink(table_prefix: str = "") -> Sink:
    tables = governance_tables(table_prefix)
    return Sink(GovernanceMapper(), tables, governance_applier(tables))
