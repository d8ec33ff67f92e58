"""`velocity-stream dev`: start everything in order, seed the demo, supervise, stop cleanly.

Order, and where each part runs:

1. Kafka: the embedded Tansu broker (`velocity-stream broker`, a child process) unless
   KAFKA_BOOTSTRAP_SERVERS is set;
2. the catalog's topics (created, never altered);
3. the schema registry, in a thread of this process (its state is a Kafka topic), unless
   SCHEMA_REGISTRY_URL is set; 4. the catalog registered in it;
5. the gateway worker (`velocity-stream gateway`) and 6. the Client360 consumer, the
   committer and every sink consumer of consumers/sink/registry.py (intel, ...)
   (`velocity-stream consume ...`), each a child process: faust owns its process
   (event loop, signal handlers), and these are the commands a deployment runs, so a crash or
   a `kill -9` of one behaves here as it would there;
7. the review app, in this process (topic tails, producer and HTTP server in threads);
   the review app and the gateway's rules sign decisions with keys made fresh for the run
   (the gateway trusts exactly those two) unless the settings name keys;
8. the demo, published through the validating producer; the step waits until the gateway has
   routed it and the read model has built every client's snapshot.

Every child runs in a session of its own, tied to this process (processes.py): a Ctrl-C in the
terminal reaches only this process, which stops the list backwards, the broker last, so no
part loses its broker while it shuts down. The working directory (read-model database, faust
data, logs) is a temporary directory removed on stop: the embedded broker keeps its data in
memory, so nothing in it would match the next run.
"""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from pydantic import SecretStr

from consumers.sink.registry import SINKS
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.devstack.processes import Child, cli_child
from velocity_stream.devstack.progress import Progress, Step
from velocity_stream.devstack.seed import DemoData, demo_data, publish_demo
from velocity_stream.errors import ConfigError, VelocityError
from velocity_stream.http.listen import listen
from velocity_stream.kafka.broker import LOOPBACK, answers_metadata, free_port, pid_is_alive
from velocity_stream.review.clients import ReadModelUnavailable
from velocity_stream.settings import Settings
from velocity_stream.trust import REVIEW_APP_SIGNER, RULES_SIGNER, KeyRing, SigningKey
from velocity_stream.trust import config as trust_config

if TYPE_CHECKING:
    from velocity_stream.review.clients import Client360Reader
    from velocity_stream.review.runtime import ReviewRuntime

log = logging.getLogger(__name__)

DEMO_REVIEWER = "human:demo-reviewer"
# Group joins on Tansu wait about half of it (docs/embedded-broker.md).
DEV_SESSION_TIMEOUT_MS = 6000
STEPS = 8
BROKER_START_TIMEOUT_S = 20.0
WORKDIR_PREFIX = "velocity-dev-"
OWNER_FILE = "dev.pid"
# What moves the review app's port, in a busy port's error.
REVIEW_PORT = "--port or VELOCITY_REVIEW_PORT"


class StackFailed(VelocityError):
    """A part of the dev stack did not start or stopped on its own."""


class PortBusy(StackFailed):
    """A port the stack would bind is taken (or cannot be bound): found before anything
    starts."""


# The workers `dev` starts that serve metrics, in the order they are started (each gets the
# configured metrics port plus its index among the children; the embedded broker comes first).
METRICS_WORKERS = ("gateway", "client360", "committer", *(entry.name for entry in SINKS))


def ports_to_bind(
    settings: Settings, options: DevOptions, *, embedded_broker: bool
) -> list[tuple[str, str, int]]:
    """(what, host, port) of every fixed port the stack binds. The broker and the registry
    take free ports, so they are not here."""
    ports = [("review app", options.host, options.port)]
    if settings.metrics_enabled and settings.metrics_port != 0:
        first = settings.metrics_port + (1 if embedded_broker else 0)
        ports += [
            (f"{name} metrics", settings.metrics_host, first + index)
            for index, name in enumerate(METRICS_WORKERS)
        ]
    return ports


def port_is_free(host: str, port: int) -> bool:
    """True when ``host:port`` can be listened on now (a listener there makes it busy; a
    closed connection in TIME_WAIT does not, as the servers set SO_REUSEADDR too)."""
    try:
        listen(host, port, what="probe").close()
    except ConfigError:
        return False
    return True


def check_ports(ports: list[tuple[str, str, int]]) -> None:
    """PortBusy naming the first port that cannot be listened on (http.listen's reason), with
    the setting or flag that moves it."""
    for what, host, port in ports:
        how = (
            REVIEW_PORT
            if what == "review app"
            else "VELOCITY_METRICS_PORT (or VELOCITY_METRICS_ENABLED=false)"
        )
        try:
            listen(host, port, what=what, how=how).close()
        except ConfigError as error:
            raise PortBusy(str(error)) from None


def export_lines(settings: Settings) -> list[str]:
    """``export`` lines that point another shell's commands at this stack. Public values
    only: the decision signing keys are secrets made for this run and stay in it (set
    VELOCITY_REVIEW_SIGNING_KEY and VELOCITY_DECISION_VERIFY_KEYS before `dev` to share keys)."""
    values = {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
        "SCHEMA_REGISTRY_URL": settings.schema_registry_url or "",
        "VELOCITY_TOPIC_PREFIX": settings.topic_prefix,
        "VELOCITY_SCHEMAS_DIR": str(settings.schemas_dir),
        "VELOCITY_STORE_URL": settings.store_url,
        "VELOCITY_SESSION_TIMEOUT_MS": str(settings.session_timeout_ms),
    }
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items() if value]


@dataclass(frozen=True)
class DevOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    seed: bool = True
    ready_timeout_s: float = 180.0
    keep_dir: bool = False


def dev_settings(settings: Settings, workdir: Path) -> Settings:
    """The settings every part shares: what the user set, plus dev defaults for the rest."""
    given = settings.model_fields_set
    update: dict[str, object] = {}
    if "store_url" not in given:
        update["store_url"] = f"sqlite:///{workdir / 'read_models.db'}"
    if "session_timeout_ms" not in given:
        update["session_timeout_ms"] = DEV_SESSION_TIMEOUT_MS
    if not settings.reviewer_tokens:
        update["reviewer_tokens"] = {secrets.token_urlsafe(12): DEMO_REVIEWER}
    update.update(dev_keys(settings))
    return settings.model_copy(update=update)


def dev_keys(settings: Settings) -> dict[str, object]:
    """Fresh decision keys for this run, one for the review app and one for the gateway's
    rules, and the gateway trusting exactly those two; each setting the user set is kept."""
    given = settings.model_fields_set
    update: dict[str, object] = {}
    if "review_signing_key" in given:
        review = trust_config.review_signing_key(settings)
    else:
        review = SigningKey.generate(REVIEW_APP_SIGNER)
        update["review_signing_key"] = SecretStr(review.text())
    rule = trust_config.rule_signing_key(settings) if "rule_signing_key" in given else None
    if rule is None:
        rule = SigningKey.generate(RULES_SIGNER)
        update["rule_signing_key"] = SecretStr(rule.text())
    if "decision_verify_keys" not in given:
        update["decision_verify_keys"] = KeyRing([review.verify_key, rule.verify_key]).text()
    return update


def gateway_env(settings: Settings) -> dict[str, str]:
    """What only the gateway child gets: the keys it verifies with and its rules' key."""
    env = {"VELOCITY_DECISION_VERIFY_KEYS": settings.decision_verify_keys or ""}
    if settings.rule_signing_key is not None:
        env["VELOCITY_RULE_SIGNING_KEY"] = settings.rule_signing_key.get_secret_value()
    return env


def child_env(settings: Settings) -> dict[str, str]:
    """Environment overrides that hand the shared settings to a child process."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
        "VELOCITY_TOPIC_PREFIX": settings.topic_prefix,
        "VELOCITY_SCHEMAS_DIR": str(settings.schemas_dir),
        "VELOCITY_STORE_URL": settings.store_url,
        "VELOCITY_SESSION_TIMEOUT_MS": str(settings.session_timeout_ms),
        "VELOCITY_FETCH_WAIT_MAX_MS": str(settings.fetch_wait_max_ms),
    }
    if settings.schema_registry_url:
        env["SCHEMA_REGISTRY_URL"] = settings.schema_registry_url
    return env


class DevStack:
    """Everything `velocity-stream dev` runs; ``start`` then ``wait``, and always ``stop``."""

    def __init__(self, settings: Settings, options: DevOptions, out: TextIO) -> None:
        self.options = options
        self.out = out
        remove_abandoned_workdirs()
        self.workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        (self.workdir / OWNER_FILE).write_text(str(os.getpid()))
        self.settings = dev_settings(settings, self.workdir)
        self.catalog: Catalog = load_catalog(self.settings.schemas_dir)
        self.progress = Progress(out, STEPS)
        self.broker: Child | None = None
        self.children: list[Child] = []
        self._stoppers: list[tuple[str, Callable[[], object]]] = []
        self._stop = threading.Event()
        self.review_url = ""
        self.demo: DemoData | None = None
        self.runtime: ReviewRuntime | None = None
        # Our own threads (registry, review app, producer) log to a file: the terminal is
        # for progress.
        self._log_handler = logging.FileHandler(self.workdir / "dev.log")
        self._log_handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        root = logging.getLogger()
        self._root_level = root.level
        root.addHandler(self._log_handler)
        root.setLevel(logging.INFO)

    # --- starting -------------------------------------------------------------------------

    def check_ports(self) -> None:
        """Every fixed port the stack will bind, checked before anything starts (PortBusy)."""
        embedded = not self.settings.kafka_bootstrap_servers
        check_ports(ports_to_bind(self.settings, self.options, embedded_broker=embedded))

    def start(self) -> None:
        self.check_ports()
        p = self.progress
        p.line("velocity-stream dev: the whole stack on this machine")
        with p.step("Kafka") as step:
            self._kafka(step)
        with p.step("topics from the catalog") as step:
            self._topics(step)
        with p.step("schema registry") as step:
            self._registry(step)
        with p.step("catalog schemas registered") as step:
            self._register(step)
        with p.step("gateway worker") as step:
            gateway_data = str(self.workdir / "gateway")
            step.done(
                self._spawn(
                    "gateway",
                    "gateway",
                    "--data-dir",
                    gateway_data,
                    "--log-level",
                    "warn",
                    env=gateway_env(self.settings),
                )
            )
        with p.step("read-model consumers") as step:
            started = [
                f"{name} {self._spawn(name, 'consume', name, '--log-level', 'warning')}"
                for name in ("client360", "committer", *(entry.name for entry in SINKS))
            ]
            step.done(", ".join(started))
        with p.step("review app") as step:
            self._review(step)
        with p.step("demo data" if self.options.seed else "demo data (skipped)") as step:
            if self.options.seed:
                self._seed(step)
            else:
                step.done("--no-seed")

    def _kafka(self, step: Step) -> None:
        servers = self.settings.kafka_bootstrap_servers
        if servers:
            if not answers_metadata(servers, timeout=10):
                raise StackFailed(f"KAFKA_BOOTSTRAP_SERVERS={servers} does not answer")
            step.done(f"{servers} (KAFKA_BOOTSTRAP_SERVERS)")
            return
        port = free_port()
        self.broker = self._start_child("embedded broker", "broker", "--port", str(port))
        servers = f"{LOOPBACK}:{port}"
        deadline = time.monotonic() + BROKER_START_TIMEOUT_S
        while not answers_metadata(servers, timeout=1):
            self._check_children()
            if time.monotonic() > deadline:
                raise StackFailed(f"the embedded broker did not answer on {servers}")
            time.sleep(0.05)
        self.settings = self.settings.model_copy(update={"kafka_bootstrap_servers": servers})
        step.done(f"{servers} (embedded Tansu, memory only)")

    def _topics(self, step: Step) -> None:
        from velocity_stream.kafka.topics import TopicAdmin, TopicStatus, apply

        specs = self.catalog.topic_specs(self.settings.topic_prefix)
        report = apply(TopicAdmin(self.settings), specs, self.catalog.replication_factor)
        failed = report.with_status(TopicStatus.FAILED)
        if failed:
            raise StackFailed(f"could not create {', '.join(o.spec.name for o in failed)}")
        created = len(report.with_status(TopicStatus.CREATED))
        step.done(f"{created} created, {len(specs) - created} already there")

    def _registry(self, step: Step) -> None:
        if self.settings.schema_registry_url:
            step.done(f"{self.settings.schema_registry_url} (SCHEMA_REGISTRY_URL)")
            return
        from velocity_stream.registry.server import BackgroundRegistry, ServeOptions, build_service

        registry = BackgroundRegistry(build_service(self.settings, ServeOptions())).start()
        self._on_stop("schema registry", registry.stop)
        self.settings = self.settings.model_copy(update={"schema_registry_url": registry.url})
        step.done(registry.url)

    def _register(self, step: Step) -> None:
        from velocity_stream.registry.client import RegistryClient
        from velocity_stream.registry.registration import register_catalog

        with RegistryClient.from_settings(self.settings) as client:
            report = register_catalog(self.catalog, client, self.settings.topic_prefix)
        if not report.ok:
            refused = [r for r in report.results if r.messages]
            raise StackFailed(f"the registry refused {len(refused)} schema version(s)")
        step.done(f"{len(report.results)} subject versions")

    def _spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> str:
        return f"pid {self._start_child(name, *args, env=env).pid}"

    def _start_child(self, name: str, *args: str, env: dict[str, str] | None = None) -> Child:
        """``velocity-stream <args>`` as a child: the same commands a deployment runs."""
        # Each worker serves its metrics on its own port: the first on the configured one,
        # the next ones on the ports after it.
        spec = cli_child(
            name,
            args,
            {
                **child_env(self.settings),
                "VELOCITY_METRICS_PORT": str(self.settings.metrics_port + len(self.children)),
                **(env or {}),
            },
        )
        # The children inherit this environment (PATH, HOME, security settings) plus the
        # shared settings; a copy, so nothing here changes our own environment.
        log_name = name.replace(" ", "-")
        child = Child(spec, self.workdir / f"{log_name}.log").start(dict(os.environ))
        self.children.append(child)
        self._on_stop(name, child.stop)
        return child

    def _review(self, step: Step) -> None:
        from velocity_stream.review.runtime import ReviewRuntime, ReviewServer

        runtime = ReviewRuntime.from_settings(self.settings).start()
        self._on_stop("review app", runtime.stop)
        listener = listen(self.options.host, self.options.port, what="review app", how=REVIEW_PORT)
        server = ReviewServer(runtime, listener).start()
        self._on_stop("review web server", server.stop)
        self.runtime = runtime
        self.review_url = server.url
        step.update("reading the approvals, dead-letter and snapshot topics")
        runtime.wait_caught_up(30)
        step.done(server.url)

    def _seed(self, step: Step) -> None:
        from velocity_stream.kafka.producer import ArtifactProducer
        from velocity_stream.review.runtime import registry_serde

        data = self.demo = demo_data(datetime.now(UTC))
        serde = registry_serde(self.settings, self.catalog)
        with ArtifactProducer(
            self.settings, self.catalog, serde, producer_name="demo-seed"
        ) as producer:
            publish_demo(
                producer,
                self.catalog,
                self.settings.topic_prefix,
                data,
                lambda done, total: step.update(f"published {done}/{total}"),
            )
        deadline = time.monotonic() + self.options.ready_timeout_s
        while True:
            self._check_children()
            waiting = self._seed_status(data)
            if waiting is None:
                break
            if time.monotonic() > deadline:
                raise StackFailed(f"the demo was not processed in time ({waiting})")
            step.update(waiting)
            time.sleep(0.25)
        step.done(
            f"{data.total} records: {len(data.pending)} proposals await review, "
            f"{len(data.clients)} client snapshots, {data.dead_letters} dead letters"
        )

    def _seed_status(self, data: DemoData) -> str | None:
        """What the demo still waits for, or None when the gateway and consumers are done."""
        assert self.runtime is not None
        services = self.runtime.services
        pending = {entry.key for entry in services.queue.pending()}
        routed = len(pending & set(data.pending))
        dead = min(services.dead_letters.total, data.dead_letters)
        snapshots = sum(1 for ref in data.clients if _has_snapshot(services.clients, ref))
        if (routed, dead, snapshots) == (len(data.pending), data.dead_letters, len(data.clients)):
            return None
        return (
            f"gateway: {routed}/{len(data.pending)} proposals pending, {dead}/"
            f"{data.dead_letters} dead letters · read model: {snapshots}/{len(data.clients)} "
            "snapshots"
        )

    # --- running and stopping -------------------------------------------------------------

    def _on_stop(self, name: str, stop: Callable[[], object]) -> None:
        self._stoppers.append((name, stop))

    def _check_children(self) -> None:
        for child in self.children:
            code = child.exit_code()
            if code is not None:
                raise StackFailed(
                    f"the {child.spec.name} process exited with code {code}; the end of "
                    f"{child.log_path}:\n{child.log_tail()}"
                )

    def wait(self) -> None:
        """Until Ctrl-C or SIGTERM (returns) or a part dies (raises StackFailed)."""

        def request_stop(signum: int, frame: FrameType | None) -> None:
            self._stop.set()

        previous = signal.signal(signal.SIGTERM, request_stop)
        try:
            while not self._stop.wait(0.5):
                self._check_children()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)

    def stop(self) -> None:
        """Stop everything started, newest first. Safe to call twice."""
        stoppers, self._stoppers = self._stoppers, []
        previous = None
        if threading.current_thread() is threading.main_thread():
            # A second Ctrl-C must not cut the stop short and leave children running.
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self._stop_all(stoppers)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _stop_all(self, stoppers: list[tuple[str, Callable[[], object]]]) -> None:
        if stoppers:
            # A Ctrl-C leaves the cursor after the echoed ^C: start on a line of our own.
            self.progress.write("\nstopping:")
        for name, stop in reversed(stoppers):
            self.progress.write(f" {name},")
            try:
                stop()
            except Exception:  # keep stopping the rest; the log says what went wrong
                log.exception("stopping %s failed", name)
        if stoppers:
            self.progress.line(" done.")
        root = logging.getLogger()
        root.removeHandler(self._log_handler)
        root.setLevel(self._root_level)
        self._log_handler.close()
        if self.options.keep_dir:
            # Without an owner, the next dev command leaves the directory alone.
            (self.workdir / OWNER_FILE).unlink(missing_ok=True)
            self.progress.line(f"kept {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # --- what to tell the user ------------------------------------------------------------

    def summary(self) -> str:
        demo_tokens = [
            t for t, ref in self.settings.reviewer_tokens.items() if ref == DEMO_REVIEWER
        ]
        lines = [
            "",
            "Velocity Stream is running. Ctrl-C stops everything"
            + (" (the embedded broker's data is gone then)." if self.broker else "."),
            "",
            f"  review app     {self.review_url}",
        ]
        if demo_tokens:
            lines.append(
                f"  log in with    {demo_tokens[0]}   ({DEMO_REVIEWER}; "
                "VELOCITY_REVIEWER_TOKENS sets your own)"
            )
        else:
            lines.append("  log in with    a token from VELOCITY_REVIEWER_TOKENS")
        lines += [
            f"  API            {self.review_url}/docs  (OpenAPI: {self.review_url}/openapi.json)",
            f"  Kafka          {self.settings.kafka_bootstrap_servers}",
            f"  registry       {self.settings.schema_registry_url}",
            f"  read models    {self.settings.store_url}",
            f"  logs           {self.workdir}/*.log",
        ]
        lines += [
            "",
            "  Point another shell's commands (topics, dlq, tail, produce, ...) at this stack:",
            *(f"    {line}" for line in export_lines(self.settings)),
            "  (the decision signing keys stay secret in this run; set VELOCITY_REVIEW_SIGNING_KEY "
            "and VELOCITY_DECISION_VERIFY_KEYS before `dev` to share your own)",
        ]
        if self.demo is not None:
            lines += [
                "",
                f"  {len(self.demo.pending)} proposals wait in {self.review_url}/queue: approve "
                "Acme Holdings' move to SITE_VISITS,",
                f"  then open {self.review_url}/clients/client:acme-holdings to see it committed.",
            ]
        return "\n".join(lines) + "\n"


def remove_abandoned_workdirs() -> None:
    """Working directories of dev commands that were killed (kill -9 skips the clean-up)."""
    for path in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            owner = int((path / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not pid_is_alive(owner):
            shutil.rmtree(path, ignore_errors=True)


def _has_snapshot(reader: Client360Reader, client_ref: str) -> bool:
    """The client's snapshot shows its graph (the CRM sync's people and organization, which
    arrive through the committer's applied records), not only its interactions and signals,
    which reach the read model straight from the gateway and make a snapshot on their own."""
    try:
        snapshot = reader.snapshot(client_ref)
    except ReadModelUnavailable:
        return False  # the consumer has not created its tables yet
    return snapshot is not None and bool(snapshot.identity.entity_refs)
