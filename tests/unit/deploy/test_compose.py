"""docker-compose.yml would start: what `docker-compose config -q` cannot check.

No Docker here. The file is read with yaml (merge keys included) and its ``${VAR}`` values are
filled in the way Compose does, with freshly generated secrets where the env file would give
them; then each role's settings go through the same start-up checks its command runs.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from consumers.sink.registry import SINKS
from tests.compose import COMPOSE_FILE, REPO, VARIABLE, compose, env_file
from velocity_stream.cli.main import build_parser
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.errors import ConfigError
from velocity_stream.gateway.runtime.worker import decision_keys
from velocity_stream.review.auth import ReviewerDirectory
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR, Settings
from velocity_stream.trust import REVIEW_APP_SIGNER
from velocity_stream.trust import config as trust_config

ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
DEPLOYMENT_DOC = REPO / "docs" / "deployment.md"
OUR_IMAGE = "velocity-stream:local"

_CONDITIONS = {"service_healthy", "service_completed_successfully"}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _required_variables() -> set[str]:
    """The ${VAR:?...} of the file (its values, not its comments)."""
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    return {
        m["name"]
        for text in _strings(document)
        for m in VARIABLE.finditer(text)
        if m["op"] in (":?", "?")
    }


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip().strip("'\"")
    return values


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    return dict(compose(env_file())["services"])


def _ours(services: Mapping[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    return ((name, s) for name, s in services.items() if s.get("image") == OUR_IMAGE)


def _long_running(services: Mapping[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    return ((name, s) for name, s in services.items() if s.get("restart") != "no")


def _parse(command: list[str]) -> Any:
    try:
        return build_parser().parse_args(command)
    except SystemExit as exit_:
        pytest.fail(f"`velocity-stream {' '.join(command)}` does not parse (exit {exit_.code})")


def test_the_kraft_cluster_id_is_a_kafka_uuid(services):
    """KRaft's storage format takes a Kafka Uuid: URL-safe base64 of 16 bytes, unpadded."""
    kafka = services["kafka"]["environment"]
    assert "controller" in kafka["KAFKA_PROCESS_ROLES"]
    cluster_id = str(kafka["CLUSTER_ID"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id), cluster_id
    raw = base64.urlsafe_b64decode(cluster_id + "==")
    assert len(raw) == 16
    # Kafka reserves the all-zero and the one Uuid and never makes one that starts with "-"
    assert int.from_bytes(raw, "big") > 1 and not cluster_id.startswith("-")


def test_each_role_command_parses_with_the_real_cli(services):
    assert 'ENTRYPOINT ["velocity-stream"]' in DOCKERFILE.read_text()
    roles = dict(_ours(services))
    assert {"gateway", "client360", "committer", "review", "topics", "register"} <= set(roles)
    for name, service in roles.items():
        args = _parse(service["command"])
        assert callable(args.handler), name
    # the check has teeth: a typo'd worker is refused by the same parser
    with pytest.raises(SystemExit):
        build_parser().parse_args(["consume", "client630"])


def test_the_roles_run_what_their_names_say(services):
    commands = {name: s["command"][:2] for name, s in _ours(services)}
    assert commands["topics"] == ["topics", "apply"]
    assert commands["register"] == ["schemas", "register"]
    assert commands["gateway"] == ["gateway"]
    assert commands["client360"] == ["consume", "client360"]
    assert commands["committer"] == ["consume", "committer"]
    assert commands["review"][0] == "serve"


def test_every_sink_consumer_has_its_service(services):
    commands = {name: s["command"] for name, s in _ours(services)}
    for entry in SINKS:
        assert commands.get(entry.name) == ["consume", entry.name], entry.name


def _role_settings(monkeypatch: pytest.MonkeyPatch, service: Mapping[str, Any]) -> Settings:
    """The settings the role's container would load (its environment and nothing else)."""
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names = alias.choices if isinstance(alias, AliasChoices) else [alias]
        for choice in names:
            if isinstance(choice, str):
                monkeypatch.delenv(choice, raising=False)
    for name, value in service["environment"].items():
        monkeypatch.setenv(name, str(value))
    # the image sets VELOCITY_SCHEMAS_DIR to its copy of avro_schemas; here, the repository's
    monkeypatch.setenv("VELOCITY_SCHEMAS_DIR", str(DEFAULT_SCHEMAS_DIR))
    return Settings()


def test_the_image_carries_the_catalog_where_the_roles_look():
    dockerfile = DOCKERFILE.read_text()
    assert "VELOCITY_SCHEMAS_DIR=/app/avro_schemas" in dockerfile
    assert "COPY avro_schemas ./avro_schemas" in dockerfile and "WORKDIR /app" in dockerfile


def test_every_role_reaches_kafka_the_registry_and_the_store(services, monkeypatch):
    for name, service in _ours(services):
        settings = _role_settings(monkeypatch, service)
        assert settings.kafka_bootstrap_servers, f"{name}: no KAFKA_BOOTSTRAP_SERVERS"
        host, port = settings.kafka_bootstrap_servers.split(":")
        assert host in services and f"PLAINTEXT://:{port}" in str(
            services[host]["environment"]["KAFKA_LISTENERS"]
        ), name
        if name != "velocity-registry":
            assert settings.schema_registry_url == "http://schema-registry:8081", name
        if service["command"][0] in ("consume", "serve"):
            assert settings.store_url.startswith("postgresql+psycopg://velocity:"), name
            assert "@postgres:5432/velocity" in settings.store_url, name


def test_the_gateway_passes_its_start_up_key_check(services, monkeypatch):
    settings = _role_settings(monkeypatch, services["gateway"])
    catalog = load_catalog(settings.schemas_dir)
    ring, rule_key = decision_keys(settings, catalog)
    assert rule_key is not None and ring.trusts(rule_key)
    # and each of its key settings is one it cannot start without
    for setting in ("VELOCITY_DECISION_VERIFY_KEYS", "VELOCITY_RULE_SIGNING_KEY"):
        assert setting in _required_variables()
        with monkeypatch.context() as without:
            without.delenv(setting)
            with pytest.raises(ConfigError, match=setting):
                decision_keys(Settings(), catalog)


def test_the_review_app_has_its_key_and_reviewers_who_can_log_in(services, monkeypatch):
    settings = _role_settings(monkeypatch, services["review"])
    assert trust_config.review_signing_key(settings).signer == REVIEW_APP_SIGNER
    catalog = load_catalog(settings.schemas_dir)
    directory = ReviewerDirectory(settings.reviewer_tokens, catalog.gateway.reviewers)
    assert directory.configured, "VELOCITY_REVIEWER_TOKENS: nobody can log in"
    for token, ref in settings.reviewer_tokens.items():
        assert directory.identify(token).ref == ref
    assert {"VELOCITY_REVIEW_SIGNING_KEY", "VELOCITY_REVIEWER_TOKENS"} <= _required_variables()
    # the other roles never see the review app's secrets
    for name, service in _ours(services):
        if name != "review":
            assert "VELOCITY_REVIEW_SIGNING_KEY" not in service["environment"], name
            assert "VELOCITY_REVIEWER_TOKENS" not in service["environment"], name


def _host_ports(service: Mapping[str, Any]) -> list[str]:
    return [str(p).rsplit(":", 1)[0].split(":")[-1] for p in service.get("ports", [])]


def test_host_ports_do_not_collide_and_the_gateway_scales(services):
    published = [port for s in services.values() for port in _host_ports(s)]
    assert published and len(published) == len(set(published)), published
    assert all(":" in str(p) for s in services.values() for p in s.get("ports", []))
    # `--scale gateway=3` needs a gateway without a host port
    assert "ports" not in services["gateway"]


def _probe_port(service: Mapping[str, Any]) -> int | None:
    match = re.search(
        r"http://(?:127\.0\.0\.1|localhost):(\d+)/", " ".join(service["healthcheck"]["test"])
    )
    return int(match[1]) if match else None


def test_every_long_running_service_has_a_healthcheck_that_probes_the_right_port(
    services, monkeypatch
):
    for name, service in _long_running(services):
        check = service.get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
    for name, service in _ours(services):
        if service.get("restart") == "no":
            continue
        test = " ".join(service["healthcheck"]["test"])
        # python:3.11-slim has no curl
        assert "curl" not in test and service["healthcheck"]["test"][1] == "python", name
        args = _parse(service["command"])
        settings = _role_settings(monkeypatch, service)
        if getattr(args, "port", None):
            expected = args.port  # the app's own port (review: /healthz, registry: /subjects)
        else:
            assert settings.metrics_enabled and settings.metrics_host == "0.0.0.0", name
            expected = settings.metrics_port
        assert _probe_port(service) == expected, name
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "/opt/kafka/bin/" in " ".join(services["kafka"]["healthcheck"]["test"])


def test_every_dependency_is_a_service_with_a_condition_that_can_be_met(services):
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on without conditions"
        for target, spec in depends_on.items():
            assert target in services, f"{name} depends on unknown {target}"
            condition = spec.get("condition")
            assert condition in _CONDITIONS, f"{name} -> {target}: {condition}"
            target_service = services[target]
            assert "profiles" not in target_service, f"{name} needs {target}, a profile"
            if condition == "service_healthy":
                assert not target_service.get("healthcheck", {}).get("disable"), target
                assert target_service.get("healthcheck"), f"{target} has no healthcheck"
            else:
                assert target_service.get("restart") == "no", f"{target} is no one-shot job"


def test_every_role_waits_for_what_it_uses(services):
    for name, service in _long_running(services):
        if service.get("image") != OUR_IMAGE or "profiles" in service:
            continue
        needs = {"kafka": "service_healthy"}
        needs |= {"topics": "service_completed_successfully"}
        needs |= {"register": "service_completed_successfully"}
        if service["command"][0] in ("consume", "serve"):
            needs["postgres"] = "service_healthy"
        got = {target: spec["condition"] for target, spec in service["depends_on"].items()}
        assert needs.items() <= got.items(), name


def test_every_service_has_resource_limits(services):
    for name, service in services.items():
        assert re.fullmatch(r"\d+[mg]", str(service.get("mem_limit", ""))), name
        assert 0 < float(service.get("cpus", 0)) <= 2, name


def test_third_party_images_are_pinned_and_explained():
    doc = DEPLOYMENT_DOC.read_text()
    for name, service in compose(env_file())["services"].items():
        image = service.get("image", "")
        if image == OUR_IMAGE:
            continue
        _, _, tag = image.partition(":")
        assert tag and tag != "latest", f"{name}: {image} is not pinned"
        assert f"`{image}`" in doc, f"docs/deployment.md does not say why {image}"
    python_base = re.findall(r"^FROM (\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    assert python_base and all(f"`{base.split()[0]}`" in doc for base in python_base)


def test_the_file_refuses_to_start_without_each_required_variable():
    full = env_file()
    assert _required_variables() == set(full), "a new required variable: add it to env_file()"
    for missing in full:
        with pytest.raises(KeyError, match=missing):
            compose({k: v for k, v in full.items() if k != missing})


def test_env_example_lists_every_required_variable_with_a_placeholder_the_stack_refuses(
    monkeypatch,
):
    example = _env_example()
    required = _required_variables()
    assert required <= set(example), f"missing from .env.example: {required - set(example)}"
    assert all(example[name] for name in required), "an empty value fails `config` like none"
    text = ENV_EXAMPLE.read_text()
    assert "keys generate --signer review-app" in text
    assert "keys generate --signer approval-rules" in text
    # placeholders, never keys: copied as they are, they stop the roles that need them, each
    # through the check its role runs at start-up
    placeholders = Settings(
        review_signing_key=example["VELOCITY_REVIEW_SIGNING_KEY"],
        rule_signing_key=example["VELOCITY_RULE_SIGNING_KEY"],
        decision_verify_keys=example["VELOCITY_DECISION_VERIFY_KEYS"],
    )
    with pytest.raises(ConfigError, match="VELOCITY_REVIEW_SIGNING_KEY"):
        trust_config.review_signing_key(placeholders)
    with pytest.raises(ConfigError, match="VELOCITY_RULE_SIGNING_KEY"):
        trust_config.rule_signing_key(placeholders)
    with pytest.raises(ConfigError, match="VELOCITY_DECISION_VERIFY_KEYS"):
        trust_config.verify_keys(placeholders)
    monkeypatch.setenv("VELOCITY_REVIEWER_TOKENS", example["VELOCITY_REVIEWER_TOKENS"])
    with pytest.raises(ValueError, match="reviewer_tokens"):
        Settings()
    # the database password goes into the store URL unescaped
    assert re.fullmatch(r"[A-Za-z0-9_-]+", example["POSTGRES_PASSWORD"])


def test_the_topics_job_creates_what_one_broker_can_hold(services):
    brokers = [
        s
        for s in services.values()
        if "broker" in s.get("environment", {}).get("KAFKA_PROCESS_ROLES", "")
    ]
    args = _parse(services["topics"]["command"])
    factor = args.replication_factor or load_catalog(DEFAULT_SCHEMAS_DIR).replication_factor
    assert 1 <= factor <= len(brokers)
    # the gateway refuses to start on missing topics; only the job creates them
    assert services["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
