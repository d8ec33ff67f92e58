"""No secret reaches a repr, a str, a JSON dump, a describe line or a log record.

Every secret setting gets a distinctive value; each test renders something the project might
print or log and looks for any of those values in it.
"""

from __future__ import annotations

import logging
import time

import pytest
from pydantic import SecretStr

from velocity_stream.kafka.config import (
    async_client_options,
    consumer_config,
    describe_config,
    producer_config,
    redact,
)
from velocity_stream.kafka.reader import TopicReader
from velocity_stream.kafka.security import (
    aiokafka_security_kwargs,
    confluent_registry_config,
    describe_security,
    registry_http_kwargs,
)
from velocity_stream.settings import SaslMechanism, SecurityProtocol, Settings

SECRETS = ("sasl-Secret-1f9", "key-Secret-7c2", "registry-Secret-3ad", "reviewer-Token-88e")


def secret_settings(bootstrap: str = "127.0.0.1:9") -> Settings:
    return Settings.model_validate(
        {
            "kafka_bootstrap_servers": bootstrap,
            "security_protocol": SecurityProtocol.SASL_PLAINTEXT,
            "sasl_mechanism": SaslMechanism.SCRAM_SHA_512,
            "sasl_username": "svc",
            "sasl_password": SecretStr(SECRETS[0]),
            "ssl_key_password": SecretStr(SECRETS[1]),
            "ssl_key_location": "/k.pem",
            "ssl_certificate_location": "/c.pem",
            "schema_registry_url": "https://registry:8081",
            "schema_registry_username": "reader",
            "schema_registry_password": SecretStr(SECRETS[2]),
            "reviewer_tokens": {SECRETS[3]: "human:sayan"},
        }
    )


def assert_clean(text: str, secrets: tuple[str, ...] = SECRETS) -> None:
    leaked = [secret for secret in secrets if secret in text]
    assert not leaked, f"leaked {leaked} in: {text[:500]}"


def test_settings_repr_str_and_json_hide_every_secret():
    config = secret_settings()
    assert_clean(repr(config))
    assert_clean(str(config))
    assert_clean(config.model_dump_json(), SECRETS[:3])  # the Kafka and registry secrets
    assert "svc" in repr(config)  # the rest is still there to debug with


def test_reviewer_tokens_stay_out_of_a_json_dump_of_the_settings():
    assert_clean(secret_settings().model_dump_json(), SECRETS[3:])


def test_client_configs_print_safely_through_redact_and_describe():
    config = secret_settings()
    for mapping in (producer_config(config), consumer_config(config, "g")):
        assert SECRETS[0] in mapping.values()  # the client itself gets the secret
        assert_clean(repr(redact(mapping)))
        assert_clean(describe_config(mapping))


def test_security_mappings_print_safely_as_they_are():
    config = secret_settings()
    kwargs = aiokafka_security_kwargs(config)
    registry = confluent_registry_config(config)
    http = registry_http_kwargs(config)
    for value in (kwargs, registry, http):
        assert_clean(repr(value))
        assert_clean(str(value))
        assert_clean(f"{value}")
    assert kwargs["sasl_plain_password"] == SECRETS[0]
    assert_clean(repr(async_client_options(config)))
    assert_clean(describe_security(config))


def test_nothing_logged_while_clients_fail_to_connect_contains_a_secret(
    caplog: pytest.LogCaptureFixture,
):
    """librdkafka logs through our loggers; a client that cannot reach its broker (port 9 is
    the discard port, closed here) logs connection errors. None may carry a secret."""
    caplog.set_level(logging.DEBUG)
    config = secret_settings().model_copy(update={"ssl_key_password": None})
    with TopicReader(config, client_id="leak-check") as reader:
        reader._consumer.poll(1.0)  # let librdkafka try, fail and log
        time.sleep(0.2)
    logging.getLogger("velocity_stream").debug("settings: %r", config)
    logging.getLogger("velocity_stream").debug("kafka: %s", describe_security(config))
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert any(r.name.endswith("librdkafka") for r in caplog.records)  # librdkafka did log
    assert_clean(text)
