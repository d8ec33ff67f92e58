"""Loads avro_schemas/: the catalog (catalog.toml) and every released schema version.

Each family folder holds one ``MAJOR.MINOR.PATCH.avsc`` per released version, expanded by
:mod:`velocity_stream.contracts.schema_files` into one self-contained schema each.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from velocity_stream.contracts.schema_files import (
    AvroSchema,
    expand_schema,
    full_name,
    load_shared_types,
    read_schema_file,
)
from velocity_stream.errors import ConfigError

CATALOG_FILE = "catalog.toml"
_VERSION_FILE = re.compile(r"^(\d+)\.(\d+)\.(\d+)\.avsc$")


class Route(StrEnum):
    """What the gateway does with a valid artifact of a family."""

    ACCEPT = "accept"
    PROPOSAL = "proposal"
    DECISION = "decision"
    # Not the gateway's: one process writes the family's one topic directly for another.
    INTERNAL = "internal"


class CompatibilityMode(StrEnum):
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"


@dataclass(frozen=True, order=True, slots=True)
class Version:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        parts = text.split(".")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise ConfigError(f"{text!r} is not a MAJOR.MINOR.PATCH version")
        return cls(int(parts[0]), int(parts[1]), int(parts[2]))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One released schema of a family, already expanded to a self-contained schema."""

    family: str
    version: Version
    path: Path
    schema: AvroSchema

    @property
    def major(self) -> int:
        return self.version.major

    def canonical_json(self) -> str:
        return json.dumps(self.schema, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class FieldCondition:
    """One condition of an auto-approval rule, over a field of the artifact."""

    field: str
    equals: bool | str | int | float | None = None
    at_least: float | None = None
    empty: bool | None = None

    def holds(self, value: object) -> bool:
        if self.equals is not None and value != self.equals:
            return False
        if self.at_least is not None and not (
            isinstance(value, int | float) and value >= self.at_least
        ):
            return False
        if self.empty is not None:
            is_empty = value is None or (hasattr(value, "__len__") and len(value) == 0)
            if is_empty != self.empty:
                return False
        return True


@dataclass(frozen=True, slots=True)
class AutoApproveRule:
    name: str
    when: tuple[FieldCondition, ...]


@dataclass(frozen=True, slots=True)
class ParentRef:
    """An artifact that belongs to a parent artifact of another family (rows to their batch)."""

    family: str
    ref_field: str
    index_field: str | None = None
    count_field: str | None = None


@dataclass(frozen=True, slots=True)
class ApprovedOnlyByCommit:
    """Records for which ``when_field`` is true make a change only an approved proposal may
    make, and an approval is used once: by the commit record the gateway writes with it. So
    such a record on the ingress is refused, whatever decision ``decision_field`` names."""

    when_field: str
    decision_field: str


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    cleanup_policy: str
    retention_ms: int

    def config(self) -> dict[str, str]:
        return {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}


@dataclass(frozen=True)
class Family:
    """One artifact family: its contract versions and everything the catalog says of it."""

    name: str
    avro_name: str
    directory: str
    topic: str
    key_field: str
    route: Route
    partitions: int
    cleanup_policy: str
    retention_ms: int
    accepted_retention_ms: int
    compatibility: CompatibilityMode
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    versions: tuple[SchemaVersion, ...]
    copartition: str | None = None
    immutable: bool = False
    parent: ParentRef | None = None
    auto_approve: AutoApproveRule | None = None
    approved_only_by_commit: ApprovedOnlyByCommit | None = None

    @property
    def slug(self) -> str:
        """snake_case name, as used in reason codes and on the command line."""
        return self.directory

    @property
    def internal(self) -> bool:
        """True for a family one process writes directly for another, past the gateway."""
        return self.route is Route.INTERNAL

    @property
    def latest(self) -> SchemaVersion:
        return self.versions[-1]

    def majors(self) -> tuple[int, ...]:
        return tuple(sorted({v.major for v in self.versions}))

    def latest_of_major(self, major: int) -> SchemaVersion:
        found = [v for v in self.versions if v.major == major]
        if not found:
            raise ConfigError(f"{self.name} has no released version of major {major}")
        return found[-1]

    def version(self, version: Version | str) -> SchemaVersion:
        wanted = Version.parse(version) if isinstance(version, str) else version
        for candidate in self.versions:
            if candidate.version == wanted:
                return candidate
        raise ConfigError(f"{self.name} has no released version {wanted}")

    def ingress_topic(self, prefix: str, major: int | None = None) -> str:
        """The topic writers produce to; for an internal family, its one topic."""
        return f"{prefix}.{self.topic}.v{major or self.latest.major}"

    def accepted_topic(self, prefix: str, major: int | None = None) -> str:
        if self.internal:
            raise ConfigError(
                f"{self.name} is an internal family: it has one topic and no accepted topic"
            )
        return f"{prefix}.{self.topic}.accepted.v{major or self.latest.major}"

    def topics(self, prefix: str, major: int) -> tuple[str, ...]:
        """Every topic carrying records of ``major``: ingress and accepted, or the internal
        family's one topic."""
        if self.internal:
            return (self.ingress_topic(prefix, major),)
        return (self.ingress_topic(prefix, major), self.accepted_topic(prefix, major))

    def is_owned_by(self, source_system: str) -> bool:
        return source_system in self.producers


@dataclass(frozen=True)
class GatewayTopics:
    approvals: str
    # The internal family approvals become (the gateway writes it); None in a catalog
    # without proposals.
    commits_family: str | None
    dead_letter: str
    partitions: int
    dead_letter_retention_ms: int
    reviewers: tuple[str, ...]
    decision_hold_ms: int
    # The internal family of replay audit records (``dlq replay`` writes it); None: no replays.
    dlq_audit_family: str | None = None


@dataclass(frozen=True)
class Catalog:
    """Every family and the gateway's own topics; built by :func:`load_catalog`.

    ``families`` (and iterating the catalog) are the families the gateway routes; the
    ``internal`` ones (route ``internal``) are kept apart, so code that walks the gateway's
    families never consumes them. :meth:`all_families` and :meth:`family` see both.
    """

    root: Path
    families: Mapping[str, Family]
    gateway: GatewayTopics
    replication_factor: int = 1
    _aliases: dict[str, str] = field(default_factory=dict, repr=False)
    internal: Mapping[str, Family] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Family]:
        return iter(self.families.values())

    def all_families(self) -> tuple[Family, ...]:
        """The gateway's families, then the internal ones, in catalog order."""
        return (*self.families.values(), *self.internal.values())

    def family(self, name: str) -> Family:
        """Look a family up by artifact name (``QdSignalBundle``) or its snake/kebab form;
        internal families included."""
        key = _alias_key(name)
        resolved = self._aliases.get(key)
        if resolved is None:
            known = ", ".join(f.name for f in self.all_families())
            close = difflib.get_close_matches(key, self._aliases, n=3, cutoff=0.6)
            hint = ", ".join(dict.fromkeys(self._aliases[c] for c in close))
            raise ConfigError(
                f"unknown artifact family {name!r} in {self.root}"
                + (f"; did you mean {hint}?" if hint else "")
                + f" (known: {known})"
            )
        return self.families.get(resolved) or self.internal[resolved]

    def by_avro_name(self, avro_name: str) -> Family | None:
        return self._by_avro_name.get(avro_name)

    @cached_property
    def _by_avro_name(self) -> dict[str, Family]:
        return {f.avro_name: f for f in self.all_families()}

    def ingress_topics(self, prefix: str) -> dict[str, tuple[Family, int]]:
        """Every ingress topic of the gateway, with the family and major version it carries
        (internal families' topics are not among them)."""
        return {f.ingress_topic(prefix, major): (f, major) for f in self for major in f.majors()}

    def topic_specs(self, prefix: str) -> list[TopicSpec]:
        """Every topic the catalog implies, ingress and accepted per major, plus the gateway's."""
        specs: list[TopicSpec] = []
        for fam in self:
            for major in fam.majors():
                specs.append(
                    TopicSpec(
                        fam.ingress_topic(prefix, major),
                        fam.partitions,
                        fam.cleanup_policy,
                        fam.retention_ms,
                    )
                )
                specs.append(
                    TopicSpec(
                        fam.accepted_topic(prefix, major),
                        fam.partitions,
                        fam.cleanup_policy,
                        fam.accepted_retention_ms,
                    )
                )
        for fam in self.internal.values():
            for major in fam.majors():
                specs.append(
                    TopicSpec(
                        fam.ingress_topic(prefix, major),
                        fam.partitions,
                        fam.cleanup_policy,
                        fam.retention_ms,
                    )
                )
        gw = self.gateway
        specs.append(TopicSpec(f"{prefix}.{gw.approvals}.v1", gw.partitions, "delete", -1))
        specs.append(
            TopicSpec(
                f"{prefix}.{gw.dead_letter}.v1",
                gw.partitions,
                "delete",
                gw.dead_letter_retention_ms,
            )
        )
        return specs

    def approvals_topic(self, prefix: str) -> str:
        return f"{prefix}.{self.gateway.approvals}.v1"

    def internal_topics(self, prefix: str) -> dict[str, tuple[Family, int]]:
        """Every internal family's topic, with the family and major version it carries."""
        return {
            f.ingress_topic(prefix, major): (f, major)
            for f in self.internal.values()
            for major in f.majors()
        }

    @property
    def commits(self) -> Family:
        """The internal family of commit records (``[gateway] commits_family``)."""
        name = self.gateway.commits_family
        if name is None or name not in self.internal:
            raise ConfigError(f"{self.root}: the catalog names no commits_family in [gateway]")
        return self.internal[name]

    def commits_topic(self, prefix: str) -> str:
        return self.commits.ingress_topic(prefix)

    def dead_letter_topic(self, prefix: str) -> str:
        return f"{prefix}.{self.gateway.dead_letter}.v1"

    @property
    def dlq_audit(self) -> Family:
        """The internal family of replay audit records (``[gateway] dlq_audit_family``)."""
        name = self.gateway.dlq_audit_family
        if name is None or name not in self.internal:
            raise ConfigError(
                f"{self.root}: the catalog names no dlq_audit_family in [gateway]; "
                "dead-letter replays are audited on that family's topic"
            )
        return self.internal[name]

    def dlq_audit_topic(self, prefix: str) -> str:
        return self.dlq_audit.ingress_topic(prefix)


def _alias_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


# --- catalog loading ----------------------------------------------------------------------


def load_versions(
    root: Path, family: str, directory: str, avro_name: str, shared: Mapping[str, AvroSchema]
) -> tuple[SchemaVersion, ...]:
    folder = root / directory
    found: list[SchemaVersion] = []
    for path in sorted(folder.glob("*.avsc")) if folder.is_dir() else []:
        match = _VERSION_FILE.match(path.name)
        if match is None:
            raise ConfigError(f"{path}: schema files are named MAJOR.MINOR.PATCH.avsc")
        raw = read_schema_file(path)
        if full_name(raw, None) != avro_name:
            raise ConfigError(
                f"{path}: declares {full_name(raw, None)!r}, catalog says {avro_name!r}"
            )
        version = Version(*(int(g) for g in match.groups()))
        found.append(SchemaVersion(family, version, path, expand_schema(raw, shared)))
    if not found:
        raise ConfigError(f"{family}: no released schema under {folder}")
    return tuple(sorted(found, key=lambda v: v.version))


def _family_from_toml(
    root: Path,
    name: str,
    entry: Mapping[str, Any],
    defaults: Mapping[str, Any],
    shared: Mapping[str, AvroSchema],
) -> Family:
    def get(key: str) -> Any:
        if key in entry:
            return entry[key]
        if key in defaults:
            return defaults[key]
        raise ConfigError(f"catalog: family {name} has no {key!r}")

    try:
        auto = entry.get("auto_approve")
        parent = entry.get("parent")
        if "requires_approved_decision" in entry:
            raise ConfigError(
                "requires_approved_decision is gone: an approval is used once, by its commit "
                "record, so no record on the ingress may use it again; say which records "
                "only a commit may carry with approved_only_by_commit = { when_field, "
                "decision_field }"
            )
        by_commit = entry.get("approved_only_by_commit")
        return Family(
            name=name,
            avro_name=get("avro_name"),
            directory=get("directory"),
            topic=get("topic"),
            key_field=get("key_field"),
            route=Route(get("route")),
            partitions=int(get("partitions")),
            cleanup_policy=get("cleanup_policy"),
            retention_ms=int(get("retention_ms")),
            accepted_retention_ms=int(get("accepted_retention_ms")),
            compatibility=CompatibilityMode(get("compatibility")),
            producers=tuple(get("producers")),
            consumers=tuple(get("consumers")),
            versions=load_versions(root, name, get("directory"), get("avro_name"), shared),
            copartition=entry.get("copartition"),
            immutable=bool(entry.get("immutable", False)),
            parent=ParentRef(**parent) if parent else None,
            auto_approve=AutoApproveRule(
                auto["rule"], tuple(FieldCondition(**c) for c in auto["when"])
            )
            if auto
            else None,
            approved_only_by_commit=ApprovedOnlyByCommit(**by_commit) if by_commit else None,
        )
    except (TypeError, ValueError, KeyError) as error:
        raise ConfigError(f"catalog: family {name}: {error}") from error


# Catalog keys that are rules of the gateway, meaningless on an internal family.
_ROUTED_ONLY = ("copartition", "immutable", "parent", "auto_approve", "approved_only_by_commit")


def check_catalog(catalog: Catalog) -> list[str]:
    """Problems that make a catalog unusable; an empty list means it holds together."""
    problems: list[str] = []
    groups: dict[str, set[int]] = {}
    commits_family = catalog.gateway.commits_family
    commits = catalog.internal.get(commits_family) if commits_family else None
    if commits_family is None:
        if any(fam.route is Route.PROPOSAL for fam in catalog):
            problems.append("approved proposals become commit records: name commits_family")
    elif commits is None:
        problems.append(
            f"[gateway] commits_family {commits_family!r} is not an internal family of the catalog"
        )
    elif "gateway" not in commits.producers:
        problems.append(f"{commits.name}: the gateway writes commit records: list it in producers")
    audit_family = catalog.gateway.dlq_audit_family
    if audit_family is not None and audit_family not in catalog.internal:
        problems.append(
            f"[gateway] dlq_audit_family {audit_family!r} is not an internal family of the catalog"
        )
    for fam in catalog.internal.values():
        for key in _ROUTED_ONLY:
            if getattr(fam, key):
                problems.append(f"{fam.name}: an internal family has no gateway rule {key!r}")
        if not fam.producers:
            problems.append(f"{fam.name}: an internal family names its writer in producers")
        if "gateway" in fam.consumers:
            problems.append(
                f"{fam.name}: the gateway never consumes an internal family; "
                "remove it from consumers"
            )
    topics: dict[str, str] = {}
    for fam in catalog.all_families():
        for major in fam.majors():
            for topic in fam.topics("", major):
                if topic in topics:
                    problems.append(f"{fam.name} and {topics[topic]} share the topic {topic!r}")
                topics[topic] = fam.name
    for fam in catalog.all_families():
        if fam.copartition:
            groups.setdefault(fam.copartition, set()).add(fam.partitions)
        if fam.parent and fam.parent.family not in catalog.families:
            problems.append(f"{fam.name}: parent family {fam.parent.family} is not in the catalog")
        if fam.key_field not in {f["name"] for f in fam.latest.schema["fields"]}:
            problems.append(f"{fam.name}: key field {fam.key_field!r} is not a schema field")
    for group, counts in groups.items():
        if len(counts) > 1:
            problems.append(
                f"co-partition group {group!r} mixes partition counts {sorted(counts)}: "
                "state keyed across these families would meet on different partitions"
            )
    return problems


def load_catalog(root: Path) -> Catalog:
    """Read catalog.toml and every schema under ``root``; raise ConfigError if it is unusable."""
    path = root / CATALOG_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the catalog: {error}") from error
    defaults = data.get("defaults", {})
    shared = load_shared_types(root)
    every = {
        name: _family_from_toml(root, name, entry, defaults, shared)
        for name, entry in data.get("families", {}).items()
    }
    families = {name: fam for name, fam in every.items() if not fam.internal}
    internal = {name: fam for name, fam in every.items() if fam.internal}
    gw = data.get("gateway", {})
    if "dlq_audit_topic" in gw:
        raise ConfigError(
            f"{path}: [gateway] dlq_audit_topic is gone: replay audit records are an internal "
            '(route = "internal") family; name it with dlq_audit_family'
        )
    if "commits_topic" in gw:
        raise ConfigError(
            f"{path}: [gateway] commits_topic is gone: commit records are an internal family "
            '(route = "internal"); name it with commits_family'
        )
    try:
        gateway = GatewayTopics(
            approvals=gw["approvals_topic"],
            commits_family=gw.get("commits_family"),
            dead_letter=gw["dead_letter_topic"],
            partitions=int(gw["partitions"]),
            dead_letter_retention_ms=int(gw["dead_letter_retention_ms"]),
            reviewers=tuple(gw["reviewers"]),
            decision_hold_ms=int(gw["decision_hold_ms"]),
            dlq_audit_family=gw.get("dlq_audit_family"),
        )
    except KeyError as error:
        raise ConfigError(f"{path}: [gateway] has no {error}") from error
    aliases: dict[str, str] = {}
    for fam in every.values():
        for alias in (fam.name, fam.directory, fam.topic):
            aliases[_alias_key(alias)] = fam.name
    catalog = Catalog(
        root, families, gateway, int(defaults.get("replication_factor", 1)), aliases, internal
    )
    problems = check_catalog(catalog)
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return catalog
