"""The worker takes its schema ids from a Confluent-compatible registry when one is configured."""

from __future__ import annotations

import pytest

from velocity_stream.contracts import example
from velocity_stream.errors import ReasonCode
from velocity_stream.protocol import headers as h
from velocity_stream.registry.client import RegistryClient, RegistrySchemaResolver
from velocity_stream.registry.server import BackgroundRegistry, ServeOptions, build_service
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import Settings

pytestmark = pytest.mark.integration


def test_worker_decodes_with_ids_from_the_registry(fresh_gateway):
    gw = fresh_gateway
    with BackgroundRegistry(build_service(None, ServeOptions())) as registry:
        gw.registry_url = registry.url
        client = RegistryClient.from_settings(Settings(schema_registry_url=registry.url))
        # A resolver of the publisher's own: ids come from the registry, not a local table.
        gw.serde = AvroSerde(gw.catalog, RegistrySchemaResolver(client), gw.prefix)
        # Register something first so the registry's ids differ from the local order.
        client.register("unrelated-value", '{"type": "record", "name": "X", "fields": []}')
        gw.start()
        artifact = gw.variant(example("QdSignalBundle"), artifact_id="art:registry:1")
        sent = gw.publish(artifact)
        [out] = gw.wait_for(lambda o: o.text(h.ARTIFACT_ID) == "art:registry:1")
        assert out.topic == gw.accepted("QdSignalBundle") and out.value == sent
        # An id the registry never issued is refused as unknown, not as an outage.
        gw.publish_raw(gw.ingress("QdSignalBundle"), b"\x00\x00\x00\x27\x10" + sent[5:], key=b"u")
        [dead] = gw.wait_for(lambda o: o.topic == gw.dead_letters and o.key == b"u")
        assert dead.text(h.DLQ_REASON) == ReasonCode.DECODE_UNKNOWN_SCHEMA_ID.value
        assert gw.stop() == 0
