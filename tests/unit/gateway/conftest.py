"""Fixtures for the gateway core: the real catalog, an in-memory serde, a settable clock, and
a small client that encodes example artifacts and sends them through a MemoryRunner.

Decisions are signed the way their producer would sign them (tests/signing.py): the pipeline
trusts the test keys and signs its auto rules' decisions with the test rule key."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from tests import signing
from velocity_stream.contracts import example
from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.contracts.catalog import Catalog, Family, Route, load_catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.gateway import InboundMessage, MemoryRunner, OutboundMessage, Outcome, Pipeline
from velocity_stream.protocol.records import Headers
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR

PREFIX = "t"
VERSION = "9.9.9-test"
T_MS = 1_776_500_000_000  # message timestamps (2026-04-18)


class Clock:
    """The pipeline's clock, moved by hand."""

    def __init__(self, now_ms: int = 1_000_000) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> int:
        self.now_ms += ms
        return self.now_ms


def variant(artifact: Artifact, **changes: Any) -> Artifact:
    """A validated copy of ``artifact`` with ``changes`` applied."""
    return type(artifact).model_validate({**artifact.model_dump(), **changes})


def unchecked(artifact: Artifact, **changes: Any) -> Artifact:
    """A copy with ``changes`` and no validation: for artifacts that break their contract."""
    return artifact.model_copy(update=changes)


class Gateway:
    """A test's view of the gateway: send artifacts or raw bytes, read outputs."""

    def __init__(
        self, catalog: Catalog, serde: AvroSerde, pipeline: Pipeline, clock: Clock
    ) -> None:
        self.catalog = catalog
        self.serde = serde
        self.pipeline = pipeline
        self.clock = clock
        self.runner = MemoryRunner(pipeline)

    def family(self, name: str) -> Family:
        return self.catalog.family(name)

    def ingress(self, family: str, major: int | None = None) -> str:
        return self.family(family).ingress_topic(PREFIX, major)

    def accepted(self, family: str, major: int | None = None) -> str:
        return self.family(family).accepted_topic(PREFIX, major)

    @property
    def approvals(self) -> str:
        return self.catalog.approvals_topic(PREFIX)

    @property
    def commits(self) -> str:
        return self.catalog.commits_topic(PREFIX)

    @property
    def dead_letters(self) -> str:
        return self.catalog.dead_letter_topic(PREFIX)

    def key_of(self, artifact: Artifact) -> bytes:
        family = self.family(artifact.FAMILY)
        return str(getattr(artifact, family.key_field)).encode()

    def message(
        self,
        artifact: Artifact,
        *,
        key: bytes | None = None,
        headers: Headers = (),
        timestamp_ms: int = T_MS,
        topic: str | None = None,
        signed: bool = True,
    ) -> InboundMessage:
        """The artifact as a record on its ingress topic (partition by key, next offset).

        A decision is signed over exactly what is sent by the test key of its
        ``source_system`` (``signed=False``: as it is)."""
        topic = topic or self.ingress(artifact.FAMILY, int(artifact.SCHEMA_VERSION.split(".")[0]))
        key = self.key_of(artifact) if key is None else key
        value = self.serde.encode(artifact)
        if signed and self.family(artifact.FAMILY).route is Route.DECISION:
            headers = signing.with_signature(headers, topic, key, value, artifact.source_system)
        return self.runner.message(topic, key, value, headers, timestamp_ms)

    def digest_of(self, proposal: Artifact) -> str:
        """The ``proposal_digest`` of a proposal as this gateway receives it (its encoding)."""
        return proposal_digest(self.serde.encode(proposal))

    def send(self, artifact: Artifact, **options: Any) -> Outcome:
        """Send one artifact; returns its own outcome (fed-back ones are in runner.outcomes)."""
        return self.runner.run([self.message(artifact, **options)])[0]

    def send_all(self, artifacts: Iterable[Artifact]) -> list[Outcome]:
        return [self.send(artifact) for artifact in artifacts]

    def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None = b"k", headers: Headers = ()
    ) -> Outcome:
        return self.runner.send(topic, key, value, headers, T_MS)[0]

    def topic(self, name: str) -> list[OutboundMessage]:
        return self.runner.topic(name)

    variant = staticmethod(variant)
    unchecked = staticmethod(unchecked)

    @staticmethod
    def header(message: OutboundMessage, name: str) -> bytes | None:
        """The last value of header ``name`` (the gateway's, when it wrote one)."""
        found = [value for key, value in message.headers if key == name]
        return found[-1] if found else None

    def expire_after_hold(self) -> list[Outcome]:
        now = self.clock.advance(self.catalog.gateway.decision_hold_ms + 1)
        return self.runner.expire(now)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(DEFAULT_SCHEMAS_DIR)


@pytest.fixture
def serde(catalog: Catalog) -> AvroSerde:
    return AvroSerde(catalog, InMemorySchemaResolver(), PREFIX)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pipeline(catalog: Catalog, serde: AvroSerde, clock: Clock) -> Pipeline:
    return Pipeline(
        catalog,
        serde,
        PREFIX,
        gateway_version=VERSION,
        clock=clock,
        verify_keys=signing.KEYRING,
        rule_signer=signing.RULE_KEY,
    )


@pytest.fixture
def gw(catalog: Catalog, serde: AvroSerde, pipeline: Pipeline, clock: Clock) -> Gateway:
    return Gateway(catalog, serde, pipeline, clock)


@pytest.fixture
def examples() -> dict[str, Artifact]:
    return {family: example(family) for family in _FAMILIES}


_FAMILIES = (
    "RawImportBatch",
    "ImportRowRecord",
    "ImportMappingManifest",
    "NormalizedEntityProposal",
    "ClientGraphDelta",
    "InteractionBundle",
    "TranscriptBundle",
    "QdSignalBundle",
    "OracleWritebackProposal",
    "ApprovalDecision",
    "Client360Snapshot",
)
