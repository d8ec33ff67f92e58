"""The topic browser's pure part: which contract decodes a record, what a record that does
not decode shows, search by key or artifact id, newest first, and the scan limit."""

from __future__ import annotations

from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.review.topic_browser import RecordDecoder, browse, matches
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver

PREFIX = "t"


def decoder_and_serde(catalog: Catalog) -> tuple[RecordDecoder, AvroSerde]:
    serde = AvroSerde(catalog, InMemorySchemaResolver(), PREFIX)
    return RecordDecoder(catalog, PREFIX, serde), serde


def message(topic: str, offset: int, key: str, value: bytes, **headers: str) -> InboundMessage:
    pairs = tuple((name, text.encode()) for name, text in headers.items())
    return InboundMessage(topic, 0, offset, key.encode(), value, pairs, 1_000 + offset)


def test_an_ingress_record_decodes_with_its_family(catalog: Catalog):
    decoder, serde = decoder_and_serde(catalog)
    family = catalog.family("OracleWritebackProposal")
    artifact = example("OracleWritebackProposal")
    view = decoder.view(message(family.ingress_topic(PREFIX), 3, "k", serde.encode(artifact)))
    assert view.family == "OracleWritebackProposal"
    assert view.artifact_id == artifact.artifact_id
    assert view.decoded is not None and '"proposal_id"' in view.decoded
    assert view.note.startswith("OracleWritebackProposal v1, schema id")


def test_an_approvals_record_decodes_by_the_topic_it_came_from(catalog: Catalog):
    decoder, serde = decoder_and_serde(catalog)
    family = catalog.family("NormalizedEntityProposal")
    value = serde.encode(example("NormalizedEntityProposal"))
    record = message(
        catalog.approvals_topic(PREFIX),
        0,
        "k",
        value,
        **{h.SOURCE_TOPIC: family.ingress_topic(PREFIX)},
    )
    assert decoder.view(record).family == "NormalizedEntityProposal"


def test_bytes_that_do_not_decode_say_why_and_never_raise(catalog: Catalog):
    decoder, _ = decoder_and_serde(catalog)
    topic = catalog.family("InteractionBundle").ingress_topic(PREFIX)
    view = decoder.view(message(topic, 0, "k", b'{"not": "avro"}'))
    assert view.decoded is None
    assert view.note.startswith("does not decode as InteractionBundle v")
    unknown = decoder.view(message(catalog.dlq_audit_topic(PREFIX), 0, "k", b'{"a": 1}'))
    assert (unknown.family, unknown.decoded) == (None, '{"a": 1}')


def test_search_by_key_part_or_exact_artifact_id_newest_first_with_a_scan_limit(catalog: Catalog):
    decoder, serde = decoder_and_serde(catalog)
    topic = catalog.family("OracleWritebackProposal").ingress_topic(PREFIX)
    base = example("OracleWritebackProposal")
    records = [
        message(
            topic,
            n,
            f"client:{'acme' if n % 2 else 'bose'}-{n}",
            serde.encode(base.model_copy(update={"artifact_id": f"art:{n}"})),
        )
        for n in range(10)
    ]
    page = browse(records, topic, decoder, "acme", limit=3)
    assert [v.offset for v in page.records] == [9, 7, 5]
    assert (page.scanned, page.matched, page.stopped_early) == (10, 5, False)
    assert [v.offset for v in browse(records, topic, decoder, "ART:4").records] == [4]
    assert browse(records, topic, decoder, "art:4x").records == ()
    limited = browse(records, topic, decoder, "", scan=4)
    assert (limited.scanned, limited.stopped_early) == (4, True)
    assert matches(page.records[0], "") is True


def test_a_ref_names_the_record_whose_own_id_field_it_is(catalog: Catalog):
    from velocity_stream.review.topic_browser import names

    decoder, serde = decoder_and_serde(catalog)
    family = catalog.family("NormalizedEntityProposal")
    artifact = example("NormalizedEntityProposal")
    view = decoder.view(message(family.accepted_topic(PREFIX), 0, "k", serde.encode(artifact)))
    assert names(view, str(artifact.proposal_id))  # a top-level id field
    assert names(view, artifact.artifact_id)
    assert names(view, "k")
    assert not names(view, "proposal:entity:someone-else")
