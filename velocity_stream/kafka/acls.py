"""Broker ACLs per role, derived from the catalog: the second wall behind signed decisions.

Who may write a topic decides who can forge what (docs/security.md). The rules:

- a producer role (a name in a family's ``producers``) writes that family's ingress topics,
  and nothing else of the gateway's; ``approval-rules`` is the gateway's own producer name;
- only the gateway writes the accepted topics and the approvals topic; it and the review app
  are the only writers of the decision family's ingress topics;
- a consumer role reads the accepted topics of the families it consumes; roles that consume a
  proposal family also read the approvals topic;
- an internal family's topic (the commits topic among them) is written by its ``producers``
  and read by its ``consumers``, nobody else; the gateway reads none of them;
- the gateway owns its consumer group and the changelog topics of its tables (prefixed by its
  app id); the dead-letter topic is written by the gateway and the consumer roles that
  refuse changes, read by the review app, the consumer roles that record refusals (the
  governance store) and the DLQ operator, who alone replays (writes the
  ingress topics, decisions' excepted: a refused decision is made again in the review app);
  the audit topic is an internal family's (the DLQ operator writes and reads it).

The plan is data (:class:`AclPlan`); ``velocity-stream acls plan`` prints it as
``kafka-acls.sh`` commands. Principals default to ``User:<role>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from velocity_stream.contracts.catalog import Catalog, Route

GATEWAY = "gateway"
RULES = "approval-rules"  # the gateway's producer name for its auto-rule decisions
REVIEW_APP = "review-app"
DLQ_OPERATOR = "dlq-operator"
# Consumers that dead-letter what they refuse (the graph committer's persistence checks).
DEAD_LETTER_WRITERS = ("graph-committer",)
# Consumers that read the dead letters (the governance store: the committer's refusals).
DEAD_LETTER_READERS = ("governance",)


class Operation(StrEnum):
    READ = "Read"
    WRITE = "Write"
    CREATE = "Create"
    DESCRIBE = "Describe"


class Resource(StrEnum):
    TOPIC = "topic"
    GROUP = "group"


@dataclass(frozen=True, slots=True, order=True)
class Acl:
    """Allow ``role`` the ``operation`` on a topic or group (a name, or a prefix of names)."""

    role: str
    operation: Operation
    resource: Resource
    name: str
    prefixed: bool = False


@dataclass(frozen=True, slots=True)
class AclPlan:
    acls: tuple[Acl, ...]

    def roles(self) -> list[str]:
        return sorted({acl.role for acl in self.acls})

    def writers(self, topic: str) -> set[str]:
        """Roles allowed to write ``topic`` (by name or by a prefix of it)."""
        return {
            acl.role
            for acl in self.acls
            if acl.operation is Operation.WRITE
            and acl.resource is Resource.TOPIC
            and (topic.startswith(acl.name) if acl.prefixed else topic == acl.name)
        }

    def commands(
        self, principals: Mapping[str, str] | None = None, bootstrap: str = "$BOOTSTRAP"
    ) -> list[str]:
        """One ``kafka-acls.sh --add`` per ACL (``--command-config`` holds admin credentials)."""
        lines = []
        for acl in self.acls:
            principal = (principals or {}).get(acl.role, f"User:{acl.role}")
            pattern = " --resource-pattern-type prefixed" if acl.prefixed else ""
            lines.append(
                f"kafka-acls.sh --bootstrap-server {bootstrap} --command-config admin.properties "
                f"--add --allow-principal {principal} --operation {acl.operation.value} "
                f"--{acl.resource.value} {acl.name}{pattern}"
            )
        return lines


def plan(catalog: Catalog, prefix: str, gateway_app_id: str) -> AclPlan:
    """Every ACL the roles of ``catalog`` need on topics named with ``prefix``."""
    acls: set[Acl] = set()

    def allow(role: str, operation: Operation, topics: Iterable[str]) -> None:
        role = GATEWAY if role == RULES else role
        for topic in topics:
            acls.add(Acl(role, operation, Resource.TOPIC, topic))
            acls.add(Acl(role, Operation.DESCRIBE, Resource.TOPIC, topic))

    ingress = catalog.ingress_topics(prefix)
    approvals = catalog.approvals_topic(prefix)
    dead_letters = catalog.dead_letter_topic(prefix)
    accepted = {
        family.name: [family.accepted_topic(prefix, major) for major in family.majors()]
        for family in catalog
    }
    proposal_readers: set[str] = set()
    for topic, (family, _major) in ingress.items():
        for producer in family.producers:
            allow(producer, Operation.WRITE, [topic])
        allow(GATEWAY, Operation.READ, [topic])
        if family.route is not Route.DECISION:
            allow(DLQ_OPERATOR, Operation.WRITE, [topic])
        for consumer in family.consumers:
            if consumer != GATEWAY:
                allow(consumer, Operation.READ, accepted[family.name])
                if family.route is Route.PROPOSAL:
                    proposal_readers.add(consumer)
    allow(GATEWAY, Operation.WRITE, [t for topics in accepted.values() for t in topics])
    allow(GATEWAY, Operation.WRITE, [approvals, dead_letters])
    for reader in proposal_readers:
        allow(reader, Operation.READ, [approvals])
    for topic, (family, _major) in catalog.internal_topics(prefix).items():
        for producer in family.producers:
            allow(producer, Operation.WRITE, [topic])
        for consumer in family.consumers:
            allow(consumer, Operation.READ, [topic])
    for writer in DEAD_LETTER_WRITERS:
        allow(writer, Operation.WRITE, [dead_letters])
    for reader in (REVIEW_APP, *DEAD_LETTER_READERS):
        allow(reader, Operation.READ, [dead_letters])
    allow(DLQ_OPERATOR, Operation.READ, [dead_letters])
    # The gateway's tables: faust creates, writes and reads "<app id>-<table>-changelog".
    for operation in (Operation.CREATE, Operation.WRITE, Operation.READ, Operation.DESCRIBE):
        acls.add(Acl(GATEWAY, operation, Resource.TOPIC, f"{gateway_app_id}-", prefixed=True))
    acls.add(Acl(GATEWAY, Operation.READ, Resource.GROUP, gateway_app_id))
    return AclPlan(tuple(sorted(acls)))
