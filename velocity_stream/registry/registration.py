"""Registering the catalog from git: every released version of every family, oldest first.

Subject strategy: Confluent's TopicNameStrategy for values, ``<topic>-value``, for both topics
of each major (ingress ``<prefix>.<topic>.v<major>`` and accepted
``<prefix>.<topic>.accepted.v<major>``), so tools that find a topic's schema by subject
(ksqlDB, Kafka Connect) see every topic. Each subject gets the family's compatibility level
from the catalog before anything is registered under it, so the registry judges the versions
by the catalog's rule. Works against any Confluent-compatible registry; only the wording of
refusals differs.

Each version is registered with the family's contract rules as Confluent metadata
(contract_rules.py), the same for every version of a major. A version already registered is
found by its text alone (without metadata a registry looks with the latest version's, as
registering would inherit it), so running again, or after the rules changed, registers nothing
twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from velocity_stream.contracts.catalog import Catalog, Family, SchemaVersion
from velocity_stream.registry.canonical import identity_form
from velocity_stream.registry.client import RegistryClient
from velocity_stream.registry.contract_rules import contract_metadata
from velocity_stream.registry.errors import ErrorCode, RegistryRequestError
from velocity_stream.serde.resolver import subject_for


class Outcome(StrEnum):
    REGISTERED = "registered"
    ALREADY_REGISTERED = "already-registered"
    WOULD_REGISTER = "would-register"
    REFUSED = "refused"
    SKIPPED = "skipped"  # an earlier version of the subject was refused


@dataclass(frozen=True, slots=True)
class VersionResult:
    family: str
    version: str
    subject: str
    outcome: Outcome
    schema_id: int | None = None
    messages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LevelChange:
    subject: str
    before: str | None
    after: str


@dataclass(frozen=True, slots=True)
class RegistrationReport:
    dry_run: bool
    levels: tuple[LevelChange, ...]
    results: tuple[VersionResult, ...]

    @property
    def ok(self) -> bool:
        return not any(r.outcome in (Outcome.REFUSED, Outcome.SKIPPED) for r in self.results)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "levels": [
                {"subject": c.subject, "before": c.before, "after": c.after} for c in self.levels
            ],
            "results": [
                {
                    "family": r.family,
                    "version": r.version,
                    "subject": r.subject,
                    "outcome": r.outcome.value,
                    "id": r.schema_id,
                    "messages": list(r.messages),
                }
                for r in self.results
            ],
        }


@dataclass(frozen=True, slots=True)
class SubjectPlan:
    family: Family
    subject: str
    versions: tuple[SchemaVersion, ...]


def subject_plan(catalog: Catalog, prefix: str) -> Iterator[SubjectPlan]:
    """Every subject the catalog implies, with its versions oldest first."""
    for family in catalog.all_families():
        for major in family.majors():
            versions = tuple(v for v in family.versions if v.major == major)
            for topic in family.topics(prefix, major):
                yield SubjectPlan(family, subject_for(topic), versions)


def register_catalog(
    catalog: Catalog, client: RegistryClient, prefix: str, *, dry_run: bool = False
) -> RegistrationReport:
    """Set each subject's level and register every released version; say what happened.

    Refusals (an incompatible version) are results, not exceptions; an unreachable registry
    raises. With ``dry_run`` nothing is written: versions not yet registered are checked
    against what the registry holds, under the subject's current level.
    """
    levels: list[LevelChange] = []
    results: list[VersionResult] = []
    for plan in subject_plan(catalog, prefix):
        wanted = plan.family.compatibility.value
        current = client.get_compatibility(plan.subject)
        if current != wanted:
            levels.append(LevelChange(plan.subject, current, wanted))
            if not dry_run:
                client.set_compatibility(plan.subject, wanted)
        refused = False
        for version in plan.versions:
            results.append(_one(client, plan, version, dry_run=dry_run, after_refusal=refused))
            refused = refused or results[-1].outcome is Outcome.REFUSED
    return RegistrationReport(dry_run, tuple(levels), tuple(results))


def _one(
    client: RegistryClient,
    plan: SubjectPlan,
    version: SchemaVersion,
    *,
    dry_run: bool,
    after_refusal: bool,
) -> VersionResult:
    def result(
        outcome: Outcome, schema_id: int | None = None, messages: tuple[str, ...] = ()
    ) -> VersionResult:
        return VersionResult(
            plan.family.name, str(version.version), plan.subject, outcome, schema_id, messages
        )

    text = version.canonical_json()
    if after_refusal:
        return result(Outcome.SKIPPED, messages=("an earlier version of this subject was refused",))
    metadata = contract_metadata(plan.family, version.major)
    existing = _registered(client, plan.subject, text, metadata)
    if existing is not None:
        return result(Outcome.ALREADY_REGISTERED, existing)
    if dry_run:
        check = client.test_compatibility(plan.subject, text, version=None)
        if check.is_compatible:
            return result(Outcome.WOULD_REGISTER)
        return result(Outcome.REFUSED, messages=check.messages)
    try:
        return result(Outcome.REGISTERED, client.register(plan.subject, text, metadata=metadata))
    except RegistryRequestError as error:
        if error.error_code in (ErrorCode.INCOMPATIBLE_SCHEMA, ErrorCode.INVALID_SCHEMA):
            return result(Outcome.REFUSED, messages=(error.message,))
        raise


def _registered(
    client: RegistryClient, subject: str, text: str, metadata: dict[str, object] | None
) -> int | None:
    """The id under which ``subject`` already holds this Avro schema, whatever its metadata.

    Looked up with the metadata registration would attach, then without (a registry then
    looks with the latest version's), then among the subject's versions by identity form: a
    version registered before the rules changed still counts as registered.
    """
    for attempt in (metadata, None) if metadata is not None else (None,):
        found = client.lookup(subject, text, metadata=attempt)
        if found is not None:
            return found.schema_id
    try:
        versions = client.versions(subject)
    except RegistryRequestError as error:
        if error.error_code == ErrorCode.SUBJECT_NOT_FOUND:
            return None
        raise
    wanted = identity_form(json.loads(text))
    for number in versions:
        held = client.version(subject, number)
        if identity_form(json.loads(held.schema)) == wanted:
            return held.schema_id
    return None
