"""docker-compose.yml's Velocity Stream roles, each run as its own process, without Docker.

The compose file is read with yaml and its ``${VAR}`` values are filled in the way Compose does,
with secrets generated for this run (decision keys, reviewer tokens, a PostgreSQL password).
Each role runs the ``velocity-stream`` entry point with its service's ``command`` and an
environment made of its service's ``environment`` and the image's ``ENV``, and nothing from
this shell. Only what the stack would get from its infrastructure containers is swapped:

- ``KAFKA_BOOTSTRAP_SERVERS`` -> the session's Kafka (the embedded broker here), with a
  ``VELOCITY_TOPIC_PREFIX`` of this test's own;
- ``SCHEMA_REGISTRY_URL`` -> our own registry, started with the ``velocity-registry`` service's
  command (Confluent's image cannot run here), on a free port and a state topic of its own;
- ``VELOCITY_STORE_URL`` -> the PostgreSQL on 127.0.0.1:5432 (database ``test``, user
  ``postgres``, trust auth: the generated password is kept in the URL but not checked), in a
  schema of this test's own (``search_path``), dropped afterwards;
- the group timings (``VELOCITY_SESSION_TIMEOUT_MS``, ``VELOCITY_FETCH_WAIT_MAX_MS``) -> the
  short ones the embedded broker needs (group joins wait about half the session timeout, and
  the fetch wait is its latency floor);
- every listening port (metrics, the review app, the registry) -> a free loopback port, and
  ``VELOCITY_SCHEMAS_DIR`` -> this checkout's catalog (the image has it under /app);
- each process gets a working and temporary directory of its own, as a container would.

Then: the two jobs exit 0; two gateway workers, client360, the committer and the review app
start and pass their compose healthchecks (with the port swapped); a writeback proposal is
approved through the review app's API and its change reaches the client's snapshot in the
store; while a second proposal waits for review, each long-running role is killed with
SIGKILL and started again; then the second is approved and a third published and approved,
and both changes reach the snapshot.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from consumers.client360.store import Client360Store
from consumers.storage import open_engine
from tests.compose import REPO, compose, env_file
from tests.integration.processes import terminate
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.contracts.writeback import FieldChange, OracleWritebackProposal
from velocity_stream.devstack.demo_clients import CLIENTS, ClientsDemo
from velocity_stream.kafka.broker import LOOPBACK, free_port
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.kafka.topics import TopicAdmin
from velocity_stream.review.runtime import registry_serde
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR, Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

T = TypeVar("T")

ENTRY_POINT = str(Path(sys.executable).with_name("velocity-stream"))
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# The infrastructure addresses the compose file gives every role, which this test swaps.
COMPOSE_KAFKA = "kafka:9092"
COMPOSE_REGISTRY = "http://schema-registry:8081"
SWAPPED = {
    "KAFKA_BOOTSTRAP_SERVERS",
    "SCHEMA_REGISTRY_URL",
    "VELOCITY_TOPIC_PREFIX",
    "VELOCITY_STORE_URL",
    "VELOCITY_SESSION_TIMEOUT_MS",
    "VELOCITY_FETCH_WAIT_MAX_MS",
    "VELOCITY_METRICS_HOST",
    "VELOCITY_METRICS_PORT",
}
# (process name, compose service) of the long-running roles, in start order.
LONG_RUNNING = (
    ("gateway-1", "gateway"),
    ("gateway-2", "gateway"),
    ("client360", "client360"),
    ("committer", "committer"),
    ("review", "review"),
)
JOBS = ("topics", "register")
# The session's group timings (tests/conftest.py): short, for the embedded broker.
TEST_SESSION_TIMEOUT_MS = 6000
TEST_FETCH_WAIT_MAX_MS = 10
JOB_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 60.0
FLOW_TIMEOUT_S = 60.0

SEN = next(client for client in CLIENTS if client.slug == "sen-family-office")


def _image_env() -> dict[str, str]:
    """The Dockerfile's ENV, with the catalog where this checkout has it (the image: /app)."""
    found: dict[str, str] = {}
    dockerfile = (REPO / "Dockerfile").read_text()
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    for block in re.findall(r"^ENV ((?:.*\\\n)*.*)$", final_stage, re.M):
        for pair in block.replace("\\\n", " ").split():
            name, _, value = pair.partition("=")
            found[name] = value
    assert found.get("VELOCITY_SCHEMAS_DIR") == "/app/avro_schemas", found
    found["VELOCITY_SCHEMAS_DIR"] = str(DEFAULT_SCHEMAS_DIR)
    return found


def _health_url(service: Mapping[str, Any], ports: Mapping[int, int]) -> str:
    """The URL the service's compose healthcheck fetches, on the port that stands in for its."""
    probe = " ".join(service["healthcheck"]["test"])
    found = re.search(r"http://127\.0\.0\.1:(\d+)(/\S*?)['\"]", probe)
    assert found, f"no URL in the healthcheck {probe!r}"
    return f"http://{LOOPBACK}:{ports[int(found[1])]}{found[2]}"


def _local_command(command: list[Any], ports: Mapping[int, int]) -> list[str]:
    """The service's command, listening on loopback and the ports that stand in for its."""
    given = [str(part) for part in command]
    local = list(given)
    for index, (flag, value) in enumerate(pairwise(given)):
        if flag == "--host":
            assert value == "0.0.0.0", local
            local[index + 1] = LOOPBACK
        elif flag == "--port":
            local[index + 1] = str(ports[int(value)])
    return local


# --- processes ----------------------------------------------------------------------------------


class Role:
    """One compose service as a process: its command, its environment, its own directory."""

    def __init__(
        self,
        name: str,
        service: Mapping[str, Any],
        work: Path,
        stack: Stack,
        ports: Mapping[int, int],
    ) -> None:
        self.name = name
        self.service = service
        self.dir = work / name
        self.dir.mkdir(parents=True)
        # compose port -> the free loopback port standing in for it (metrics, and any --port)
        metrics = int(service["environment"]["VELOCITY_METRICS_PORT"])
        self.ports = {metrics: free_port(), **ports}
        self.command = _local_command(service["command"], self.ports)
        self.env = stack.role_env(service, self.ports[metrics], self.dir)
        self.health: str | None = None
        if "healthcheck" in service and not service["healthcheck"].get("disable"):
            self.health = _health_url(service, self.ports)
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    def start(self) -> None:
        self.starts += 1
        log_path = self.dir / f"{self.name}.{self.starts}.log"
        self.logs.append(log_path)
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [ENTRY_POINT, *self.command],
                env=self.env,
                cwd=self.dir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """What `docker kill` does: SIGKILL, no goodbye."""
        assert self.process is not None and self.process.poll() is None, f"{self.name} died"
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process, 15)

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def healthy(self) -> bool:
        """The compose healthcheck's fetch: any 2xx answer."""
        assert self.health is not None
        try:
            return httpx.get(self.health, timeout=2).is_success
        except httpx.HTTPError:
            return False

    def tail(self, lines: int = 40) -> str:
        parts = []
        for path in self.logs:
            content = path.read_text(errors="replace").splitlines() if path.exists() else []
            code = f", exit {self.exited()}" if path == self.logs[-1] else ""
            parts.append(f"----- {path.name} (last {lines} lines{code})")
            parts += content[-lines:]
        return "\n".join(parts)


class Stack:
    """The compose file's roles on this machine, with the infrastructure swapped."""

    def __init__(self, kafka: str, work: Path) -> None:
        self.kafka = kafka
        self.work = work
        self.env_file = env_file(reviewers=("human:sayan", "human:sourik"))
        self.services: dict[str, dict[str, Any]] = compose(self.env_file)["services"]
        self.image_env = _image_env()
        self.prefix = f"itcompose{uuid.uuid4().hex[:8]}"
        self.schema = self.prefix
        self.registry_topic = f"_velocity_schemas_{self.prefix}"
        self.registry_port = free_port()
        self.registry_url = f"http://{LOOPBACK}:{self.registry_port}"
        self.store_url = make_url(POSTGRES).update_query_dict(
            {"options": f"-csearch_path={self.schema}"}
        )
        self.roles: list[Role] = []
        self.tokens = {ref: token for token, ref in self.reviewer_tokens().items()}

    def reviewer_tokens(self) -> dict[str, str]:
        tokens: dict[str, str] = json.loads(self.env_file["VELOCITY_REVIEWER_TOKENS"])
        return tokens

    def role_env(self, service: Mapping[str, Any], metrics_port: int, home: Path) -> dict[str, str]:
        compose = {name: str(value) for name, value in service["environment"].items()}
        assert set(compose) >= SWAPPED, SWAPPED - set(compose)
        assert compose["KAFKA_BOOTSTRAP_SERVERS"] == COMPOSE_KAFKA
        assert compose["SCHEMA_REGISTRY_URL"] == COMPOSE_REGISTRY
        url = make_url(compose["VELOCITY_STORE_URL"])
        assert (url.host, url.port, url.password) == (
            "postgres",
            5432,
            self.env_file["POSTGRES_PASSWORD"],
        ), url
        # trust auth on this machine: the password stays in the URL and is not checked
        store = self.store_url.set(password=url.password)
        env = {
            # what a container has besides its image and compose environment
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "TMPDIR": str(home),
            "LANG": "C.UTF-8",
            **self.image_env,
            **compose,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "SCHEMA_REGISTRY_URL": self.registry_url,
            "VELOCITY_TOPIC_PREFIX": self.prefix,
            "VELOCITY_STORE_URL": store.render_as_string(hide_password=False),
            "VELOCITY_SESSION_TIMEOUT_MS": str(TEST_SESSION_TIMEOUT_MS),
            "VELOCITY_FETCH_WAIT_MAX_MS": str(TEST_FETCH_WAIT_MAX_MS),
            "VELOCITY_METRICS_HOST": LOOPBACK,
            "VELOCITY_METRICS_PORT": str(metrics_port),
        }
        return env

    def role(self, name: str, service_name: str, ports: Mapping[int, int] | None = None) -> Role:
        role = Role(name, self.services[service_name], self.work, self, ports or {})
        self.roles.append(role)
        return role

    def settings(self) -> Settings:
        """What this test's own producer uses: the same Kafka, registry and prefix."""
        return Settings(
            kafka_bootstrap_servers=self.kafka,
            schema_registry_url=self.registry_url,
            topic_prefix=self.prefix,
            session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
            fetch_wait_max_ms=TEST_FETCH_WAIT_MAX_MS,
        )

    def tails(self) -> str:
        return "\n".join(role.tail() for role in self.roles)

    def stop(self) -> None:
        for role in reversed(self.roles):
            role.stop()


def eventually(
    check: Callable[[], T | None], timeout: float, what: str, stack: Stack, every: float = 0.2
) -> T:
    """The first truthy result of ``check``; fails with ``what`` and the dead roles otherwise."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        dead = [r.name for r in stack.roles if r.health is not None and r.exited() is not None]
        assert not dead, f"{', '.join(dead)} exited while waiting for {what}"
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


# --- fixtures -----------------------------------------------------------------------------------


def _postgres_problem() -> str | None:
    try:
        engine = open_engine(POSTGRES)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as error:  # any failure means: no PostgreSQL here
        return f"{type(error).__name__}: {error}"
    return None


@pytest.fixture
def stack(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Stack]:
    problem = _postgres_problem()
    if problem is not None:
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail(f"PostgreSQL unreachable in CI: {problem}", pytrace=False)
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    made = Stack(kafka_bootstrap, tmp_path)
    admin_engine = open_engine(POSTGRES)
    with admin_engine.begin() as conn:
        conn.execute(text(f'create schema "{made.schema}"'))
    try:
        yield made
    finally:
        made.stop()
        with admin_engine.begin() as conn:
            conn.execute(text(f'drop schema if exists "{made.schema}" cascade'))
        admin_engine.dispose()
        admin = TopicAdmin(made.settings())
        mine = [
            n for n in admin.topic_names() if n.startswith(made.prefix) or n == made.registry_topic
        ]
        admin.delete(mine)


# --- the review app's API -----------------------------------------------------------------------


class ReviewApi:
    def __init__(self, url: str, stack: Stack) -> None:
        self.client = httpx.Client(base_url=url, timeout=15)
        self.stack = stack

    def _auth(self, reviewer: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.tokens[reviewer]}"}

    def proposal_state(self, family: str, proposal_id: str) -> str | None:
        response = self.client.get(
            f"/api/v1/proposals/{family}/{proposal_id}", headers=self._auth("human:sayan")
        )
        return str(response.json()["state"]) if response.status_code == 200 else None

    def approve(self, reviewer: str, proposal: OracleWritebackProposal) -> str:
        body = {
            "proposal_family": proposal.FAMILY,
            "proposal_ref": proposal.proposal_id,
            "decision": "APPROVED",
            "notes": "compose roles test",
        }
        response = self.client.post("/api/v1/decisions", json=body, headers=self._auth(reviewer))
        assert response.status_code == 202, response.text
        return str(response.json()["decision_id"])

    def verdict(self, decision_id: str) -> dict[str, Any] | None:
        response = self.client.get(
            f"/api/v1/decisions/{decision_id}", headers=self._auth("human:sayan")
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body if body["status"] != "submitted" else None

    def amount(self, client_ref: str) -> int | None:
        response = self.client.get(
            f"/api/v1/clients/{client_ref}", headers=self._auth("human:sayan")
        )
        if response.status_code != 200:
            return None
        opportunities = response.json()["active_opportunities"]
        return int(opportunities[0]["amount"]) if opportunities else None


def _writeback(
    base: OracleWritebackProposal, n: int, before: int, after: int
) -> OracleWritebackProposal:
    """Another amount change on the same opportunity, from ``before`` to ``after``."""
    change = FieldChange(field="amount", from_value=str(before), to_value=str(after))
    proposed = {**base.proposed_change.model_dump(), "field_changes": [change.model_dump()]}
    return OracleWritebackProposal.model_validate(
        {
            **base.model_dump(),
            "artifact_id": f"{base.artifact_id}:{n}",
            "proposal_id": f"{base.proposal_id}:{n}",
            "proposed_change": proposed,
        }
    )


# --- the test -----------------------------------------------------------------------------------


def test_the_compose_roles_run_approve_and_survive_a_kill_each(stack: Stack) -> None:
    timings: dict[str, float] = {}
    started = time.monotonic()

    def lap(name: str) -> None:
        timings[name] = round(time.monotonic() - started, 1)

    try:
        _run(stack, lap)
    except BaseException:
        print(f"timings (s since start): {timings}")
        print(stack.tails())
        raise
    print(f"timings (s since start): {timings}")


def _run(stack: Stack, lap: Callable[[str], None]) -> None:
    # 1. infrastructure: our registry, from the velocity-registry service's command
    registry_service = stack.services["velocity-registry"]
    assert registry_service["profiles"] == ["velocity-registry"]
    registry = stack.role(
        "velocity-registry", "velocity-registry", ports={8081: stack.registry_port}
    )
    # its state topic: one of this test's own on the session's broker
    registry.command += ["--topic", stack.registry_topic]
    registry.start()
    eventually(registry.healthy, READY_TIMEOUT_S, "the registry's healthcheck", stack)
    lap("registry healthy")

    # 2. the one-shot jobs run to completion, exit 0 (service_completed_successfully)
    jobs = [stack.role(name, name) for name in JOBS]
    for job in jobs:
        assert job.service["restart"] == "no" and job.health is None, job.name
        job.start()
    for job in jobs:
        assert job.process is not None
        code = job.process.wait(JOB_TIMEOUT_S)
        assert code == 0, f"the {job.name} job exited {code}"
    lap("jobs exited 0")

    # 3. the long-running roles, each until its compose healthcheck passes
    review_port = free_port()
    roles = {
        name: stack.role(name, service, {8080: review_port} if service == "review" else None)
        for name, service in LONG_RUNNING
    }
    for role in roles.values():
        assert role.service["restart"] == "unless-stopped" and role.health, role.name
        role.start()
    for role in roles.values():
        eventually(role.healthy, READY_TIMEOUT_S, f"{role.name}'s healthcheck", stack)
    lap("long-running roles healthy")

    api = ReviewApi(f"http://{LOOPBACK}:{review_port}", stack)
    settings = stack.settings()
    catalog = load_catalog(settings.schemas_dir)
    demo = ClientsDemo(datetime.now(UTC))
    first = demo.writeback(SEN)
    assert first is not None
    opening = SEN.opportunity.amount
    assert SEN.proposal is not None
    [(field, _, approved_first)] = SEN.proposal.changes
    assert field == "amount"
    with ArtifactProducer(settings, catalog, registry_serde(settings, catalog)) as producer:

        def propose(proposal: OracleWritebackProposal) -> None:
            producer.publish(proposal).result(30)
            eventually(
                lambda: api.proposal_state(proposal.FAMILY, proposal.proposal_id) == "pending",
                FLOW_TIMEOUT_S,
                f"{proposal.proposal_id} pending in the review queue",
                stack,
            )

        def approve(proposal: OracleWritebackProposal, reviewer: str, amount: int) -> None:
            decision = api.approve(reviewer, proposal)
            verdict = eventually(
                lambda: api.verdict(decision), FLOW_TIMEOUT_S, f"the verdict on {decision}", stack
            )
            assert verdict["status"] == "applied", verdict
            eventually(
                lambda: api.amount(SEN.ref) == amount,
                FLOW_TIMEOUT_S,
                f"amount {amount} in the snapshot",
                stack,
            )

        # 4. the client as the CRM knows it, then Oracle's proposal on its opportunity,
        # approved through the review app; the change reaches the client's snapshot
        producer.publish(demo.graph(SEN)).result(30)
        eventually(
            lambda: api.amount(SEN.ref) == opening, FLOW_TIMEOUT_S, "the client's snapshot", stack
        )
        lap("snapshot built")
        propose(first)
        approve(first, "human:sayan", int(approved_first))
        lap("first approval in the snapshot")
        # a second proposal waits for review while every role restarts
        middle, final = int(approved_first) - 1_500_000, int(approved_first) - 2_500_000
        second = _writeback(first, 2, int(approved_first), middle)
        propose(second)

        # 5. kill -9 each long-running role and start it again (restart: unless-stopped)
        for role in roles.values():
            role.kill()
            role.start()
            eventually(role.healthy, READY_TIMEOUT_S, f"{role.name}'s healthcheck again", stack)
        lap("each role killed and restarted")
        # the restarted app rebuilds its queue from the topics
        eventually(
            lambda: api.proposal_state(first.FAMILY, first.proposal_id) not in (None, "pending"),
            FLOW_TIMEOUT_S,
            "the first proposal decided in the rebuilt queue",
            stack,
        )
        assert api.proposal_state(second.FAMILY, second.proposal_id) == "pending"

        # 6. the pipeline still works: the waiting proposal is approved by the other reviewer
        # (the restarted gateways must still know it as pending: a decision on a proposal
        # they do not know is held for decision_hold_ms, 5 minutes), and a new one after it
        approve(second, "human:sourik", middle)
        third = _writeback(first, 3, middle, final)
        propose(third)
        approve(third, "human:sayan", final)
        lap("second and third approvals in the snapshot")

    # 7. the snapshot is in the store the roles were given, in this test's schema
    engine = open_engine(stack.store_url.render_as_string(hide_password=False))
    try:
        stored = Client360Store(engine).snapshot(SEN.ref)
    finally:
        engine.dispose()
    assert stored is not None and stored.active_opportunities[0].amount == final
    for role in roles.values():
        assert role.starts == 2 and role.exited() is None, role.name
