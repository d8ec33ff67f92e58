"""TLS and mutual TLS, live: the project's client configurations against Tansu behind TLS.

Tansu 0.6.0 cannot serve TLS itself (see conftest), so TLS ends in a proxy in front of it; the
clients under test (librdkafka through our config, aiokafka through ours and the kafka package's,
the faust gateway worker) do real handshakes with certificate and host-name checks.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer
from pydantic import SecretStr

from tests import signing
from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import TopicSpec, load_catalog
from velocity_stream.kafka import topics
from velocity_stream.kafka.config import async_client_options, producer_config
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.kafka.reader import TopicReader
from velocity_stream.kafka.security import aiokafka_security_kwargs
from velocity_stream.kafka.topics import TopicAdmin, TopicAdminError
from velocity_stream.registry.resolvers import preregistered_resolver
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import SecurityProtocol, Settings

from .conftest import KEY_PASSWORD, Pki, TlsCluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def tls_settings(
    cluster: TlsCluster, pki: Pki, *, client_cert: bool, ca: Path | None = None
) -> Settings:
    values: dict[str, object] = {
        "kafka_bootstrap_servers": cluster.bootstrap,
        "security_protocol": SecurityProtocol.SSL,
        "ssl_ca_location": str(ca or pki.ca),
        "client_id": "it-security",
        "session_timeout_ms": 6000,
        "fetch_wait_max_ms": 10,
        "topic_prefix": "sec",
    }
    if client_cert:
        values.update(
            ssl_certificate_location=str(pki.client_cert),
            ssl_key_location=str(pki.client_key),
            ssl_key_password=SecretStr(KEY_PASSWORD),
        )
    return Settings.model_validate(values)


def produce_and_read_back(settings: Settings, topic: str, n: int = 3) -> list[bytes]:
    """Create ``topic``, produce ``n`` records with our producer config, read them back with
    our group-less reader, all through the settings' security."""
    admin = TopicAdmin(settings, timeout=10)
    assert admin.create([TopicSpec(topic, 2, "delete", -1)], 1) == {topic: None}
    producer = Producer(producer_config(settings, client_id="it-security-producer"))
    for i in range(n):
        producer.produce(topic, key=b"k%d" % i, value=b"secret-%d" % i)
    assert producer.flush(20) == 0
    with TopicReader(settings, stall_timeout=20) as reader:
        return sorted(record.value or b"" for record in reader.read_all(topic))


def test_librdkafka_clients_work_over_tls_with_the_ca(tls_only: TlsCluster, pki: Pki):
    settings = tls_settings(tls_only, pki, client_cert=False)
    assert produce_and_read_back(settings, "tls-topic") == [b"secret-0", b"secret-1", b"secret-2"]
    assert tls_only.front.connections > 0


def test_a_broker_certificate_from_another_ca_is_refused(tls_only: TlsCluster, pki: Pki):
    settings = tls_settings(tls_only, pki, client_cert=False, ca=pki.other_ca)
    with pytest.raises(TopicAdminError):
        TopicAdmin(settings, timeout=5).topic_names()


def test_mutual_tls_refuses_a_client_without_certificate_and_accepts_ours(
    mutual_tls: TlsCluster, pki: Pki
):
    without = tls_settings(mutual_tls, pki, client_cert=False)
    with pytest.raises(TopicAdminError):
        TopicAdmin(without, timeout=5).topic_names()
    assert mutual_tls.front.connections == 0  # no session got past the handshake

    with_cert = tls_settings(mutual_tls, pki, client_cert=True)
    assert produce_and_read_back(with_cert, "mtls-topic", 2) == [b"secret-0", b"secret-1"]
    assert mutual_tls.front.connections > 0


@pytest.mark.parametrize("mapping", ["security_module", "async_client_options"])
def test_aiokafka_produces_and_consumes_over_mutual_tls(
    mutual_tls: TlsCluster, pki: Pki, mapping: str
):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    settings = tls_settings(mutual_tls, pki, client_cert=True)
    TopicAdmin(settings, timeout=10).create([TopicSpec("aio-topic", 1, "delete", -1)], 1)
    if mapping == "security_module":
        kwargs = {"bootstrap_servers": mutual_tls.bootstrap, **aiokafka_security_kwargs(settings)}
    else:  # what the gateway hands faust (velocity_stream.kafka.config)
        kwargs = async_client_options(settings).aiokafka_kwargs()

    async def round_trip() -> bytes | None:
        producer = AIOKafkaProducer(**kwargs)
        await producer.start()
        try:
            await producer.send_and_wait("aio-topic", b"over-mtls", key=b"k")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            "aio-topic", auto_offset_reset="earliest", fetch_max_wait_ms=10, **kwargs
        )
        await consumer.start()
        try:
            message = await asyncio.wait_for(consumer.getone(), 30)
            return message.value
        finally:
            await consumer.stop()

    assert asyncio.run(round_trip()) == b"over-mtls"


def test_the_gateway_worker_routes_over_mutual_tls(
    mutual_tls: TlsCluster, pki: Pki, tmp_path: Path
):
    """faust (aiokafka) consumes and librdkafka produces, both with the settings' mTLS."""
    settings = tls_settings(mutual_tls, pki, client_cert=True)
    catalog = load_catalog(settings.schemas_dir)
    report = topics.apply(TopicAdmin(settings), catalog.topic_specs(settings.topic_prefix), 1)
    assert report.ok, report
    env = dict(os.environ)
    env.pop("SCHEMA_REGISTRY_URL", None)
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
            "KAFKA_SECURITY_PROTOCOL": "SSL",
            "KAFKA_SSL_CA_LOCATION": str(pki.ca),
            "KAFKA_SSL_CERTIFICATE_LOCATION": str(pki.client_cert),
            "KAFKA_SSL_KEY_LOCATION": str(pki.client_key),
            "KAFKA_SSL_KEY_PASSWORD": KEY_PASSWORD,
            "VELOCITY_TOPIC_PREFIX": settings.topic_prefix,
            "VELOCITY_SESSION_TIMEOUT_MS": "6000",
            "VELOCITY_FETCH_WAIT_MAX_MS": "10",
            # the worker takes only signed decisions: it needs its keys to start
            **signing.env(),
            # no metrics endpoint: another worker of the run may hold the default port
            "VELOCITY_METRICS_ENABLED": "false",
        }
    )
    log_path = tmp_path / "gateway.log"
    with log_path.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "velocity_stream.gateway.runtime.worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        serde = AvroSerde(
            catalog, preregistered_resolver(catalog, settings.topic_prefix), settings.topic_prefix
        )
        artifact = example("QdSignalBundle")
        with ArtifactProducer(settings, catalog, serde, producer_name="it-mtls") as producer:
            producer.publish(artifact).result(20)
        accepted = catalog.family("QdSignalBundle").accepted_topic(settings.topic_prefix)
        deadline = time.monotonic() + 120
        found: list[bytes] = []
        while not found:
            assert worker.poll() is None, log_path.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")[-3000:]
            with TopicReader(settings) as reader:
                found = [r.value or b"" for r in reader.read_all(accepted)]
            time.sleep(0.5)
        assert found == [serde.encode(artifact)]
        log_text = log_path.read_text(errors="replace")
        assert KEY_PASSWORD not in log_text
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
