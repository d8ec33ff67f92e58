"""What the registry does, apart from HTTP: register, look up, check, configure and delete.

Every refusal is a :class:`RegistryRequestError` carrying Confluent's error code; compatibility
is decided by our engine (``velocity_stream.compat.check_mode``) and its issue messages are what
``verbose=true`` and a 409 report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from velocity_stream.compat import CompatibilityMode, ModeResult, check_mode
from velocity_stream.compat.schema_model import SchemaParseError
from velocity_stream.registry.answers import (
    CompatibilityAnswer,
    RegisteredVersion,
    describe_failures,
)
from velocity_stream.registry.canonical import CanonicalSchema, parse_avro
from velocity_stream.registry.datacontract import parse_metadata, parse_rule_set
from velocity_stream.registry.errors import (
    ErrorCode,
    RegistryRequestError,
    invalid_schema,
    schema_not_found,
    subject_not_found,
    version_not_found,
)
from velocity_stream.registry.inputs import (
    LATEST,
    check_subject,
    parse_level,
    parse_version,
    requested_number,
)
from velocity_stream.registry.modes import (
    RegistryMode,
    mode_in_scope,
    not_permitted,
    parse_mode,
    refuse_if_read_only,
)
from velocity_stream.registry.records import (
    ConfigRecord,
    IdWatermark,
    Json,
    ModeRecord,
    SchemaRecord,
    SchemaTombstone,
)
from velocity_stream.registry.references import (
    Reference,
    expand,
    parse_references,
    provided_types,
)
from velocity_stream.registry.state import StoredSchema, SubjectVersion
from velocity_stream.registry.store import RegistryStore
from velocity_stream.registry.submission import Candidate, Submission

DEFAULT_MAX_SCHEMA_BYTES = 256 * 1024
# How often a writer retries a claim another process beat it to before giving up.
_MAX_CLAIMS = 5


class RegistryService:
    def __init__(
        self,
        store: RegistryStore,
        *,
        max_schema_bytes: int = DEFAULT_MAX_SCHEMA_BYTES,
        default_level: CompatibilityMode = CompatibilityMode.BACKWARD,
    ) -> None:
        self.store = store
        self.max_schema_bytes = max_schema_bytes
        self.default_level = default_level

    # --- parsing input ---------------------------------------------------------------------

    def parse(self, submission: Submission | str) -> Candidate:
        """The request's schema, references and data-contract fields, checked; 42201 (schema
        or references), 42210 (rule set) or 422 (metadata) when not."""
        if isinstance(submission, str):
            submission = Submission(submission)
        references = parse_references(submission.references)
        with self.store.state_lock:
            provided = self._provided(references)
        schema = self.parse_schema(submission.schema, submission.schema_type, provided)
        metadata = parse_metadata(submission.metadata)
        rule_set = parse_rule_set(submission.rule_set)
        return Candidate.of(schema, references, metadata, rule_set)

    def parse_schema(
        self,
        text: object,
        schema_type: object = None,
        provided: Mapping[str, Json] | None = None,
    ) -> CanonicalSchema:
        """The Avro schema of a request; ``provided``: its referenced types by full name."""
        if schema_type is not None and str(schema_type).upper() != "AVRO":
            raise invalid_schema(f"schema type {schema_type!r} is not supported; only AVRO is")
        if not isinstance(text, str) or not text.strip():
            raise invalid_schema("the request has no schema (a JSON string under 'schema')")
        size = len(text.encode("utf-8"))
        if size > self.max_schema_bytes:
            raise invalid_schema(
                f"the schema is {size} bytes; this registry accepts at most "
                f"{self.max_schema_bytes} bytes"
            )
        return parse_avro(text, provided)

    # --- reads -----------------------------------------------------------------------------

    def subjects(self, *, deleted: bool = False, prefix: str = "") -> list[str]:
        with self.store.state_lock:
            names = self.store.state.subject_names(deleted=deleted)
        return [name for name in names if name.startswith(prefix)]

    def versions(self, subject: str, *, deleted: bool = False) -> list[int]:
        with self.store.state_lock:
            self._require_subject(subject, deleted=deleted)
            return [v.version for v in self.store.state.versions(subject, deleted=deleted)]

    def version(
        self, subject: str, version: str | int, *, deleted: bool = False
    ) -> RegisteredVersion:
        wanted = parse_version(version)
        with self.store.state_lock:
            entry = self._entry(subject, wanted, deleted=deleted)
            return self._registered(entry)

    def schema_by_id(self, schema_id: int) -> StoredSchema:
        with self.store.state_lock:
            stored = self.store.state.schemas.get(schema_id)
        if stored is None:
            raise schema_not_found(f"Schema {schema_id} not found")
        return stored

    def usages(
        self, schema_id: int, *, subject: str | None = None, deleted: bool = False
    ) -> list[tuple[str, int]]:
        """(subject, version) pairs that use ``schema_id``, of ``subject`` only when given."""
        with self.store.state_lock:
            if schema_id not in self.store.state.schemas:
                raise schema_not_found()
            found = self.store.state.versions_using(schema_id)
        return sorted(
            (v.subject, v.version)
            for v in found
            if (deleted or not v.deleted) and (subject is None or v.subject == subject)
        )

    def referenced_by(self, subject: str, version: str | int) -> list[int]:
        """Ids of the schemas of live versions that reference this version of ``subject``."""
        wanted = parse_version(version)
        with self.store.state_lock:
            entry = self._entry(subject, wanted, deleted=False)
            users = self.store.state.referenced_by(entry.subject, entry.version)
            return sorted({v.schema_id for v in users if not v.deleted})

    def latest_with_metadata(
        self, subject: str, wanted: Sequence[tuple[str, str]], *, deleted: bool = False
    ) -> RegisteredVersion:
        """The latest version of ``subject`` whose metadata properties hold every pair."""
        with self.store.state_lock:
            self._require_subject(subject, deleted=deleted)
            for entry in reversed(self.store.state.versions(subject, deleted=deleted)):
                metadata = self.store.state.schemas[entry.schema_id].metadata or {}
                properties = metadata.get("properties", {})
                if all(properties.get(key) == value for key, value in wanted):
                    return self._registered(entry)
        raise schema_not_found()

    def schemas(
        self, *, prefix: str = "", deleted: bool = False, latest_only: bool = False
    ) -> list[RegisteredVersion]:
        """Every subject version under subjects starting with ``prefix``, by subject and version."""
        with self.store.state_lock:
            state = self.store.state
            found: list[RegisteredVersion] = []
            for subject in state.subject_names(deleted=deleted):
                if not subject.startswith(prefix):
                    continue
                versions = state.versions(subject, deleted=deleted)
                for entry in versions[-1:] if latest_only else versions:
                    found.append(self._registered(entry))
            return found

    def lookup(
        self, subject: str, submission: Submission | str, *, deleted: bool = False
    ) -> RegisteredVersion:
        """The version of ``subject`` holding the schema. A schema sent without metadata or
        rules is also looked for with the latest version's, as registering it would inherit."""
        candidate = self.parse(submission)
        with self.store.state_lock:
            self._require_subject(subject, deleted=True)
            found = self._version_with(subject, candidate.fingerprint, deleted=deleted)
            if found is None:
                inherited = self._inherit(subject, candidate)
                if inherited.fingerprint != candidate.fingerprint:
                    found = self._version_with(subject, inherited.fingerprint, deleted=deleted)
            if found is None:
                raise schema_not_found("Schema not found")
            return self._registered(found)

    # --- compatibility ---------------------------------------------------------------------

    def check(
        self, subject: str, submission: Submission | str, version: str | int | None
    ) -> CompatibilityAnswer:
        """Is the schema compatible with one version (or, with None, all the level asks for)?"""
        schema = self.parse(submission).schema
        wanted = None if version is None else parse_version(version)
        with self.store.state_lock:
            level = self._level(subject)
            if wanted is None or (wanted == LATEST and subject not in self.store.state.subjects):
                live = self.store.state.versions(subject)
            else:
                live = [self._entry(subject, wanted, deleted=False)]
            previous = [self._expanded(v.schema_id) for v in live]
        result = self._check(schema.expanded, previous, level)
        messages = describe_failures(result, [v.version for v in live])
        return CompatibilityAnswer(result.compatible, messages)

    def _check(self, text: str, previous: Sequence[str], level: CompatibilityMode) -> ModeResult:
        try:
            return check_mode(text, list(previous), level)
        except SchemaParseError as error:
            raise invalid_schema(str(error)) from None

    def _require_compatible(self, claim: _Claim, level: CompatibilityMode) -> None:
        """409 with our engine's findings when the claim breaks ``level`` against the versions
        it follows."""
        result = self._check(claim.expanded, claim.previous, level)
        if not result.compatible:
            details = "; ".join(describe_failures(result, claim.versions))
            raise RegistryRequestError(
                ErrorCode.INCOMPATIBLE_SCHEMA,
                "Schema being registered is incompatible with an earlier schema for "
                f'subject "{claim.record.subject}", details: [{details}]',
            )

    # --- register --------------------------------------------------------------------------

    def register(self, subject: str, submission: Submission | str) -> RegisteredVersion:
        """Register the schema under ``subject``; the same schema again returns its version.

        In READWRITE mode a schema sent without metadata or rules takes the latest version's
        (Confluent's inheritance), so adding a field does not silently drop a subject's
        contract, and it must be compatible under the subject's level. In IMPORT mode the
        request brings its ``id`` (and may bring its ``version``) and is stored as sent.
        """
        check_subject(subject)
        if isinstance(submission, str):
            submission = Submission(submission)
        wanted_id = requested_number(submission.schema_id, "id")
        wanted_version = requested_number(submission.version, "version")
        given = self.parse(submission)
        store = self.store
        with store.write_lock:
            for _ in range(_MAX_CLAIMS):
                with store.state_lock:
                    mode = mode_in_scope(store.state.modes, subject)
                    if mode.read_only:
                        raise not_permitted(subject, "is in read-only mode")
                    if wanted_id is not None:
                        if mode is not RegistryMode.IMPORT:
                            raise not_permitted(subject, "is not in import mode")
                        plan = self._import_claim(subject, given, wanted_id, wanted_version)
                    elif mode is not RegistryMode.READWRITE:
                        raise not_permitted(subject, "is not in read-write mode")
                    else:
                        plan = self._claim(subject, given, wanted_version)
                if isinstance(plan, RegisteredVersion):
                    return plan
                if plan.level is not None:
                    self._require_compatible(plan, plan.level)
                record = plan.record
                if store.write(record):
                    with store.state_lock:
                        return self._registered(store.state.subjects[subject][record.version])
                # Another process claimed this id or version first: withdraw ours, retry.
                store.write(_tombstone(record))
        raise RegistryRequestError(
            ErrorCode.STORE_ERROR,
            f"could not register under {subject!r}: {_MAX_CLAIMS} claims lost to other writers",
        )

    def _claim(
        self, subject: str, given: Candidate, wanted_version: int | None
    ) -> RegisteredVersion | _Claim:
        """READWRITE: the version already holding the schema, or the claim for a new one."""
        state = self.store.state
        found = self._version_with(subject, given.fingerprint, deleted=False)
        if found is not None:
            return self._registered(found)
        candidate = self._inherit(subject, given)
        found = self._version_with(subject, candidate.fingerprint, deleted=False)
        if found is not None:
            return self._registered(found)
        version = state.next_version(subject)
        if wanted_version is not None and wanted_version != version:
            raise invalid_schema(
                f"version {wanted_version} is not one more than the previous version "
                f"(the next version of {subject!r} is {version})"
            )
        live = state.versions(subject)
        schema_id = state.by_fingerprint.get(candidate.fingerprint, state.max_id + 1)
        return _Claim(
            _new_record(subject, version, schema_id, candidate),
            candidate.schema.expanded,
            self._level(subject),
            tuple(self._expanded(v.schema_id) for v in live),
            tuple(v.version for v in live),
        )

    def _import_claim(
        self, subject: str, given: Candidate, schema_id: int, wanted_version: int | None
    ) -> RegisteredVersion | _Claim:
        """IMPORT: the schema under the id (and version) the request brings, as sent.

        Idempotent: the same schema, id and version again returns what is there. What would
        overwrite is refused: an id holding another schema, a version holding another id, or
        (our one id per schema) a schema that already has another id.
        """
        state = self.store.state
        held = state.schemas.get(schema_id)
        if held is not None and held.fingerprint != given.fingerprint:
            raise not_permitted(None, f"already holds another schema under id {schema_id}")
        bound = state.by_fingerprint.get(given.fingerprint)
        if bound is not None and bound != schema_id:
            raise RegistryRequestError(
                ErrorCode.ID_DOES_NOT_MATCH,
                f"Schema already registered with id {bound} instead of input id {schema_id}",
            )
        versions = state.subjects.get(subject, {})
        for entry in versions.values():
            if entry.schema_id == schema_id and not entry.deleted:
                if wanted_version in (None, entry.version):
                    return self._registered(entry)
                raise not_permitted(
                    subject,
                    f"already holds schema id {schema_id} as version {entry.version}, "
                    f"not {wanted_version}",
                )
        version = wanted_version if wanted_version is not None else state.next_version(subject)
        if version in versions:
            raise not_permitted(
                subject,
                f"already has a version {version} (schema id {versions[version].schema_id}); "
                "import does not overwrite",
            )
        return _Claim(_new_record(subject, version, schema_id, given), "", None, (), ())

    # --- config and mode -------------------------------------------------------------------

    def get_config(self, subject: str | None, *, default_to_global: bool = False) -> str:
        with self.store.state_lock:
            configs = self.store.state.configs
            if subject is None:
                return configs.get(None, self.default_level).value
            level = configs.get(subject)
        if level is not None:
            return level.value
        if default_to_global:
            return self.get_config(None)
        raise RegistryRequestError(
            ErrorCode.SUBJECT_COMPATIBILITY_NOT_CONFIGURED,
            f"Subject '{subject}' does not have subject-level compatibility configured",
        )

    def set_config(self, subject: str | None, level: object) -> str:
        mode = parse_level(level)
        with self.store.write_lock:
            self._refuse_if_read_only(subject)
            self.store.write(ConfigRecord(subject, mode))
        return mode.value

    def delete_config(self, subject: str | None) -> str:
        previous = self.get_config(subject)
        with self.store.write_lock:
            self._refuse_if_read_only(subject)
            self.store.write(ConfigRecord(subject, None))
        return previous

    def get_mode(self, subject: str | None, *, default_to_global: bool = False) -> str:
        """The global mode, or ``subject``'s own (40409 when it has none, unless
        ``default_to_global``)."""
        with self.store.state_lock:
            modes = self.store.state.modes
            own = modes.get(subject)
            in_scope = mode_in_scope(modes, subject)
        if subject is None or own is not None:
            return (own or in_scope).value
        if default_to_global:
            return in_scope.value
        raise RegistryRequestError(
            ErrorCode.SUBJECT_MODE_NOT_CONFIGURED,
            f"Subject '{subject}' does not have subject-level mode configured",
        )

    def set_mode(self, subject: str | None, value: object, *, force: bool = False) -> str:
        """Set a mode; IMPORT only where no live subject is (unless ``force``), as Confluent."""
        mode = parse_mode(value)
        with self.store.write_lock:
            with self.store.state_lock:
                state = self.store.state
                already = mode_in_scope(state.modes, subject) is RegistryMode.IMPORT
                if mode is RegistryMode.IMPORT and not already and not force:
                    live = state.subject_names() if subject is None else state.versions(subject)
                    if live:
                        raise RegistryRequestError(
                            ErrorCode.OPERATION_NOT_PERMITTED,
                            "Cannot import since found existing subjects",
                        )
            self.store.write(ModeRecord(subject, mode.value))
        return mode.value

    def delete_mode(self, subject: str) -> str:
        """Remove ``subject``'s own mode (it follows the global one again); say what it was."""
        previous = self.get_mode(subject)
        with self.store.write_lock:
            self.store.write(ModeRecord(subject, None))
        return previous

    # --- delete ----------------------------------------------------------------------------

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        store = self.store
        with store.write_lock:
            with store.state_lock:
                refuse_if_read_only(store.state.modes, subject)
                self._require_subject(subject, deleted=True)
                every = store.state.versions(subject, deleted=True)
                live = [v for v in every if not v.deleted]
                for entry in every if permanent else live:
                    self._refuse_if_referenced(entry, permanent=permanent)
                records = [self._record(v) for v in (every if permanent else live)]
                max_id = store.state.max_id
            if permanent:
                if live:
                    raise RegistryRequestError(
                        ErrorCode.SUBJECT_NOT_SOFT_DELETED,
                        f"Subject '{subject}' was not deleted first before being permanently "
                        "deleted",
                    )
                store.write(IdWatermark(max_id))
                for record in records:
                    store.write(_tombstone(record))
                return [r.version for r in records]
            if not live:
                raise RegistryRequestError(
                    ErrorCode.SUBJECT_SOFT_DELETED,
                    f"Subject '{subject}' was soft deleted. Set permanent=true to delete "
                    "permanently",
                )
            for record in records:
                store.write(_soft_deleted(record))
            with store.state_lock:
                has_config = subject in store.state.configs
            if has_config:
                store.write(ConfigRecord(subject, None))
            return [r.version for r in records]

    def delete_version(self, subject: str, version: str | int, *, permanent: bool = False) -> int:
        wanted = parse_version(version)
        store = self.store
        with store.write_lock:
            with store.state_lock:
                refuse_if_read_only(store.state.modes, subject)
                entry = self._entry(subject, wanted, deleted=permanent)
                self._refuse_if_referenced(entry, permanent=permanent)
                record = self._record(entry)
                max_id = store.state.max_id
            if permanent:
                if not entry.deleted:
                    raise RegistryRequestError(
                        ErrorCode.VERSION_NOT_SOFT_DELETED,
                        f"Subject '{subject}' Version {entry.version} was not deleted first "
                        "before being permanently deleted",
                    )
                store.write(IdWatermark(max_id))
                store.write(_tombstone(record))
            else:
                store.write(_soft_deleted(record))
            return entry.version

    # --- helpers (callers hold state_lock) -------------------------------------------------

    def _refuse_if_referenced(self, entry: SubjectVersion, *, permanent: bool) -> None:
        """42206 when another schema references this version: live ones block a soft delete,
        soft-deleted ones too block a hard delete (they could be restored)."""
        users = [
            v
            for v in self.store.state.referenced_by(entry.subject, entry.version)
            if permanent or not v.deleted
        ]
        if users:
            by = ", ".join(f"{v.subject} version {v.version}" for v in users)
            raise RegistryRequestError(
                ErrorCode.REFERENCE_EXISTS,
                f"One or more references exist to the schema {{subject={entry.subject},"
                f"version={entry.version}}}: {by}",
            )

    def _refuse_if_read_only(self, subject: str | None) -> None:
        with self.store.state_lock:
            refuse_if_read_only(self.store.state.modes, subject)

    def _require_subject(self, subject: str, *, deleted: bool) -> None:
        if not self.store.state.versions(subject, deleted=deleted):
            raise subject_not_found(subject)

    def _entry(self, subject: str, wanted: int, *, deleted: bool) -> SubjectVersion:
        state = self.store.state
        self._require_subject(subject, deleted=deleted)
        candidates = state.versions(subject, deleted=deleted)
        if wanted == LATEST:
            return candidates[-1]
        for entry in candidates:
            if entry.version == wanted:
                return entry
        every = state.subjects.get(subject, {})
        if wanted in every and every[wanted].deleted:
            raise RegistryRequestError(
                ErrorCode.VERSION_SOFT_DELETED,
                f"Subject '{subject}' Version {wanted} was soft deleted. Set permanent=true "
                "to delete permanently",
            )
        raise version_not_found(subject, wanted)

    def _version_with(
        self, subject: str, fingerprint: str, *, deleted: bool
    ) -> SubjectVersion | None:
        state = self.store.state
        schema_id = state.by_fingerprint.get(fingerprint)
        if schema_id is None:
            return None
        matches = [v for v in state.versions(subject, deleted=deleted) if v.schema_id == schema_id]
        return matches[-1] if matches else None

    def _provided(self, references: Sequence[Reference]) -> dict[str, Json]:
        """The types ``references`` name (and the types their schemas reference in turn), by
        full name; 42201 when a referenced subject version does not exist."""
        state = self.store.state
        documents: dict[Reference, Json] = {}
        pending = list(references)
        seen: set[tuple[str, int]] = set()
        while pending:
            reference = pending.pop(0)
            key = (reference.subject, reference.version)
            if key in seen:
                continue
            seen.add(key)
            entry = state.subjects.get(reference.subject, {}).get(reference.version)
            if entry is None:
                raise invalid_schema(
                    f"reference {reference.name}: subject {reference.subject!r} has no version "
                    f"{reference.version}"
                )
            stored = state.schemas[entry.schema_id]
            documents[reference] = _document(stored)
            pending.extend(stored.references)
        return provided_types(documents)

    def _expanded(self, schema_id: int) -> str:
        """A stored schema with its referenced types in place (its text when it has none)."""
        stored = self.store.state.schemas[schema_id]
        if not stored.references:
            return stored.text
        try:
            whole = expand(_document(stored), self._provided(stored.references))
            return json.dumps(whole, separators=(",", ":"))
        except RecursionError:
            raise invalid_schema(f"stored schema {schema_id} nests too deeply") from None

    def _inherit(self, subject: str, candidate: Candidate) -> Candidate:
        """``candidate`` with the latest live version's metadata and rules where it has none."""
        if candidate.metadata is not None and candidate.rule_set is not None:
            return candidate
        live = self.store.state.versions(subject)
        if not live:
            return candidate
        latest = self.store.state.schemas[live[-1].schema_id]
        return candidate.inheriting(latest.metadata, latest.rule_set)

    def _registered(self, entry: SubjectVersion) -> RegisteredVersion:
        stored = self.store.state.schemas[entry.schema_id]
        return RegisteredVersion(
            entry.subject,
            entry.version,
            entry.schema_id,
            stored.text,
            stored.metadata,
            stored.rule_set,
            stored.references,
        )

    def _record(self, entry: SubjectVersion) -> SchemaRecord:
        stored = self.store.state.schemas[entry.schema_id]
        return SchemaRecord(
            entry.subject,
            entry.version,
            entry.schema_id,
            stored.fingerprint,
            stored.text,
            entry.deleted,
            stored.metadata,
            stored.rule_set,
            stored.references,
        )

    def _level(self, subject: str) -> CompatibilityMode:
        configs = self.store.state.configs
        return configs.get(subject) or configs.get(None) or self.default_level


@dataclass(frozen=True, slots=True)
class _Claim:
    """A schema record to claim, and what it must be compatible with first (``level`` None:
    nothing, as in IMPORT)."""

    record: SchemaRecord
    expanded: str  # the record's schema with its references in place
    level: CompatibilityMode | None
    previous: tuple[str, ...]
    versions: tuple[int, ...]


def _new_record(subject: str, version: int, schema_id: int, candidate: Candidate) -> SchemaRecord:
    return SchemaRecord(
        subject,
        version,
        schema_id,
        candidate.fingerprint,
        candidate.schema.text,
        metadata=candidate.metadata,
        rule_set=candidate.rule_set,
        references=candidate.references,
    )


def _document(stored: StoredSchema) -> Json:
    """A stored schema's JSON. Every schema was checked when registered, but the topic is
    readable by others: a record that is not JSON is an invalid schema (42201), not a 500."""
    try:
        return json.loads(stored.text)
    except (ValueError, RecursionError):
        raise invalid_schema(f"stored schema {stored.schema_id} is not JSON") from None


def _soft_deleted(record: SchemaRecord) -> SchemaRecord:
    return replace(record, deleted=True)


def _tombstone(record: SchemaRecord) -> SchemaTombstone:
    return SchemaTombstone(record.subject, record.version, record.schema_id, record.fingerprint)
