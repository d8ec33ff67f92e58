"""The governance consumer as a sink: its tables, its mapper, its own apply hook (the current
state of a proposal is derived from all its stored states, see store.py)."""

from __future__ import annotations

from consumers.governance.mapping import GovernanceRows
from consumers.governance.store import governance_applier
from consumers.governance.tables import GovernanceTables, governance_tables
from consumers.reading import ArtifactReader
from consumers.sink.parts import Sink
from consumers.sink.writes import NOTHING, Mode, Upsert, Writes
from velocity_stream.protocol.records import InboundMessage


class GovernanceMapper(GovernanceRows):
    """The framework's Mapper: a record's rows as KEEP upserts of the governance tables (the
    apply hook, not the generic upserts, writes them: see store.py)."""

    def __init__(self, tables: GovernanceTables) -> None:
        super().__init__()
        self.tables = tables

    def map(self, message: InboundMessage, reader: ArtifactReader) -> Writes:
        found = self.rows(message, reader)
        if not found:
            return NOTHING
        t = self.tables
        return Writes(
            upserts=[
                Upsert(table, row, Mode.KEEP)
                for table, rows in (
                    (t.proposals, found.proposals),
                    (t.states, found.states),
                    (t.decisions, found.decisions),
                    (t.commits, found.commits),
                )
                for row in rows
            ]
        )


def governance_sink(table_prefix: str = "") -> Sink:
    tables = governance_tables(table_prefix)
    return Sink(GovernanceMapper(tables), tables, governance_applier(tables))
