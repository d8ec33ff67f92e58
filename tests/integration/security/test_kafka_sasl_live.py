"""SASL against Tansu with ``--authentication``, as far as Tansu lets a test go.

Tansu 0.6.0 with authentication offers SCRAM-SHA-512/256 only, and with its memory storage it
cannot be given a user (``tansu user create`` is itself refused once authentication is on). So
what is proven live: unauthenticated clients are refused; our SCRAM-SHA-512 configuration (for
librdkafka and for aiokafka, over plain TCP and over TLS) runs the SCRAM exchange with the
configured user and is answered ``unknown-user``; PLAIN is not offered. A successful SCRAM or
PLAIN login is covered by the mapping tests (tests/unit/security), not here.
"""

from __future__ import annotations

import asyncio
import threading
import traceback

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from velocity_stream.kafka.config import admin_config
from velocity_stream.kafka.security import aiokafka_security_kwargs
from velocity_stream.kafka.topics import TopicAdmin, TopicAdminError
from velocity_stream.settings import SaslMechanism, SecurityProtocol, Settings

from .conftest import Pki, TansuProcess, tls_cluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PASSWORD = "scram-pass-7f3a"


def sasl_settings(
    bootstrap: str,
    mechanism: SaslMechanism = SaslMechanism.SCRAM_SHA_512,
    protocol: SecurityProtocol = SecurityProtocol.SASL_PLAINTEXT,
    ca: str | None = None,
) -> Settings:
    return Settings.model_validate(
        {
            "kafka_bootstrap_servers": bootstrap,
            "security_protocol": protocol,
            "sasl_mechanism": mechanism,
            "sasl_username": "velocity-gateway",
            "sasl_password": SecretStr(PASSWORD),
            "ssl_ca_location": ca,
        }
    )


def librdkafka_errors(settings: Settings, seconds: float = 4.0) -> list[KafkaError]:
    """Errors librdkafka reports while trying to read metadata with the settings' security."""
    errors: list[KafkaError] = []
    lock = threading.Lock()

    def collect(error: KafkaError) -> None:
        with lock:
            errors.append(error)

    config: dict[str, object] = dict(admin_config(settings, client_id="it-sasl"))
    config.update({"error_cb": collect, "log_level": 0})
    admin = AdminClient(config)
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=seconds)
    admin.poll(0.1)
    return errors


def test_an_unauthenticated_client_is_refused(scram_broker: TansuProcess):
    plain = Settings.model_validate(
        {"kafka_bootstrap_servers": f"127.0.0.1:{scram_broker.listen_port}"}
    )
    with pytest.raises(TopicAdminError):
        TopicAdmin(plain, timeout=4).topic_names()


def test_scram_sha_512_runs_the_exchange_as_the_configured_user(scram_broker: TansuProcess):
    errors = librdkafka_errors(sasl_settings(f"127.0.0.1:{scram_broker.listen_port}"))
    texts = [e.str() for e in errors]
    assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), texts
    assert any("SCRAM" in t and "unknown-user" in t for t in texts), texts
    assert not any(PASSWORD in t for t in texts)


def test_plain_is_not_offered_by_tansu(scram_broker: TansuProcess):
    settings = sasl_settings(f"127.0.0.1:{scram_broker.listen_port}", SaslMechanism.PLAIN)
    texts = [e.str() for e in librdkafka_errors(settings)]
    assert texts and not any("unknown-user" in t for t in texts), texts


def test_sasl_ssl_scram_runs_after_the_tls_handshake(pki: Pki):
    with tls_cluster(pki, mutual=False, authentication=True) as cluster:
        settings = sasl_settings(
            cluster.bootstrap, protocol=SecurityProtocol.SASL_SSL, ca=str(pki.ca)
        )
        texts = [e.str() for e in librdkafka_errors(settings)]
        assert cluster.front.connections > 0  # TLS sessions were made ...
        assert any("unknown-user" in t for t in texts), texts  # ... and SCRAM ran inside them


def test_aiokafka_runs_scram_sha_512_with_our_kwargs(scram_broker: TansuProcess):
    from aiokafka import AIOKafkaProducer

    settings = sasl_settings(f"127.0.0.1:{scram_broker.listen_port}")
    kwargs = aiokafka_security_kwargs(settings)
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"

    async def start() -> BaseException | None:
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=5000, **kwargs
        )
        try:
            await producer.start()
        except Exception as error:
            return error
        finally:
            await producer.stop()
        return None

    error = asyncio.run(start())
    assert error is not None
    # aiokafka 0.14 does not read SCRAM's server error attribute: the broker's final message
    # is "e=unknown-user", and aiokafka fails looking for the server signature ("v") in it.
    # Reaching that line proves the whole client side of the exchange ran with our kwargs.
    frames = [f.name for f in traceback.extract_tb(error.__traceback__)]
    assert "process_server_final_message" in frames or "unknown-user" in str(error), (
        traceback.format_exception(error)
    )
    assert PASSWORD not in str(error)
