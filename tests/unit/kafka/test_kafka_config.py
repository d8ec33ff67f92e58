"""Settings -> Kafka client configuration: security, timeouts, producer guarantees, redaction."""

from __future__ import annotations

from types import ModuleType

import pytest
from pydantic import SecretStr

from velocity_stream.errors import ConfigError
from velocity_stream.kafka.config import (
    REDACTED,
    admin_config,
    async_client_options,
    bootstrap_servers,
    consumer_config,
    describe_config,
    heartbeat_interval_ms,
    producer_config,
    redact,
)
from velocity_stream.settings import SaslMechanism, SecurityProtocol, Settings


def make_settings(**overrides: object) -> Settings:
    base: dict[str, object] = {"kafka_bootstrap_servers": "broker-a:9092,broker-b:9092"}
    base.update(overrides)
    return Settings.model_validate(base)


def sasl_settings(mechanism: SaslMechanism = SaslMechanism.SCRAM_SHA_512) -> Settings:
    return make_settings(
        security_protocol=SecurityProtocol.SASL_SSL,
        sasl_mechanism=mechanism,
        sasl_username="svc-velocity",
        sasl_password=SecretStr("s3cret-pw"),
        ssl_ca_location="/etc/ca.pem",
    )


def test_missing_bootstrap_servers_is_a_config_error_naming_the_variable():
    with pytest.raises(ConfigError, match="KAFKA_BOOTSTRAP_SERVERS"):
        bootstrap_servers(Settings.model_validate({}))


def test_plaintext_config_has_bootstrap_client_id_and_no_secrets():
    config = admin_config(make_settings(client_id="crm-importer"))
    assert config == {
        "bootstrap.servers": "broker-a:9092,broker-b:9092",
        "client.id": "crm-importer",
        "security.protocol": "PLAINTEXT",
    }


def test_explicit_client_id_overrides_the_settings_one():
    assert admin_config(make_settings(), client_id="x")["client.id"] == "x"


@pytest.mark.parametrize("mechanism", list(SaslMechanism))
def test_sasl_ssl_passes_mechanism_credentials_and_ca(mechanism: SaslMechanism):
    config = admin_config(sasl_settings(mechanism))
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == mechanism.value
    assert config["sasl.username"] == "svc-velocity"
    assert config["sasl.password"] == "s3cret-pw"
    assert config["ssl.ca.location"] == "/etc/ca.pem"


def test_sasl_without_credentials_names_what_is_missing():
    settings = make_settings(
        security_protocol=SecurityProtocol.SASL_SSL, sasl_mechanism=SaslMechanism.PLAIN
    )
    with pytest.raises(ConfigError, match="KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD"):
        admin_config(settings)


def test_ssl_mutual_tls_passes_certificate_key_and_key_password():
    settings = make_settings(
        security_protocol=SecurityProtocol.SSL,
        ssl_ca_location="/ca.pem",
        ssl_certificate_location="/client.pem",
        ssl_key_location="/client.key",
        ssl_key_password=SecretStr("kp"),
    )
    config = admin_config(settings)
    assert config["security.protocol"] == "SSL"
    assert config["ssl.certificate.location"] == "/client.pem"
    assert config["ssl.key.location"] == "/client.key"
    assert config["ssl.key.password"] == "kp"
    assert "sasl.mechanism" not in config


def test_ssl_files_are_ignored_under_plaintext():
    config = admin_config(make_settings(ssl_ca_location="/ca.pem"))
    assert "ssl.ca.location" not in config


def test_key_password_without_key_is_rejected():
    settings = make_settings(security_protocol=SecurityProtocol.SSL, ssl_key_password="kp")
    with pytest.raises(ConfigError, match="KAFKA_SSL_KEY_LOCATION"):
        admin_config(settings)


def test_producer_is_idempotent_acks_all_compressed_and_batches_at_least_128_kb():
    config = producer_config(make_settings())
    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"
    assert config["compression.type"] not in ("none", "")
    assert int(config["batch.size"]) >= 128 * 1024
    assert int(config["linger.ms"]) > 0
    assert config["partitioner"] == "murmur2_random"
    assert config["allow.auto.create.topics"] is False


def test_producer_overrides_win():
    config = producer_config(make_settings(), overrides={"linger.ms": 50})
    assert config["linger.ms"] == 50


def test_consumer_commits_manually_and_uses_session_and_fetch_settings():
    settings = make_settings(session_timeout_ms=6000, fetch_wait_max_ms=10)
    config = consumer_config(settings, "group-1")
    assert config["group.id"] == "group-1"
    assert config["enable.auto.commit"] is False
    assert config["session.timeout.ms"] == 6000
    assert config["fetch.wait.max.ms"] == 10
    assert int(config["heartbeat.interval.ms"]) < 6000
    assert config["auto.offset.reset"] == "earliest"


def test_consumer_needs_a_group_id():
    with pytest.raises(ConfigError):
        consumer_config(make_settings(), "")


@pytest.mark.parametrize(("session", "heartbeat"), [(6000, 2000), (45000, 15000), (200, 100)])
def test_heartbeat_is_a_third_of_the_session_with_a_floor(session: int, heartbeat: int):
    assert heartbeat_interval_ms(session) == heartbeat


def test_redact_hides_every_secret_and_keeps_the_rest():
    settings = make_settings(
        security_protocol=SecurityProtocol.SASL_SSL,
        sasl_mechanism=SaslMechanism.SCRAM_SHA_256,
        sasl_username="u",
        sasl_password=SecretStr("pw-1"),
        ssl_certificate_location="/c.pem",
        ssl_key_location="/k.pem",
        ssl_key_password=SecretStr("pw-2"),
    )
    config = producer_config(settings)
    safe = redact(config)
    assert safe["sasl.password"] == REDACTED
    assert safe["ssl.key.password"] == REDACTED
    assert safe["sasl.username"] == "u"
    assert safe["ssl.key.location"] == "/k.pem"
    text = describe_config(config)
    assert "pw-1" not in text and "pw-2" not in text
    assert "sasl.username='u'" in text
    # the original is untouched: clients still get the real secret
    assert config["sasl.password"] == "pw-1"


def test_redact_covers_aiokafka_spellings_and_oauth():
    safe = redact({"sasl_plain_password": "x", "sasl.oauthbearer.client.secret": "y", "a": 1})
    assert safe == {
        "sasl_plain_password": REDACTED,
        "sasl.oauthbearer.client.secret": REDACTED,
        "a": 1,
    }


def test_async_options_map_sasl_plain_to_aiokafka_kwargs_without_leaking_repr():
    settings = make_settings(
        security_protocol=SecurityProtocol.SASL_PLAINTEXT,
        sasl_mechanism=SaslMechanism.PLAIN,
        sasl_username="u",
        sasl_password=SecretStr("pw"),
        session_timeout_ms=6000,
        fetch_wait_max_ms=10,
    )
    options = async_client_options(settings)
    kwargs = options.aiokafka_consumer_kwargs()
    assert kwargs["security_protocol"] == "SASL_PLAINTEXT"
    assert kwargs["sasl_mechanism"] == "PLAIN"
    assert kwargs["sasl_plain_username"] == "u"
    assert kwargs["sasl_plain_password"] == "pw"
    assert kwargs["session_timeout_ms"] == 6000
    assert kwargs["fetch_max_wait_ms"] == 10
    assert "ssl_context" not in kwargs
    assert "pw" not in repr(options)


def test_async_options_build_an_ssl_context_for_tls():
    options = async_client_options(make_settings(security_protocol=SecurityProtocol.SSL))
    assert options.ssl_context is not None
    assert options.aiokafka_kwargs()["ssl_context"] is options.ssl_context
    assert options.sasl_mechanism is None


def test_plaintext_async_options_have_no_tls_and_no_sasl():
    options = async_client_options(make_settings(sasl_username="ignored"))
    assert options.ssl_context is None
    assert "sasl_mechanism" not in options.aiokafka_kwargs()


def test_package_exports_match_all():
    import velocity_stream.kafka as package

    # Exports are imported on first use (the CLI starts without the Kafka client): each one
    # resolves, and nothing public is defined besides them. Submodules show up as attributes
    # once anything imports them; they are not exports.
    assert set(package.__all__) == set(package._EXPORTS)
    assert all(getattr(package, name) is not None for name in package.__all__)
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert public - {"annotations", "TYPE_CHECKING"} == set(package.__all__)
