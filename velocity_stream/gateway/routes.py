"""The catalog compiled into one plan per ingress topic, checked once at start-up.

Everything the pipeline needs to know about a topic (family, major, model, where accepted
records go, which stateful rules apply) is looked up here once, so the hot path does one dict
lookup per message. Start-up also proves the catalog's keys make stateful rules co-partitioned;
a catalog that would look state up on the wrong partition is refused with a ConfigError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from velocity_stream.contracts.catalog import Catalog, Family, Route
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.errors import ConfigError
from velocity_stream.protocol.decisions import (
    DECISION_FIELDS,
    DECISION_PROPOSAL_REF,
    RULE_SOURCE_SYSTEM,
)

ModelLookup = Callable[[str, int], type[Artifact]]


@dataclass(frozen=True, slots=True)
class TopicPlan:
    """Everything known in advance about the records of one ingress topic."""

    topic: str
    family: Family
    major: int
    model: type[Artifact]
    accepted_topic: str
    # Remember the record (digest, child count) in the artifacts table: the family is
    # immutable or is the parent of another family.
    tracked: bool
    count_field: str | None
    parent: Family | None
    # An older major with a reader mapping to the latest: also publish the upgraded record.
    bridge_major: int | None
    bridge_model: type[Artifact] | None
    bridge_topic: str | None


class GatewayRoutes:
    """Ingress topic -> :class:`TopicPlan`, plus the gateway's own topics and decision family."""

    def __init__(
        self,
        catalog: Catalog,
        topic_prefix: str,
        model_lookup: ModelLookup,
        has_upgrade: Callable[[str, int], bool],
    ) -> None:
        self.catalog = catalog
        self.approvals_topic = catalog.approvals_topic(topic_prefix)
        self.commits_topic = catalog.commits_topic(topic_prefix)
        self.dead_letter_topic = catalog.dead_letter_topic(topic_prefix)
        self.reviewers = frozenset(catalog.gateway.reviewers)
        self.decision_hold_ms = catalog.gateway.decision_hold_ms
        self.decision_family = _decision_family(catalog)
        self.decision_ingress = (
            self.decision_family.ingress_topic(topic_prefix) if self.decision_family else None
        )
        _check_copartitioning(catalog, self.decision_family)
        count_fields = _count_fields(catalog)
        parents = {f.parent.family for f in catalog if f.parent}
        self._plans: dict[str, TopicPlan] = {}
        for topic, (family, major) in catalog.ingress_topics(topic_prefix).items():
            latest = family.latest.major
            bridge = latest if major < latest and has_upgrade(family.name, major) else None
            self._plans[topic] = TopicPlan(
                topic=topic,
                family=family,
                major=major,
                model=model_lookup(family.name, major),
                accepted_topic=family.accepted_topic(topic_prefix, major),
                tracked=family.immutable or family.name in parents,
                count_field=count_fields.get(family.name),
                parent=catalog.families[family.parent.family] if family.parent else None,
                bridge_major=bridge,
                bridge_model=model_lookup(family.name, bridge) if bridge else None,
                bridge_topic=family.accepted_topic(topic_prefix, bridge) if bridge else None,
            )

    def plan(self, topic: str) -> TopicPlan | None:
        return self._plans.get(topic)

    def topics(self) -> tuple[str, ...]:
        """Every ingress topic the gateway consumes."""
        return tuple(self._plans)


def _decision_family(catalog: Catalog) -> Family | None:
    deciders = [f for f in catalog if f.route is Route.DECISION]
    proposers = [f for f in catalog if f.route is Route.PROPOSAL]
    if len(deciders) > 1:
        names = ", ".join(f.name for f in deciders)
        raise ConfigError(f"catalog: only one family may have route 'decision', found {names}")
    if not deciders:
        if proposers:
            raise ConfigError("catalog: proposals need a family with route 'decision'")
        return None
    decider = deciders[0]
    fields = {f["name"] for f in decider.latest.schema["fields"]}
    missing = [name for name in DECISION_FIELDS if name not in fields]
    if missing:
        raise ConfigError(f"{decider.name}: a decision family needs the fields {missing}")
    if decider.key_field != DECISION_PROPOSAL_REF:
        raise ConfigError(
            f"{decider.name}: a decision family is keyed by {DECISION_PROPOSAL_REF!r} so it "
            "meets its proposal on the same partition"
        )
    if any(f.auto_approve for f in proposers) and not decider.is_owned_by(RULE_SOURCE_SYSTEM):
        raise ConfigError(
            f"{decider.name}: auto rules decide as {RULE_SOURCE_SYSTEM!r}, which must be one "
            "of its producers"
        )
    return decider


def _check_copartitioning(catalog: Catalog, decider: Family | None) -> None:
    """State keys are Kafka keys: prove each stateful pair shares key and partitioning."""
    for family in catalog:
        if (
            family.route is Route.PROPOSAL
            and decider is not None
            and (family.copartition is None or family.copartition != decider.copartition)
        ):
            raise ConfigError(
                f"{family.name} and {decider.name} must share a copartition group: "
                "decisions are checked against proposals on the decision's partition"
            )
        if family.parent is not None:
            parent = catalog.families[family.parent.family]
            if family.key_field != family.parent.ref_field:
                raise ConfigError(
                    f"{family.name}: keyed by {family.key_field!r} but its parent ref is "
                    f"{family.parent.ref_field!r}; key it by the parent ref so it meets "
                    f"its {parent.name} on the same partition"
                )
            if family.copartition is None or family.copartition != parent.copartition:
                raise ConfigError(
                    f"{family.name} and its parent {parent.name} must share a copartition group"
                )


def _count_fields(catalog: Catalog) -> dict[str, str]:
    """Parent family -> the field of it that bounds its children's index."""
    found: dict[str, str] = {}
    for family in catalog:
        ref = family.parent
        if ref is None or ref.count_field is None:
            continue
        if ref.index_field is None:
            raise ConfigError(f"{family.name}: a parent count_field needs an index_field")
        known = found.setdefault(ref.family, ref.count_field)
        if known != ref.count_field:
            raise ConfigError(
                f"{ref.family}: children bound their index by different fields "
                f"({known!r}, {ref.count_field!r}); the gateway keeps one count per parent"
            )
    return found
