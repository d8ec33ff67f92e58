"""Secure-connection settings as each client spells them, with secrets kept out of logs.

librdkafka (confluent-kafka) gets its security keys from :func:`velocity_stream.kafka.config.
security_config`; this module adds the other clients: aiokafka (and faust, which hands
aiokafka's keyword arguments through) and the schema registry clients (ours over httpx, and
confluent-kafka's ``SchemaRegistryClient``). Every mapping returns a :class:`RedactedDict`,
whose ``repr`` and ``str`` hide secret values, so printing or logging one by mistake leaks
nothing; the real values stay in the dict for the client that needs them.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit, urlunsplit

from velocity_stream.errors import ConfigError
from velocity_stream.kafka.config import REDACTED, async_client_options, redact
from velocity_stream.settings import SecurityProtocol, Settings


class RedactedDict(dict[str, object]):
    """A client configuration whose printed form never shows a secret value."""

    def __repr__(self) -> str:
        return f"RedactedDict({redact(self)!r})"

    __str__ = __repr__


def uses_tls(settings: Settings) -> bool:
    return settings.security_protocol in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL)


def uses_sasl(settings: Settings) -> bool:
    return settings.security_protocol in (
        SecurityProtocol.SASL_SSL,
        SecurityProtocol.SASL_PLAINTEXT,
    )


def aiokafka_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """aiokafka's own TLS context (``aiokafka.helpers.create_ssl_context``) from KAFKA_SSL_*.

    It verifies the broker's certificate and host name; a client certificate and key (with
    their password) make it mutual TLS. None when the protocol uses no TLS.
    """
    if not uses_tls(settings):
        return None
    from aiokafka.helpers import create_ssl_context

    if settings.ssl_key_location and not settings.ssl_certificate_location:
        raise ConfigError("KAFKA_SSL_KEY_LOCATION needs KAFKA_SSL_CERTIFICATE_LOCATION")
    password = settings.ssl_key_password.get_secret_value() if settings.ssl_key_password else None
    context: ssl.SSLContext = create_ssl_context(
        cafile=settings.ssl_ca_location or None,
        certfile=settings.ssl_certificate_location or None,
        keyfile=settings.ssl_key_location or None,
        password=password,
    )
    return context


def aiokafka_security_kwargs(settings: Settings) -> RedactedDict:
    """The security keyword arguments of aiokafka's producer and consumer (and so of faust's
    aiokafka transport): ``security_protocol``, ``ssl_context``, ``sasl_mechanism``,
    ``sasl_plain_username`` and ``sasl_plain_password`` (aiokafka uses the "plain" names for
    SCRAM credentials too). Validates the settings like the librdkafka mapping does.
    """
    options = async_client_options(settings)  # the same checks and messages as librdkafka's
    kwargs = RedactedDict(security_protocol=settings.security_protocol.value)
    context = aiokafka_ssl_context(settings)
    if context is not None:
        kwargs["ssl_context"] = context
    if uses_sasl(settings):
        assert options.sasl_mechanism is not None  # async_client_options checked it
        kwargs["sasl_mechanism"] = options.sasl_mechanism.value
        kwargs["sasl_plain_username"] = options.sasl_username
        kwargs["sasl_plain_password"] = options.sasl_password
    return kwargs


def registry_auth(settings: Settings) -> tuple[str, str] | None:
    """Basic-auth credentials for the schema registry, when both halves are set."""
    username = settings.schema_registry_username
    password = settings.schema_registry_password
    if username and password is not None:
        return (username, password.get_secret_value())
    if username or password is not None:
        raise ConfigError(
            "SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD must be set together"
        )
    return None


def registry_ssl_context(settings: Settings) -> ssl.SSLContext | bool:
    """What ``httpx`` verifies the registry with: a context trusting
    ``SCHEMA_REGISTRY_CA_LOCATION``, else True (the system's trust store). httpx deprecates
    passing the CA file's path itself."""
    if settings.schema_registry_ca_location:
        return ssl.create_default_context(cafile=settings.schema_registry_ca_location)
    return True


def registry_http_kwargs(settings: Settings) -> RedactedDict:
    """``httpx.Client`` keyword arguments for the registry: basic auth and TLS verification
    (:func:`registry_ssl_context`)."""
    kwargs = RedactedDict(verify=registry_ssl_context(settings))
    auth = registry_auth(settings)
    if auth is not None:
        kwargs["auth"] = auth
    return kwargs


def confluent_registry_config(settings: Settings, url: str | None = None) -> RedactedDict:
    """confluent-kafka's ``SchemaRegistryClient`` configuration for the same registry."""
    target = url or settings.schema_registry_url
    if not target:
        raise ConfigError("SCHEMA_REGISTRY_URL is not set")
    config = RedactedDict(url=target)
    auth = registry_auth(settings)
    if auth is not None:
        # confluent-kafka's Python client takes user:password here and refuses the Java
        # client's basic.auth.credentials.source key.
        config["basic.auth.user.info"] = f"{auth[0]}:{auth[1]}"
    if settings.schema_registry_ca_location:
        config["ssl.ca.location"] = settings.schema_registry_ca_location
    return config


def safe_url(url: str | None) -> str | None:
    """``url`` with any password in its user-info part replaced (``https://u:***@host``)."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:{REDACTED}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def describe_security(settings: Settings) -> str:
    """One log-safe line on how the project connects: protocol, mechanism, user, files."""
    parts = [f"kafka {settings.security_protocol.value}"]
    if uses_sasl(settings):
        mechanism = settings.sasl_mechanism.value if settings.sasl_mechanism else "?"
        parts.append(f"sasl {mechanism} as {settings.sasl_username or '?'}")
    if uses_tls(settings):
        parts.append(f"ca {settings.ssl_ca_location or 'system'}")
        if settings.ssl_certificate_location:
            parts.append(f"client cert {settings.ssl_certificate_location} (mutual TLS)")
    parts.append(f"registry {safe_url(settings.schema_registry_url) or 'embedded'}")
    if settings.schema_registry_username:
        parts.append(f"registry user {settings.schema_registry_username}")
    return ", ".join(parts)
