"""The committer reads commit records with their contract and refuses, with a stable reason
code, every one that breaks it: whoever can write the commits topic can write any bytes."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import fastavro
import pytest

from consumers.reading import ArtifactReader, UnreadableRecord
from tests.unit.consumers import events as ev
from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.commit_record import CommitRecord
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.errors import ReasonCode
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver, frame
from velocity_stream.settings import Settings

PREFIX = "unit"
CATALOG = load_catalog(Settings().schemas_dir)


@pytest.fixture
def serde() -> AvroSerde:
    return AvroSerde(CATALOG, InMemorySchemaResolver(), PREFIX)


@pytest.fixture
def reader(serde: AvroSerde) -> ArtifactReader:
    return ArtifactReader(CATALOG, serde, PREFIX)


def _proposal_topic(catalog: Catalog, family: str) -> str:
    return catalog.family(family).ingress_topic(PREFIX)


def _approval(serde: AvroSerde, proposal: Artifact | None = None) -> CommitRecord:
    proposal = proposal or ev.writeback("w1", "opportunity:o1", stage=("A", "B"))
    topic = _proposal_topic(CATALOG, proposal.FAMILY)
    return ev.commit(proposal, serde.encode(proposal), topic, "decision:w1")


def _raw(serde: AvroSerde, record: dict[str, Any]) -> bytes:
    """``record`` Avro-encoded with the commit schema, no contract check: what a forger or a
    buggy writer can put on the topic."""
    version = CATALOG.commits.latest
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(version.schema), record)
    return frame(serde.schema_id(version), buffer.getvalue())


def test_a_valid_commit_record_gives_the_record_and_its_proposal(serde, reader) -> None:
    record = _approval(serde)
    got, proposal = reader.read_commit(record.proposal_id.encode(), serde.encode(record))
    assert got == record
    assert proposal == ev.writeback("w1", "opportunity:o1", stage=("A", "B"))


def _with(**changes: Any) -> Callable[[AvroSerde, CommitRecord], bytes]:
    def build(serde: AvroSerde, record: CommitRecord) -> bytes:
        return _raw(serde, record.to_avro() | changes)

    return build


def _other_proposal(serde: AvroSerde, record: CommitRecord) -> bytes:
    other = ev.writeback("w2", "opportunity:o1", stage=("A", "B"))
    return _raw(serde, record.to_avro() | {"proposal": serde.encode(other)})


def _not_a_proposal_topic(serde: AvroSerde, record: CommitRecord) -> bytes:
    topic = _proposal_topic(CATALOG, "QdSignalBundle")
    proposal = serde.encode(example("QdSignalBundle"))
    return _raw(serde, record.to_avro() | {"proposal_topic": topic, "proposal": proposal})


CASES: list[tuple[str, Callable[[AvroSerde, CommitRecord], bytes], ReasonCode, str]] = [
    ("json", lambda s, r: b'{"format": 1}', ReasonCode.DECODE_BAD_MAGIC_BYTE, ""),
    ("empty", lambda s, r: b"", ReasonCode.DECODE_EMPTY_PAYLOAD, ""),
    ("unknown schema id", lambda s, r: frame(9999, b"\0"), ReasonCode.DECODE_UNKNOWN_SCHEMA_ID, ""),
    (
        "another family's schema id",
        lambda s, r: s.encode(example("QdSignalBundle")),
        ReasonCode.DECODE_WRONG_FAMILY,
        "",
    ),
    ("truncated", lambda s, r: s.encode(r)[:-3], ReasonCode.DECODE_CORRUPT_BODY, ""),
    (
        "artifact id of another approval",
        _with(artifact_id="commit:decision:other"),
        ReasonCode.CONTRACT_COMMIT_ID_MISMATCH,
        "artifact_id",
    ),
    ("reviewer an AI", _with(reviewer="ai:oracle"), ReasonCode.CONTRACT_COMMIT_REVIEWER_KIND, ""),
    ("no proposal bytes", _with(proposal=b""), ReasonCode.CONTRACT_INVALID_FIELD, "proposal"),
    ("not by the gateway", _with(source_system="oracle"), ReasonCode.AUTH_NOT_OWNER, ""),
    (
        "proposal bytes not a proposal",
        _with(proposal=b"\0\0\0\0\1garbage"),
        ReasonCode.CONTRACT_COMMIT_PROPOSAL_INVALID,
        "proposal",
    ),
    (
        "proposal topic unknown",
        _with(proposal_topic="elsewhere.v1"),
        ReasonCode.CONTRACT_COMMIT_PROPOSAL_INVALID,
        "proposal_topic",
    ),
    (
        "proposal topic of a family that is no proposal",
        _not_a_proposal_topic,
        ReasonCode.CONTRACT_COMMIT_PROPOSAL_INVALID,
        "proposal_topic",
    ),
    (
        "proposal bytes of another proposal",
        _other_proposal,
        ReasonCode.CONTRACT_COMMIT_PROPOSAL_MISMATCH,
        "proposal",
    ),
]


@pytest.mark.parametrize(("name", "build", "code", "field"), CASES, ids=[c[0] for c in CASES])
def test_a_commit_record_that_breaks_its_contract_is_refused_with_a_stable_code(
    serde: AvroSerde,
    reader: ArtifactReader,
    name: str,
    build: Callable[[AvroSerde, CommitRecord], bytes],
    code: ReasonCode,
    field: str,
) -> None:
    record = _approval(serde)
    with pytest.raises(UnreadableRecord) as refused:
        reader.read_commit(record.proposal_id.encode(), build(serde, record))
    assert refused.value.code is code, str(refused.value)
    if field:
        assert refused.value.field == field


def test_a_commit_record_under_another_key_is_refused(serde, reader) -> None:
    record = _approval(serde)
    with pytest.raises(UnreadableRecord) as refused:
        reader.read_commit(b"proposal:other", serde.encode(record))
    assert refused.value.code is ReasonCode.CONTRACT_KEY_MISMATCH
    assert refused.value.field == "proposal_id"


def test_the_gateways_encoding_is_deterministic(serde) -> None:
    # A redelivered decision yields the same bytes, so the committer sees one change.
    assert serde.encode(_approval(serde)) == serde.encode(_approval(serde))
