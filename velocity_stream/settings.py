"""One settings object, read from the environment once and passed down.

No other module reads ``os.environ``. Kafka and registry names follow the usual
conventions (``KAFKA_BOOTSTRAP_SERVERS``, ``SCHEMA_REGISTRY_URL``); everything else is
prefixed ``VELOCITY_``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from velocity_stream.errors import SettingsError

DEFAULT_SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "avro_schemas"
LOCAL_SCHEMAS_DIR = "avro_schemas"


def default_schemas_dir(cwd: Path | None = None) -> Path:
    """``./avro_schemas`` of the current directory when there is one (a repository with its own
    catalog), else the package's own. ``VELOCITY_SCHEMAS_DIR`` wins over both."""
    local = (Path.cwd() if cwd is None else cwd) / LOCAL_SCHEMAS_DIR
    return local.resolve() if local.is_dir() else DEFAULT_SCHEMAS_DIR


class SecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class SaslMechanism(StrEnum):
    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


class LogFormat(StrEnum):
    """How workers write their logs: one JSON object per line, or plain text for terminals."""

    JSON = "json"
    TEXT = "text"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """Everything the project can be told from outside, with embedded-friendly defaults."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS"),
        description="Kafka bootstrap servers. Required by every command that talks to Kafka; "
        "only `dev` (and `registry serve`) start the embedded broker when it is unset.",
    )
    schema_registry_url: str | None = Field(
        default=None,
        validation_alias=_env("SCHEMA_REGISTRY_URL"),
        description="Confluent-compatible registry URL; unset means the embedded registry.",
    )
    schema_registry_username: str | None = Field(
        default=None, validation_alias=_env("SCHEMA_REGISTRY_USERNAME")
    )
    schema_registry_password: SecretStr | None = Field(
        default=None, validation_alias=_env("SCHEMA_REGISTRY_PASSWORD")
    )
    schema_registry_ca_location: str | None = Field(
        default=None, validation_alias=_env("SCHEMA_REGISTRY_CA_LOCATION")
    )
    client_id: str = Field(default="velocity-stream", validation_alias=_env("VELOCITY_CLIENT_ID"))
    topic_prefix: str = Field(default="velocity", validation_alias=_env("VELOCITY_TOPIC_PREFIX"))
    schemas_dir: Path = Field(
        default_factory=default_schemas_dir,
        validation_alias=_env("VELOCITY_SCHEMAS_DIR"),
        description="The contract catalog: catalog.toml and the schemas. Unset: ./avro_schemas "
        "of the current directory when there is one, else the package's own.",
    )
    store_url: str = Field(
        default="sqlite:///velocity_read_models.db",
        validation_alias=_env("VELOCITY_STORE_URL"),
        description="SQLAlchemy URL of the read-model store.",
    )

    security_protocol: SecurityProtocol = Field(
        default=SecurityProtocol.PLAINTEXT, validation_alias=_env("KAFKA_SECURITY_PROTOCOL")
    )
    sasl_mechanism: SaslMechanism | None = Field(
        default=None, validation_alias=_env("KAFKA_SASL_MECHANISM")
    )
    sasl_username: str | None = Field(default=None, validation_alias=_env("KAFKA_SASL_USERNAME"))
    sasl_password: SecretStr | None = Field(
        default=None, validation_alias=_env("KAFKA_SASL_PASSWORD")
    )
    ssl_ca_location: str | None = Field(
        default=None, validation_alias=_env("KAFKA_SSL_CA_LOCATION")
    )
    ssl_certificate_location: str | None = Field(
        default=None, validation_alias=_env("KAFKA_SSL_CERTIFICATE_LOCATION")
    )
    ssl_key_location: str | None = Field(
        default=None, validation_alias=_env("KAFKA_SSL_KEY_LOCATION")
    )
    ssl_key_password: SecretStr | None = Field(
        default=None, validation_alias=_env("KAFKA_SSL_KEY_PASSWORD")
    )

    session_timeout_ms: int = Field(
        default=10_000,
        validation_alias=_env("VELOCITY_SESSION_TIMEOUT_MS"),
        description="Consumer session timeout; group joins wait about half of it.",
    )
    fetch_wait_max_ms: int = Field(
        default=10,
        validation_alias=_env("VELOCITY_FETCH_WAIT_MAX_MS"),
        description="Longest a fetch waits for data; on brokers that do not wake waiting "
        "fetches (Tansu) this is the live latency floor.",
    )

    connect_timeout_s: float = Field(
        default=15.0,
        gt=0,
        validation_alias=_env("VELOCITY_CONNECT_TIMEOUT_S"),
        description="Longest a command waits at start for Kafka (and the schema registry) to "
        "accept a connection before it stops with one line naming the address (exit 2).",
    )
    kafka_watch_interval_s: float = Field(
        default=5.0,
        gt=0,
        validation_alias=_env("VELOCITY_KAFKA_WATCH_INTERVAL_S"),
        description="How often a long-running role checks that Kafka still answers (once a "
        "second while it does not); it logs when Kafka goes and when it is back, and the "
        "review app's and the registry's /healthz answer 503 meanwhile.",
    )

    gateway_shutdown_grace_s: float = Field(
        default=10.0,
        gt=0,
        validation_alias=_env("VELOCITY_GATEWAY_SHUTDOWN_GRACE_S"),
        description="Longest a gateway worker spends stopping after SIGTERM/SIGINT (flushing "
        "outputs, committing) before it exits non-zero anyway; uncommitted inputs are re-read "
        "by the next worker.",
    )

    # --- the review web app (velocity_stream/review) ---------------------------------------
    reviewer_tokens: dict[str, str] = Field(
        default_factory=dict,
        # the tokens are credentials: never in a repr, a log line or a dump of the settings
        repr=False,
        exclude=True,
        validation_alias=_env("VELOCITY_REVIEWER_TOKENS"),
        description="JSON object mapping each bearer token to a reviewer ref, e.g. "
        '{"s3cret": "human:sayan"}. Only refs among the catalog\'s reviewers may use the app.',
    )
    review_host: str = Field(default="127.0.0.1", validation_alias=_env("VELOCITY_REVIEW_HOST"))
    review_port: int = Field(
        default=8080, ge=0, le=65535, validation_alias=_env("VELOCITY_REVIEW_PORT")
    )
    review_session_secret: SecretStr | None = Field(
        default=None,
        validation_alias=_env("VELOCITY_REVIEW_SESSION_SECRET"),
        description="Key of the review app's form (CSRF) tokens; unset means a random key "
        "per process. Set it when several app instances serve the same users.",
    )
    review_cookie_secure: bool = Field(
        default=False,
        validation_alias=_env("VELOCITY_REVIEW_COOKIE_SECURE"),
        description="Send the login cookie over HTTPS only (set when served behind TLS).",
    )
    review_max_body_bytes: int = Field(
        default=64 * 1024,
        gt=0,
        validation_alias=_env("VELOCITY_REVIEW_MAX_BODY_BYTES"),
        description="Largest request body the review app takes (forms and JSON decisions are "
        "small); larger ones are refused with 413 before they are read.",
    )

    # --- the schema registry (velocity_stream/registry) --------------------------------------
    registry_max_body_bytes: int | None = Field(
        default=None,
        gt=0,
        validation_alias=_env("VELOCITY_REGISTRY_MAX_BODY_BYTES"),
        description="Largest request body `registry serve` takes; larger ones are refused with "
        "413 before they are read. Unset: twice the largest schema (--max-schema-bytes) plus "
        "64 KiB; it may not be less than the largest schema.",
    )

    # --- signed decisions (velocity_stream/trust, docs/security.md) -------------------------
    decision_verify_keys: str | None = Field(
        default=None,
        validation_alias=_env("VELOCITY_DECISION_VERIFY_KEYS"),
        description='The gateway\'s trusted decision keys, a JSON object key id -> {"signer": '
        '"review-app" | "approval-rules", "public_key": "<base64>"}; public keys, not secrets. '
        "Required when the catalog has a decision family.",
    )
    rule_signing_key: SecretStr | None = Field(
        default=None,
        repr=False,
        exclude=True,
        validation_alias=_env("VELOCITY_RULE_SIGNING_KEY"),
        description="The gateway's key for its auto rules' decisions (signer approval-rules), "
        "'<key id>:<base64 seed>'. Required when the catalog has an auto-approve rule.",
    )
    review_signing_key: SecretStr | None = Field(
        default=None,
        repr=False,
        exclude=True,
        validation_alias=_env("VELOCITY_REVIEW_SIGNING_KEY"),
        description="The review app's decision key (signer review-app), "
        "'<key id>:<base64 seed>'. The app does not start without it.",
    )

    # --- metrics and logs (velocity_stream/observability) ------------------------------------
    metrics_enabled: bool = Field(
        default=True,
        validation_alias=_env("VELOCITY_METRICS_ENABLED"),
        description="Serve Prometheus metrics from every worker (gateway, consumers).",
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        validation_alias=_env("VELOCITY_METRICS_HOST"),
        description="Address the metrics endpoint binds: loopback by default; containers set "
        "0.0.0.0 so a scraper in another container can reach it.",
    )
    metrics_port: int = Field(
        default=9400,
        ge=0,
        le=65535,
        validation_alias=_env("VELOCITY_METRICS_PORT"),
        description="Port of the metrics endpoint (0: any free port). Give each worker on one "
        "machine its own; a worker whose port is taken logs a warning and runs without one.",
    )
    log_format: LogFormat = Field(
        default=LogFormat.JSON,
        validation_alias=_env("VELOCITY_LOG_FORMAT"),
        description="json (one object per line, with trace ids) or text.",
    )
    log_level: str = Field(
        default="INFO",
        validation_alias=_env("VELOCITY_LOG_LEVEL"),
        description="Level of the workers' root logger (DEBUG, INFO, WARNING, ERROR).",
    )


def load_settings() -> Settings:
    """Read the environment once; callers pass the result down. A malformed variable raises
    :class:`SettingsError`."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(settings_problem(error)) from None
    except PydanticSettingsError as error:  # a JSON-valued variable that is not JSON
        raise SettingsError(f"bad setting: {error} (it takes a JSON value)") from None


def settings_problem(error: ValidationError) -> str:
    """One line for pydantic's report of the environment: each variable and what is wrong."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "settings"
        problems.append(f"{where}: {item['msg']}")
    return "bad setting " + "; ".join(problems)
