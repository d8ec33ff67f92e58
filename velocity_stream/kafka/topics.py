"""Topic provisioning from the catalog: plan what to create, create it, and report drift.

Planning is a pure function of the catalog's topic specs and what the cluster reports;
`TopicAdmin` is the thin confluent-kafka edge that reads and creates topics. Existing topics
are never altered: a topic that differs from the catalog is reported as drift for an operator
(partition counts cannot shrink, and Tansu cannot even add partitions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    ClusterMetadata,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from velocity_stream.contracts.catalog import TopicSpec
from velocity_stream.errors import VelocityError
from velocity_stream.kafka.client_logs import librdkafka_logger
from velocity_stream.kafka.config import admin_config
from velocity_stream.settings import Settings

ADMIN_TIMEOUT_S = 15.0


class TopicAdminError(VelocityError):
    """The cluster did not answer an admin request (metadata, describe, create)."""


class TopicStatus(StrEnum):
    """Where a catalog topic stands; ``missing`` in a plan becomes ``created`` when applied."""

    MISSING = "missing"
    CREATED = "created"
    MATCHED = "matched"
    DRIFTED = "drifted"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class TopicState:
    """What the cluster reports of one topic.

    ``configs`` holds only the keys the broker reported. Apache Kafka reports every config
    (defaults included); Tansu reports only those set at creation, so a key can be absent.
    ``configs`` is None when the configs could not be read at all.
    """

    name: str
    partitions: int
    replication_factor: int
    configs: Mapping[str, str] | None


@dataclass(frozen=True, slots=True)
class Drift:
    """One difference between the catalog and the cluster."""

    setting: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return f"{self.setting}: catalog {self.expected}, cluster {self.actual}"


@dataclass(frozen=True, slots=True)
class TopicOutcome:
    """One catalog topic: its spec, status, drifts, and what could not be checked (notes)."""

    spec: TopicSpec
    status: TopicStatus
    drifts: tuple[Drift, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TopicReport:
    """Every catalog topic's outcome, in catalog order."""

    outcomes: tuple[TopicOutcome, ...]
    dry_run: bool = False
    cluster_id: str | None = None
    notes: tuple[str, ...] = field(default=())

    def with_status(self, status: TopicStatus) -> list[TopicOutcome]:
        return [o for o in self.outcomes if o.status is status]

    @property
    def ok(self) -> bool:
        """No drift and no failure (missing topics in a dry run are fine: apply creates them)."""
        return not any(o.status in (TopicStatus.DRIFTED, TopicStatus.FAILED) for o in self.outcomes)


def _normalized(key: str, value: str) -> str:
    # cleanup.policy is a list: "compact,delete" and "delete, compact" are the same policy.
    if key == "cleanup.policy":
        return ",".join(sorted(part.strip() for part in value.split(",") if part.strip()))
    return value.strip()


def compare(spec: TopicSpec, state: TopicState, replication_factor: int) -> TopicOutcome:
    """Classify an existing topic against its spec. Pure."""
    drifts: list[Drift] = []
    notes: list[str] = []
    if state.partitions != spec.partitions:
        drifts.append(Drift("partitions", str(spec.partitions), str(state.partitions)))
    if state.replication_factor != replication_factor:
        drifts.append(
            Drift("replication factor", str(replication_factor), str(state.replication_factor))
        )
    if state.configs is None:
        notes.append("configs could not be read: cleanup.policy and retention.ms unchecked")
    else:
        for key, expected in spec.config().items():
            actual = state.configs.get(key)
            if actual is None:
                # Absent is not the same as different: the broker did not say. Kafka always
                # reports every config; Tansu only those set at creation.
                notes.append(f"{key} not reported by the broker (catalog: {expected})")
            elif _normalized(key, actual) != _normalized(key, expected):
                drifts.append(Drift(key, expected, actual))
    status = TopicStatus.DRIFTED if drifts else TopicStatus.MATCHED
    return TopicOutcome(spec, status, tuple(drifts), tuple(notes))


def plan_topics(
    specs: Sequence[TopicSpec], existing: Mapping[str, TopicState], replication_factor: int
) -> TopicReport:
    """What `apply` would do: missing topics to create, existing ones matched or drifted. Pure."""
    outcomes = tuple(
        compare(spec, existing[spec.name], replication_factor)
        if spec.name in existing
        else TopicOutcome(spec, TopicStatus.MISSING)
        for spec in specs
    )
    return TopicReport(outcomes, dry_run=True)


class TopicAdmin:
    """The confluent-kafka AdminClient, reduced to what provisioning needs."""

    def __init__(self, settings: Settings, *, timeout: float = ADMIN_TIMEOUT_S) -> None:
        self._admin = AdminClient(
            admin_config(settings, client_id=f"{settings.client_id}-admin"),
            logger=librdkafka_logger(),
        )
        self._timeout = timeout

    def cluster_id(self) -> str | None:
        cluster_id = self._metadata().cluster_id
        return str(cluster_id) if cluster_id else None

    def topic_names(self) -> list[str]:
        """Every topic on the cluster except internal ones (``__consumer_offsets``)."""
        return sorted(name for name in self._metadata().topics if not name.startswith("__"))

    def describe(self, names: Iterable[str]) -> dict[str, TopicState]:
        """The state of each named topic that exists; missing names are simply absent."""
        metadata = self._metadata()
        present = [n for n in names if n in metadata.topics and not metadata.topics[n].error]
        configs: dict[str, dict[str, str] | None] = {}
        if present:
            resources = [ConfigResource(ResourceType.TOPIC, n) for n in present]
            for resource, future in self._admin.describe_configs(
                resources, request_timeout=self._timeout
            ).items():
                try:
                    entries = future.result(timeout=self._timeout)
                except KafkaException:
                    configs[resource.name] = None
                    continue
                configs[resource.name] = {
                    key: entry.value for key, entry in entries.items() if entry.value is not None
                }
        states: dict[str, TopicState] = {}
        for name in present:
            partitions = metadata.topics[name].partitions
            replicas = min((len(p.replicas) for p in partitions.values()), default=0)
            states[name] = TopicState(name, len(partitions), replicas, configs.get(name))
        return states

    def create(self, specs: Sequence[TopicSpec], replication_factor: int) -> dict[str, str | None]:
        """Create the topics; per topic None on success, else the broker's error name."""
        if not specs:
            return {}
        new_topics = [
            NewTopic(s.name, s.partitions, replication_factor, config=s.config()) for s in specs
        ]
        results: dict[str, str | None] = {}
        futures = self._admin.create_topics(new_topics, request_timeout=self._timeout)
        for name, future in futures.items():
            try:
                future.result(timeout=self._timeout)
                results[name] = None
            except KafkaException as error:
                results[name] = error.args[0].name() if error.args else str(error)
        return results

    def delete(self, names: Sequence[str]) -> None:
        """Delete topics (tests and tear-down; on Tansu this is how memory is freed)."""
        if not names:
            return
        for future in self._admin.delete_topics(
            list(names), request_timeout=self._timeout
        ).values():
            future.result(timeout=self._timeout)

    def _metadata(self) -> ClusterMetadata:
        try:
            return self._admin.list_topics(timeout=self._timeout)
        except KafkaException as error:
            raise TopicAdminError(
                f"the cluster did not answer a metadata request: {error}"
            ) from error


def plan(admin: TopicAdmin, specs: Sequence[TopicSpec], replication_factor: int) -> TopicReport:
    """Read the cluster and plan against it, without changing anything."""
    report = plan_topics(specs, admin.describe(s.name for s in specs), replication_factor)
    return TopicReport(report.outcomes, dry_run=True, cluster_id=admin.cluster_id())


def apply(admin: TopicAdmin, specs: Sequence[TopicSpec], replication_factor: int) -> TopicReport:
    """Create every missing topic; report created, matched and drifted. Idempotent."""
    planned = plan(admin, specs, replication_factor)
    missing = [o.spec for o in planned.outcomes if o.status is TopicStatus.MISSING]
    errors = admin.create(missing, replication_factor)
    raced = [name for name, error in errors.items() if error == "TOPIC_ALREADY_EXISTS"]
    # Someone else created it between our read and our create: judge what is there now.
    now = admin.describe(raced) if raced else {}
    outcomes: list[TopicOutcome] = []
    for outcome in planned.outcomes:
        name = outcome.spec.name
        if outcome.status is not TopicStatus.MISSING:
            outcomes.append(outcome)
        elif errors.get(name) is None:
            outcomes.append(TopicOutcome(outcome.spec, TopicStatus.CREATED))
        elif name in now:
            outcomes.append(compare(outcome.spec, now[name], replication_factor))
        else:
            note = f"create failed: {errors[name]}"
            outcomes.append(TopicOutcome(outcome.spec, TopicStatus.FAILED, notes=(note,)))
    return TopicReport(tuple(outcomes), dry_run=False, cluster_id=planned.cluster_id)
