"""The imports consumer as a sink, without a broker: encoded records through its mapper (every
major, read as the latest model) and its apply hook in the sink store's transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from consumers.imports.copies import CopyKind, ImportCopy
from consumers.imports.sink import imports_sink
from consumers.imports.tables import ImportTables
from consumers.reading import ArtifactReader, UnreadableRecord
from consumers.sink import Mode, Rejection, SinkStore, sink_entry
from consumers.sink.runner import refuse_unstorable
from consumers.storage import open_engine
from tests.unit.consumers.conftest import PREFIX
from tests.unit.consumers.imports.conftest import START
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.example_intake import import_mapping_manifest_v1
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.devstack.demo_intake import IntakeDemo
from velocity_stream.errors import ReasonCode
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde import AvroSerde

BATCH = "batch:sink-01"


@pytest.fixture
def store() -> Iterator[SinkStore]:
    sink = imports_sink("unit_")
    made = SinkStore(open_engine("sqlite://"), sink.tables, sink.apply)
    made.create()
    yield made
    made.engine.dispose()


def message(
    catalog: Catalog, serde: AvroSerde, artifact: Artifact, offset: int, major: int | None = None
) -> InboundMessage:
    family = catalog.family(artifact.FAMILY)
    topic = family.accepted_topic(PREFIX, major) if major else family.accepted_topic(PREFIX)
    key = str(getattr(artifact, family.key_field)).encode()
    return InboundMessage(topic, 0, offset, key, serde.encode(artifact))


def test_the_registry_names_the_imports_sink() -> None:
    sink = sink_entry("imports").load("unit_")
    assert sink.mapper.name == "imports"
    assert isinstance(sink.tables, ImportTables)


def test_the_mapper_reads_every_major_of_the_three_families(
    catalog: Catalog, reader: ArtifactReader
) -> None:
    mapper = imports_sink().mapper
    topics = mapper.topics(catalog, PREFIX)
    manifests = catalog.family("ImportMappingManifest")
    assert manifests.accepted_topic(PREFIX, 1) in topics
    assert manifests.accepted_topic(PREFIX, 2) in topics
    assert catalog.family("RawImportBatch").accepted_topic(PREFIX) in topics
    assert catalog.family("ImportRowRecord").accepted_topic(PREFIX) in topics
    assert len(topics) == 4


def test_a_major_1_manifest_maps_to_one_copy_with_its_kept_rows(
    catalog: Catalog, serde: AvroSerde, reader: ArtifactReader
) -> None:
    sink = imports_sink("unit_")
    writes = sink.mapper.map(message(catalog, serde, import_mapping_manifest_v1(), 9, 1), reader)
    (copy,) = writes.extra
    assert isinstance(copy, ImportCopy) and copy.kind is CopyKind.MANIFEST
    (upsert,) = writes.normalized()
    assert upsert.mode is Mode.KEEP and upsert.row["offset"] == 9
    assert list(upsert.children.values()) == [copy.details]
    assert {d["fate"] for d in copy.details} == {"MAPPED", "IGNORED", "UNRESOLVED"}


def test_a_nul_in_a_cell_is_refused_before_the_store(
    catalog: Catalog, serde: AvroSerde, reader: ArtifactReader
) -> None:
    """The contract refuses a NUL in any string on the way in; the sink holds what a mapper
    makes of a record to the same rule (a cell is copied into two tables)."""
    intake = IntakeDemo(START, BATCH)
    writes = imports_sink().mapper.map(
        message(catalog, serde, intake.row(1, intake.rows[0]), 0), reader
    )
    refuse_unstorable(writes)  # as read: storable
    for upsert in writes.normalized():
        for column, value in upsert.row.items():
            if isinstance(value, str) and column == "raw_values":
                upsert.row[column] = value.replace("}", ', "Notes": "a\x00b"}', 1)
    with pytest.raises(UnreadableRecord) as refused:
        refuse_unstorable(writes)
    assert refused.value.code is ReasonCode.CONTRACT_INVALID_FIELD
    assert "raw_values" in str(refused.value)


def test_a_batch_applies_with_its_offsets_and_a_redelivery_changes_nothing(
    catalog: Catalog, serde: AvroSerde, reader: ArtifactReader, store: SinkStore
) -> None:
    intake = IntakeDemo(START, BATCH)
    artifacts = [a for a in intake.artifacts() if a.FAMILY != "NormalizedEntityProposal"]
    mapper = imports_sink("unit_").mapper
    writes = [
        mapper.map(message(catalog, serde, a, offset), reader) for offset, a in enumerate(artifacts)
    ]
    bad = Rejection("t", 0, 99, ReasonCode.DECODE_CORRUPT_BODY, "truncated")
    result = store.apply(writes, [bad], {("t", 0): 100})
    assert (result.records, result.unchanged, result.rejected) == (len(artifacts), 0, 1)
    before = store.dump()
    assert len(before["rows"]) == 6 and len(before["row_values"]) == 42
    again = store.apply(writes, [bad], {("t", 0): 100})
    assert again.unchanged == len(artifacts)
    assert store.dump() == before
