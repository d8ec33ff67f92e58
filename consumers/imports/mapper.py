"""The imports consumer's mapper: accepted RawImportBatch, ImportRowRecord and
ImportMappingManifest records (every major, read as the latest model) -> import copies.

Each record becomes one :class:`~consumers.imports.copies.ImportCopy` (in ``Writes.extra``,
for the store's hook in ``sink.py``) and, as ``Writes.upserts``, the rows the copy would
keep (KEEP: immutable; the hook decides which copy stays), so the framework's checks see every
value it stores.
"""

from __future__ import annotations

from consumers.imports.copies import IMPORT_FAMILIES, ImportCopy, copy_tables, import_copy
from consumers.imports.tables import ImportTables
from consumers.reading import ArtifactReader
from consumers.sink.topics import accepted_topics
from consumers.sink.writes import Mode, Upsert, Writes
from velocity_stream.contracts.catalog import Catalog, Family
from velocity_stream.protocol.records import InboundMessage


class ImportsMapper:
    name = "imports"

    def __init__(self, tables: ImportTables) -> None:
        self.tables = tables
        self._topics: dict[str, tuple[Family, int]] = {}

    def topics(self, catalog: Catalog, topic_prefix: str) -> list[str]:
        self._topics = accepted_topics(catalog, topic_prefix, IMPORT_FAMILIES)
        return sorted(self._topics)

    def map(self, message: InboundMessage, reader: ArtifactReader) -> Writes:
        if not self._topics:
            self.topics(reader.catalog, reader.prefix)
        family, major = self._topics[message.topic]
        copy = import_copy(reader.read(message.value, family, major), message.coordinates)
        # The reader returns the topic's family, and every import family makes a copy.
        assert copy is not None
        return Writes((self.upsert(copy),), (copy,))

    def upsert(self, copy: ImportCopy) -> Upsert:
        table, details = copy_tables(self.tables, copy.kind)
        children = {details: copy.details} if details is not None else {}
        return Upsert(table, copy.stored_row(), Mode.KEEP, children)
