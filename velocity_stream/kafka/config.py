"""Pure mappings from `Settings` to Kafka client configuration (librdkafka dicts, aiokafka kwargs).

Every client in the project is configured here so security, client ids and the Tansu-sensitive
timeouts (session timeout, fetch wait) are decided once. Secrets only leave `SecretStr` on the way
into a config dict; use `redact` before anything is logged or printed.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field

from velocity_stream.errors import ConfigError
from velocity_stream.settings import SaslMechanism, SecurityProtocol, Settings

# A librdkafka configuration as confluent-kafka accepts it.
ClientConfig = dict[str, str | int | float | bool]

REDACTED = "***"
# Substrings of keys whose values are secrets, in librdkafka and aiokafka spellings, and
# whole keys that are secrets in the registry clients' spellings.
_SECRET_KEY_MARKERS = ("password", "secret", "oauthbearer.config", ".pem")
_SECRET_KEYS = frozenset({"basic.auth.user.info", "auth"})

# The producer defaults favour throughput: large batches (at least 128 KB, which
# tests/unit/kafka/test_kafka_config.py holds them to) and a short linger that fills them
# under load without adding much latency when traffic is sparse.
PRODUCER_BATCH_SIZE = 256 * 1024
PRODUCER_LINGER_MS = 5
PRODUCER_COMPRESSION = "lz4"


def bootstrap_servers(settings: Settings) -> str:
    """The configured bootstrap servers, or a ConfigError saying how to get some."""
    servers = (settings.kafka_bootstrap_servers or "").strip()
    if not servers:
        raise ConfigError(
            "KAFKA_BOOTSTRAP_SERVERS is not set: point it at a Kafka cluster or start the "
            "embedded broker (`velocity-stream broker`) and use the address it prints"
        )
    return servers


def heartbeat_interval_ms(session_timeout_ms: int) -> int:
    """A heartbeat well inside the session timeout (the usual one third), at least 100 ms."""
    return max(100, session_timeout_ms // 3)


def security_config(settings: Settings) -> ClientConfig:
    """The librdkafka security keys for the configured protocol; empty for PLAINTEXT."""
    _check_security(settings)
    protocol = settings.security_protocol
    config: ClientConfig = {"security.protocol": protocol.value}
    if protocol in (SecurityProtocol.SASL_SSL, SecurityProtocol.SASL_PLAINTEXT):
        assert settings.sasl_mechanism is not None  # _check_security guarantees it
        assert settings.sasl_username is not None and settings.sasl_password is not None
        config["sasl.mechanism"] = settings.sasl_mechanism.value
        config["sasl.username"] = settings.sasl_username
        config["sasl.password"] = settings.sasl_password.get_secret_value()
    if protocol in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL):
        if settings.ssl_ca_location:
            config["ssl.ca.location"] = settings.ssl_ca_location
        if settings.ssl_certificate_location:
            config["ssl.certificate.location"] = settings.ssl_certificate_location
        if settings.ssl_key_location:
            config["ssl.key.location"] = settings.ssl_key_location
        if settings.ssl_key_password is not None:
            config["ssl.key.password"] = settings.ssl_key_password.get_secret_value()
    return config


def common_config(settings: Settings, *, client_id: str | None = None) -> ClientConfig:
    """Keys every client shares: where the cluster is, who we are, how we authenticate."""
    config: ClientConfig = {
        "bootstrap.servers": bootstrap_servers(settings),
        "client.id": client_id or settings.client_id,
    }
    config.update(security_config(settings))
    return config


def producer_config(
    settings: Settings,
    *,
    client_id: str | None = None,
    overrides: Mapping[str, str | int | float | bool] | None = None,
) -> ClientConfig:
    """An idempotent, acks=all, compressed, batching producer."""
    config = common_config(settings, client_id=client_id)
    config.update(
        {
            # Idempotence implies acks=all and bounded in-flight requests; spelled out so a
            # reader does not need to know librdkafka's implications.
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": PRODUCER_COMPRESSION,
            "batch.size": PRODUCER_BATCH_SIZE,
            "linger.ms": PRODUCER_LINGER_MS,
            # librdkafka's default partitioner (consistent_random, CRC32) places keys on
            # different partitions than the Java client and aiokafka (murmur2); murmur2_random
            # keeps one key on one partition whichever client produced it.
            "partitioner": "murmur2_random",
            # Never let a produce create a topic: brokers (Tansu: 4 partitions, no config)
            # would invent one that contradicts the catalog. `topics apply` creates them.
            "allow.auto.create.topics": False,
        }
    )
    if overrides:
        config.update(overrides)
    return config


def consumer_config(
    settings: Settings,
    group_id: str,
    *,
    client_id: str | None = None,
    auto_offset_reset: str = "earliest",
    overrides: Mapping[str, str | int | float | bool] | None = None,
) -> ClientConfig:
    """A consumer with manual commits and the settings' session timeout and fetch wait."""
    if not group_id:
        raise ConfigError("a consumer needs a non-empty group id")
    config = common_config(settings, client_id=client_id)
    config.update(
        {
            "group.id": group_id,
            # Offsets are committed by the caller after its work is done (at-least-once).
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": auto_offset_reset,
            # Group joins wait about half the session timeout on Tansu (docs/embedded-broker.md).
            "session.timeout.ms": settings.session_timeout_ms,
            "heartbeat.interval.ms": heartbeat_interval_ms(settings.session_timeout_ms),
            # Tansu does not wake a waiting fetch when data arrives: this is the latency floor.
            "fetch.wait.max.ms": settings.fetch_wait_max_ms,
        }
    )
    if overrides:
        config.update(overrides)
    return config


def admin_config(settings: Settings, *, client_id: str | None = None) -> ClientConfig:
    """An admin client: the common keys only."""
    return common_config(settings, client_id=client_id)


def redact(config: Mapping[str, object]) -> dict[str, object]:
    """A copy of a client config with every secret value replaced, safe to log or print."""
    return {
        key: (REDACTED if _is_secret_key(key) and value is not None else value)
        for key, value in config.items()
    }


def describe_config(config: Mapping[str, object]) -> str:
    """A one-line, sorted, redacted rendering of a config for logs and CLI output."""
    safe = redact(config)
    return ", ".join(f"{key}={safe[key]!r}" for key in sorted(safe))


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_KEYS or any(marker in lowered for marker in _SECRET_KEY_MARKERS)


def _check_security(settings: Settings) -> None:
    protocol = settings.security_protocol
    if protocol in (SecurityProtocol.SASL_SSL, SecurityProtocol.SASL_PLAINTEXT):
        missing = [
            name
            for name, value in (
                ("KAFKA_SASL_MECHANISM", settings.sasl_mechanism),
                ("KAFKA_SASL_USERNAME", settings.sasl_username),
                ("KAFKA_SASL_PASSWORD", settings.sasl_password),
            )
            if value is None
        ]
        if missing:
            raise ConfigError(f"{protocol.value} needs {', '.join(missing)}")
    if settings.ssl_key_password is not None and not settings.ssl_key_location:
        raise ConfigError("KAFKA_SSL_KEY_PASSWORD is set but KAFKA_SSL_KEY_LOCATION is not")
    if settings.ssl_key_location and not settings.ssl_certificate_location:
        raise ConfigError("KAFKA_SSL_KEY_LOCATION needs KAFKA_SSL_CERTIFICATE_LOCATION")


@dataclass(frozen=True, slots=True)
class AsyncClientOptions:
    """What an asyncio client (aiokafka, or faust through its credentials) needs from settings.

    Kept free of aiokafka and faust imports: the gateway turns it into faust credentials
    (`sasl_mechanism` + `sasl_username`/`sasl_password` + `ssl_context`) or aiokafka kwargs.
    """

    bootstrap_servers: str
    client_id: str
    security_protocol: SecurityProtocol
    session_timeout_ms: int
    heartbeat_interval_ms: int
    fetch_max_wait_ms: int
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)

    def aiokafka_kwargs(self) -> dict[str, object]:
        """Keyword arguments for aiokafka's producer and consumer constructors."""
        kwargs: dict[str, object] = {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": self.client_id,
            "security_protocol": self.security_protocol.value,
        }
        if self.sasl_mechanism is not None:
            kwargs["sasl_mechanism"] = self.sasl_mechanism.value
            # aiokafka uses the "plain" names for SCRAM credentials too.
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password
        if self.ssl_context is not None:
            kwargs["ssl_context"] = self.ssl_context
        return kwargs

    def aiokafka_consumer_kwargs(self) -> dict[str, object]:
        """Producer kwargs plus the group timings (aiokafka spells fetch wait in ms too)."""
        kwargs = self.aiokafka_kwargs()
        kwargs.update(
            {
                "session_timeout_ms": self.session_timeout_ms,
                "heartbeat_interval_ms": self.heartbeat_interval_ms,
                "fetch_max_wait_ms": self.fetch_max_wait_ms,
                "enable_auto_commit": False,
            }
        )
        return kwargs


def build_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A client TLS context from the KAFKA_SSL_* files, or None when TLS is not in use."""
    _check_security(settings)
    if settings.security_protocol not in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL):
        return None
    context = ssl.create_default_context(cafile=settings.ssl_ca_location or None)
    if settings.ssl_certificate_location:
        password = (
            settings.ssl_key_password.get_secret_value()
            if settings.ssl_key_password is not None
            else None
        )
        context.load_cert_chain(
            settings.ssl_certificate_location,
            keyfile=settings.ssl_key_location or None,
            password=password,
        )
    return context


def async_client_options(settings: Settings, *, client_id: str | None = None) -> AsyncClientOptions:
    """The asyncio-client view of the settings (reads the TLS files when TLS is configured)."""
    _check_security(settings)
    sasl = settings.security_protocol in (
        SecurityProtocol.SASL_SSL,
        SecurityProtocol.SASL_PLAINTEXT,
    )
    return AsyncClientOptions(
        bootstrap_servers=bootstrap_servers(settings),
        client_id=client_id or settings.client_id,
        security_protocol=settings.security_protocol,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=heartbeat_interval_ms(settings.session_timeout_ms),
        fetch_max_wait_ms=settings.fetch_wait_max_ms,
        sasl_mechanism=settings.sasl_mechanism if sasl else None,
        sasl_username=settings.sasl_username if sasl else None,
        sasl_password=(
            settings.sasl_password.get_secret_value()
            if sasl and settings.sasl_password is not None
            else None
        ),
        ssl_context=build_ssl_context(settings),
    )
