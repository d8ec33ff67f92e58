"""Settings -> aiokafka/faust and registry-client security, for every protocol and mechanism.

The live tests (tests/integration/security) cover what Tansu lets a test reach; these cover the
rest of the mapping: SASL_SSL with PLAIN and SCRAM-SHA-512, SASL_PLAINTEXT, faust's credentials.
"""

from __future__ import annotations

import ssl

import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth  # noqa: TID251
from pydantic import SecretStr

from velocity_stream.errors import ConfigError
from velocity_stream.gateway.faust_app import _credentials
from velocity_stream.kafka.config import async_client_options, producer_config
from velocity_stream.kafka.security import (
    RedactedDict,
    aiokafka_security_kwargs,
    aiokafka_ssl_context,
    confluent_registry_config,
    describe_security,
    registry_auth,
    registry_http_kwargs,
    safe_url,
)
from velocity_stream.settings import SaslMechanism, SecurityProtocol, Settings


def settings(**values: object) -> Settings:
    return Settings.model_validate({"kafka_bootstrap_servers": "kafka-1:9093", **values})


def sasl(protocol: SecurityProtocol, mechanism: SaslMechanism) -> Settings:
    return settings(
        security_protocol=protocol,
        sasl_mechanism=mechanism,
        sasl_username="svc-gateway",
        sasl_password=SecretStr("pw-123"),
    )


@pytest.mark.parametrize("mechanism", [SaslMechanism.SCRAM_SHA_512, SaslMechanism.PLAIN])
def test_sasl_ssl_maps_to_aiokafka_with_a_verifying_tls_context(mechanism: SaslMechanism):
    kwargs = aiokafka_security_kwargs(sasl(SecurityProtocol.SASL_SSL, mechanism))
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == mechanism.value
    assert kwargs["sasl_plain_username"] == "svc-gateway"
    assert kwargs["sasl_plain_password"] == "pw-123"
    context = kwargs["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_sasl_plaintext_has_no_tls_context():
    kwargs = aiokafka_security_kwargs(
        sasl(SecurityProtocol.SASL_PLAINTEXT, SaslMechanism.SCRAM_SHA_512)
    )
    assert kwargs["security_protocol"] == "SASL_PLAINTEXT"
    assert "ssl_context" not in kwargs


def test_plaintext_maps_to_nothing_but_the_protocol():
    assert dict(aiokafka_security_kwargs(settings())) == {"security_protocol": "PLAINTEXT"}
    assert aiokafka_ssl_context(settings()) is None


def test_ssl_without_a_ca_trusts_the_system_store():
    context = aiokafka_ssl_context(settings(security_protocol=SecurityProtocol.SSL))
    assert context is not None and context.verify_mode is ssl.CERT_REQUIRED


def test_incomplete_security_settings_are_refused_with_the_variable_names():
    with pytest.raises(ConfigError, match="KAFKA_SASL_PASSWORD"):
        aiokafka_security_kwargs(
            settings(
                security_protocol=SecurityProtocol.SASL_SSL,
                sasl_mechanism=SaslMechanism.PLAIN,
                sasl_username="u",
            )
        )
    with pytest.raises(ConfigError, match="KAFKA_SSL_CERTIFICATE_LOCATION"):
        aiokafka_security_kwargs(
            settings(security_protocol=SecurityProtocol.SSL, ssl_key_location="/k.pem")
        )


@pytest.mark.parametrize(
    ("protocol", "mechanism"),
    [
        (SecurityProtocol.SASL_SSL, SaslMechanism.SCRAM_SHA_512),
        (SecurityProtocol.SASL_SSL, SaslMechanism.PLAIN),
        (SecurityProtocol.SASL_PLAINTEXT, SaslMechanism.SCRAM_SHA_512),
    ],
)
def test_the_gateways_faust_credentials_reach_aiokafka_as_configured(
    protocol: SecurityProtocol, mechanism: SaslMechanism
):
    """faust turns the gateway's credentials into aiokafka kwargs; they must match ours."""
    config = sasl(protocol, mechanism)
    through_faust = dict(credentials_to_aiokafka_auth(_credentials(async_client_options(config))))
    ours = aiokafka_security_kwargs(config)
    for key in ("security_protocol", "sasl_mechanism", "sasl_plain_username"):
        assert through_faust[key] == ours[key]
    assert through_faust["sasl_plain_password"] == "pw-123"
    assert (through_faust["ssl_context"] is None) == ("ssl_context" not in ours)


def test_faust_gets_tls_credentials_for_ssl():
    config = settings(security_protocol=SecurityProtocol.SSL)
    mapped = credentials_to_aiokafka_auth(_credentials(async_client_options(config)))
    assert mapped["security_protocol"] == "SSL"
    assert isinstance(mapped["ssl_context"], ssl.SSLContext)


def test_librdkafka_and_aiokafka_agree_on_protocol_mechanism_and_user():
    config = sasl(SecurityProtocol.SASL_SSL, SaslMechanism.SCRAM_SHA_512)
    rd = producer_config(config)
    aio = aiokafka_security_kwargs(config)
    assert rd["security.protocol"] == aio["security_protocol"]
    assert rd["sasl.mechanism"] == aio["sasl_mechanism"]
    assert rd["sasl.username"] == aio["sasl_plain_username"]


def test_registry_clients_get_basic_auth_and_the_ca():
    config = settings(
        schema_registry_url="https://registry:8081",
        schema_registry_username="reader",
        schema_registry_password=SecretStr("rp"),
        schema_registry_ca_location="/etc/registry-ca.pem",
    )
    assert registry_auth(config) == ("reader", "rp")
    assert confluent_registry_config(config) == {
        "url": "https://registry:8081",
        "basic.auth.user.info": "reader:rp",
        "ssl.ca.location": "/etc/registry-ca.pem",
    }
    with pytest.raises(FileNotFoundError):  # the CA file is read for httpx's context
        registry_http_kwargs(config)


def test_registry_without_auth_and_half_auth():
    assert registry_http_kwargs(settings()) == {"verify": True}
    assert registry_auth(settings()) is None
    with pytest.raises(ConfigError, match="set together"):
        registry_auth(settings(schema_registry_username="reader"))
    with pytest.raises(ConfigError, match="SCHEMA_REGISTRY_URL"):
        confluent_registry_config(settings())


def test_redacted_dict_is_still_the_real_dict():
    kwargs = RedactedDict(sasl_plain_password="pw", user="u")
    assert kwargs["sasl_plain_password"] == "pw"
    assert dict(kwargs) == {"sasl_plain_password": "pw", "user": "u"}


def test_describe_security_names_everything_but_secrets():
    config = settings(
        security_protocol=SecurityProtocol.SASL_SSL,
        sasl_mechanism=SaslMechanism.SCRAM_SHA_512,
        sasl_username="svc",
        sasl_password=SecretStr("pw-123"),
        ssl_ca_location="/ca.pem",
        ssl_certificate_location="/c.pem",
        ssl_key_location="/k.pem",
        schema_registry_url="https://bob:hunter2@registry:8081/x",
        schema_registry_username="reader",
        schema_registry_password=SecretStr("rp-999"),
    )
    text = describe_security(config)
    assert text == (
        "kafka SASL_SSL, sasl SCRAM-SHA-512 as svc, ca /ca.pem, client cert /c.pem (mutual "
        "TLS), registry https://bob:***@registry:8081/x, registry user reader"
    )


def test_safe_url_keeps_urls_without_passwords():
    assert safe_url("https://registry:8081") == "https://registry:8081"
    assert safe_url("https://u@registry") == "https://u@registry"
    assert safe_url(None) is None
