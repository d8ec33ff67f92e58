"""Copying another Confluent-compatible registry into ours, keeping ids and versions.

``registry import --from URL`` reads every live version of the selected subjects from the
source (any registry speaking Confluent's REST API) and registers each in ours in IMPORT mode,
with its id, version, references, metadata and rule set, then copies the subjects'
compatibility levels (and, when every subject is copied, the global one).

* Order: versions are copied so that a referenced version always comes before the schemas that
  reference it; a referenced subject outside ``--subjects`` is copied too.
* IMPORT mode is set on each subject just before its versions are copied (``force``: this copy
  never overwrites, so a subject that already holds versions may take more) and removed after.
* Idempotent and resumable: a version already here with the same id is ``already``, so running
  again after a failure copies what is missing and nothing twice.
* Refusals are results, not failures: a version whose id or version number is taken here by
  another schema, a schema type other than AVRO, or a reference that could not be copied. The
  report lists each with the registry's reason. An unreachable registry raises.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from velocity_stream.registry.canonical import identity_form
from velocity_stream.registry.client import RegistryClient
from velocity_stream.registry.errors import ErrorCode, RegistryRequestError
from velocity_stream.registry.references import parse_references

Progress = Callable[[str], None]


class Copied(StrEnum):
    COPIED = "copied"
    ALREADY = "already"
    WOULD_COPY = "would-copy"
    REFUSED = "refused"
    SKIPPED = "skipped"  # a version it references was refused


@dataclass(frozen=True, slots=True)
class SourceVersion:
    """One live version of a subject in the source registry, as its API answered it."""

    subject: str
    version: int
    schema_id: int
    body: dict[str, Any]

    @property
    def key(self) -> tuple[str, int]:
        return (self.subject, self.version)

    @property
    def depends_on(self) -> list[tuple[str, int]]:
        return [(r.subject, r.version) for r in parse_references(self.body.get("references"))]


@dataclass(frozen=True, slots=True)
class VersionCopy:
    subject: str
    version: int
    schema_id: int
    outcome: Copied
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LevelCopy:
    subject: str | None  # None: the global level
    level: str
    outcome: Copied
    reason: str = ""


@dataclass
class ImportReport:
    source: str
    target: str
    dry_run: bool
    versions: list[VersionCopy] = field(default_factory=list)
    levels: list[LevelCopy] = field(default_factory=list)

    def count(self, outcome: Copied, *, levels: bool = False) -> int:
        items = self.levels if levels else self.versions
        return sum(item.outcome is outcome for item in items)

    @property
    def ok(self) -> bool:
        bad = (Copied.REFUSED, Copied.SKIPPED)
        return not any(v.outcome in bad for v in self.versions) and not any(
            c.outcome in bad for c in self.levels
        )

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "source": self.source,
            "target": self.target,
            "versions": [
                {
                    "subject": v.subject,
                    "version": v.version,
                    "id": v.schema_id,
                    "outcome": v.outcome.value,
                    "reason": v.reason,
                }
                for v in self.versions
            ],
            "levels": [
                {
                    "subject": c.subject,
                    "level": c.level,
                    "outcome": c.outcome.value,
                    "reason": c.reason,
                }
                for c in self.levels
            ],
        }


def _not_found(error: RegistryRequestError) -> bool:
    return error.error_code in (
        ErrorCode.SUBJECT_NOT_FOUND,
        ErrorCode.VERSION_NOT_FOUND,
        ErrorCode.SCHEMA_NOT_FOUND,
        ErrorCode.SUBJECT_COMPATIBILITY_NOT_CONFIGURED,
        ErrorCode.SUBJECT_MODE_NOT_CONFIGURED,
        ErrorCode.NOT_FOUND,
    )


class Importer:
    """One import run from ``source`` into ``target``; see the module docstring."""

    def __init__(
        self,
        source: RegistryClient,
        target: RegistryClient,
        *,
        subjects: str = "*",
        dry_run: bool = False,
        progress: Progress = lambda line: None,
    ) -> None:
        self.source = source
        self.target = target
        self.pattern = subjects
        self.dry_run = dry_run
        self.progress = progress
        self.report = ImportReport(source.url, target.url, dry_run)
        self._fetched: dict[tuple[str, int], SourceVersion] = {}

    # --- reading the source ----------------------------------------------------------------

    def _version(self, subject: str, version: int) -> SourceVersion:
        key = (subject, version)
        if key not in self._fetched:
            body = self.source.get_json(f"/subjects/{_path(subject)}/versions/{version}")
            self._fetched[key] = SourceVersion(subject, int(body["version"]), int(body["id"]), body)
        return self._fetched[key]

    def plan(self) -> list[SourceVersion]:
        """Every version to copy, each after the versions it references."""
        selected = [s for s in self.source.subjects() if fnmatch.fnmatchcase(s, self.pattern)]
        self.progress(
            f"source {self.source.url}: {len(selected)} subject(s) match {self.pattern!r}"
        )
        roots = [self._version(s, v) for s in selected for v in self.source.versions(s)]
        ordered: list[SourceVersion] = []
        placed: set[tuple[str, int]] = set()
        visiting: set[tuple[str, int]] = set()

        def place(item: SourceVersion) -> None:
            if item.key in placed or item.key in visiting:
                return  # already placed, or a cycle (the target refuses what it cannot resolve)
            visiting.add(item.key)
            for dependency in item.depends_on:
                try:
                    place(self._version(*dependency))
                except RegistryRequestError as error:
                    if not _not_found(error):
                        raise
            visiting.discard(item.key)
            placed.add(item.key)
            ordered.append(item)

        for root in roots:
            place(root)
        return ordered

    # --- writing the target ----------------------------------------------------------------

    def _held(self, item: SourceVersion) -> tuple[Copied, str] | None:
        """What the target already says about this version: None when it is free to copy."""
        try:
            held = self.target.get_json(f"/subjects/{_path(item.subject)}/versions/{item.version}")
        except RegistryRequestError as error:
            if not _not_found(error):
                raise
        else:
            if int(held["id"]) == item.schema_id:
                return Copied.ALREADY, ""
            return Copied.REFUSED, f"version {item.version} is schema id {held['id']} here"
        try:
            taken = self.target.get_json(f"/schemas/ids/{item.schema_id}")
        except RegistryRequestError as error:
            if not _not_found(error):
                raise
            return None
        same = _same_schema(taken, item.body)
        return None if same else (Copied.REFUSED, f"id {item.schema_id} holds another schema here")

    def _copy(self, item: SourceVersion, refused: set[tuple[str, int]]) -> VersionCopy:
        def result(outcome: Copied, reason: str = "") -> VersionCopy:
            return VersionCopy(item.subject, item.version, item.schema_id, outcome, reason)

        kind = str(item.body.get("schemaType") or "AVRO").upper()
        if kind != "AVRO":
            return result(Copied.REFUSED, f"schema type {kind} is not supported here")
        blocked = [d for d in item.depends_on if d in refused]
        if blocked:
            names = ", ".join(f"{s} version {v}" for s, v in blocked)
            return result(Copied.SKIPPED, f"references {names}, which was not copied")
        held = self._held(item)
        if held is not None:
            return result(*held)
        if self.dry_run:
            return result(Copied.WOULD_COPY)
        body: dict[str, object] = {
            "schema": item.body["schema"],
            "id": item.schema_id,
            "version": item.version,
        }
        for member in ("schemaType", "references", "metadata", "ruleSet"):
            if item.body.get(member) is not None:
                body[member] = item.body[member]
        try:
            answer = self.target.post_json(f"/subjects/{_path(item.subject)}/versions", body)
        except RegistryRequestError as error:
            if error.http_status >= 500:
                raise
            return result(Copied.REFUSED, f"{error.error_code}: {error.message}")
        if int(answer["id"]) != item.schema_id:
            return result(Copied.REFUSED, f"registered as id {answer['id']}, not {item.schema_id}")
        return result(Copied.COPIED)

    def _with_import_mode(self, subject: str, work: Callable[[], None]) -> None:
        """Run ``work`` with ``subject`` in IMPORT mode, then give it back its own mode."""
        if self.dry_run:
            work()
            return
        try:
            before: str | None = self.target.get_json(f"/mode/{_path(subject)}")["mode"]
        except RegistryRequestError as error:
            if not _not_found(error):
                raise
            before = None
        self.target.put_json(f"/mode/{_path(subject)}?force=true", {"mode": "IMPORT"})
        try:
            work()
        finally:
            if before in (None, "IMPORT"):
                # None: it had no mode of its own. IMPORT: left by an interrupted run.
                self.target.delete_json(f"/mode/{_path(subject)}")
            else:
                self.target.put_json(f"/mode/{_path(subject)}", {"mode": before})

    def _copy_level(self, subject: str | None) -> None:
        path = "/config" if subject is None else f"/config/{_path(subject)}"
        try:
            level = str(self.source.get_json(path)["compatibilityLevel"])
        except RegistryRequestError as error:
            if _not_found(error):
                return  # the subject has no level of its own
            raise
        try:
            current: str | None = str(self.target.get_json(path)["compatibilityLevel"])
        except RegistryRequestError as error:
            if not _not_found(error):
                raise
            current = None
        if current == level:
            outcome = Copied.ALREADY
        elif self.dry_run:
            outcome = Copied.WOULD_COPY
        else:
            try:
                self.target.put_json(path, {"compatibility": level})
            except RegistryRequestError as error:
                if error.http_status >= 500:
                    raise
                self.report.levels.append(
                    LevelCopy(
                        subject, level, Copied.REFUSED, f"{error.error_code}: {error.message}"
                    )
                )
                return
            outcome = Copied.COPIED
        self.report.levels.append(LevelCopy(subject, level, outcome))

    def run(self) -> ImportReport:
        ordered = self.plan()
        subjects = list(dict.fromkeys(item.subject for item in ordered))
        self.progress(f"{len(ordered)} version(s) of {len(subjects)} subject(s) to copy")
        refused: set[tuple[str, int]] = set()
        for index, subject in enumerate(subjects, 1):
            items = [item for item in ordered if item.subject == subject]

            def copy_subject(items: list[SourceVersion] = items) -> None:
                for item in items:
                    done = self._copy(item, refused)
                    if done.outcome in (Copied.REFUSED, Copied.SKIPPED):
                        refused.add(item.key)
                    self.report.versions.append(done)

            self._with_import_mode(subject, copy_subject)
            self._copy_level(subject)
            mine = self.report.versions[-len(items) :] if items else []
            summary = ", ".join(
                f"{sum(v.outcome is o for v in mine)} {o.value}"
                for o in Copied
                if any(v.outcome is o for v in mine)
            )
            self.progress(f"[{index}/{len(subjects)}] {subject}: {summary}")
        if self.pattern == "*":
            self._copy_level(None)
        return self.report


def _same_schema(held: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Is the schema the target holds under an id the one the source has under it?"""
    try:
        same_text = identity_form(json.loads(held["schema"])) == identity_form(
            json.loads(wanted["schema"])
        )
    except (ValueError, TypeError, KeyError):
        return False
    return same_text and all(
        _normal(held.get(member)) == _normal(wanted.get(member))
        for member in ("references", "metadata", "ruleSet")
    )


def _normal(value: object) -> str:
    return json.dumps(value or None, sort_keys=True)


def _path(segment: str) -> str:
    return quote(segment, safe="")


def summary_lines(report: ImportReport) -> Iterable[str]:
    """The closing report: totals, then every refusal with its reason."""
    done = Copied.WOULD_COPY if report.dry_run else Copied.COPIED
    verb = "would copy" if report.dry_run else "copied"
    for what, levels in (("versions", False), ("levels", True)):
        yield (
            f"{what}: {verb} {report.count(done, levels=levels)}, already there "
            f"{report.count(Copied.ALREADY, levels=levels)}, refused "
            f"{report.count(Copied.REFUSED, levels=levels)}, skipped "
            f"{report.count(Copied.SKIPPED, levels=levels)}"
        )
    yield f"from {report.source} to {report.target}"
    for v in report.versions:
        if v.outcome in (Copied.REFUSED, Copied.SKIPPED):
            where = f"{v.subject} version {v.version} (id {v.schema_id})"
            yield f"{v.outcome.value}: {where}: {v.reason}"
    for c in report.levels:
        if c.outcome is Copied.REFUSED:
            yield f"refused: level {c.level} of {c.subject or 'the registry'}: {c.reason}"
