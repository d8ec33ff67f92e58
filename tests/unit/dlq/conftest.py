"""Fixtures for the dead-letter tools: real dead letters made by the gateway's pure core.

A MemoryRunner drives the real pipeline; its dead-letter outputs are turned into records as the
broker would return them (dead-letter topic, partition, offset), so parsing is tested against
exactly what the gateway writes rather than a hand-made imitation.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests import signing
from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import Catalog, Route, load_catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.gateway import InboundMessage, MemoryRunner, Pipeline
from velocity_stream.gateway.messages import OutboundMessage
from velocity_stream.protocol.records import Headers
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR

PREFIX = "u"
T_MS = 1_776_500_000_000  # 2026-04-18T08:13:20Z


class Clock:
    def __init__(self) -> None:
        self.now_ms = 1_000_000

    def __call__(self) -> int:
        return self.now_ms


class Factory:
    """Sends artifacts through the real pipeline and hands back dead letters as records."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.clock = Clock()
        self.serde = AvroSerde(catalog, InMemorySchemaResolver(), PREFIX)
        self.pipeline = Pipeline(
            catalog,
            self.serde,
            PREFIX,
            gateway_version="9.9.9-test",
            clock=self.clock,
            verify_keys=signing.KEYRING,
            rule_signer=signing.RULE_KEY,
        )
        self.runner = MemoryRunner(self.pipeline)
        self._dlq_offsets: dict[int, int] = {}

    @property
    def dlq_topic(self) -> str:
        return self.catalog.dead_letter_topic(PREFIX)

    def ingress(self, family: str) -> str:
        return self.catalog.family(family).ingress_topic(PREFIX)

    def send(
        self,
        artifact: Artifact,
        *,
        headers: Headers = (),
        key: bytes | None = None,
        timestamp_ms: int = T_MS,
    ) -> None:
        family = self.catalog.family(artifact.FAMILY)
        own_key = str(getattr(artifact, family.key_field)).encode()
        topic, key = self.ingress(artifact.FAMILY), own_key if key is None else key
        value = self.serde.encode(artifact)
        if family.route is Route.DECISION:  # signed as its producer would
            headers = signing.with_signature(headers, topic, key, value, artifact.source_system)
        self.runner.send(topic, key, value, headers, timestamp_ms)

    def expire(self) -> None:
        self.clock.now_ms += self.catalog.gateway.decision_hold_ms + 1
        self.runner.expire(self.clock.now_ms)

    def dead_letters(self) -> list[InboundMessage]:
        """Every dead letter so far, as consumed from a 3-partition dead-letter topic."""
        return [self.as_record(out, i % 3) for i, out in enumerate(self.outputs())]

    def outputs(self) -> Sequence[OutboundMessage]:
        return self.runner.topic(self.dlq_topic)

    def as_record(self, out: OutboundMessage, partition: int) -> InboundMessage:
        offset = self._dlq_offsets.get(partition, 0)
        self._dlq_offsets[partition] = offset + 1
        return InboundMessage(
            out.topic, partition, offset, out.key, out.value, out.headers, T_MS + 5_000
        )


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(DEFAULT_SCHEMAS_DIR)


@pytest.fixture
def factory(catalog: Catalog) -> Factory:
    return Factory(catalog)


@pytest.fixture
def examples() -> dict[str, Artifact]:
    return {
        name: example(name)
        for name in ("RawImportBatch", "ImportRowRecord", "ApprovalDecision", "QdSignalBundle")
    }
