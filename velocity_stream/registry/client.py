"""Talking to any Confluent-compatible registry over HTTP, and the serde's cached resolver.

:class:`RegistryClient` is a thin typed wrapper over the REST API (httpx). The resolver on top of
it caches by id and by (subject, schema), so after the first message of a schema the serde's hot
path makes no HTTP call, and a registry outage does not stop decoding of ids already seen.
"""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from velocity_stream.errors import ReasonCode, SerdeError
from velocity_stream.kafka.security import registry_auth, registry_ssl_context
from velocity_stream.registry.canonical import identity_form
from velocity_stream.registry.errors import ErrorCode, RegistryRequestError
from velocity_stream.registry.references import (
    Reference,
    expand,
    parse_references,
    provided_types,
)
from velocity_stream.settings import Settings

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
DEFAULT_URL = "http://127.0.0.1:8081"
_ACCEPT = f"{CONTENT_TYPE}, application/vnd.schemaregistry+json, application/json"


class RegistryUnavailable(RegistryRequestError):
    """The registry could not be reached or answered with a server error."""


@dataclass(frozen=True, slots=True)
class CompatibilityCheck:
    is_compatible: bool
    messages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SubjectSchema:
    subject: str
    version: int
    schema_id: int
    schema: str


class RegistryClient:
    """Confluent Schema Registry REST calls; refusals raise :class:`RegistryRequestError`."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        timeout: float = 10.0,
        auth: tuple[str, str] | None = None,
        verify: ssl.SSLContext | bool = True,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        """``http`` replaces the whole HTTP client (tests pass FastAPI's in-process one)."""
        self.url = url.rstrip("/")
        self._http = http or httpx.Client(
            base_url=self.url,
            timeout=timeout,
            auth=auth,
            verify=verify,
            transport=transport,
            headers={"Accept": _ACCEPT},
        )

    @classmethod
    def from_settings(cls, settings: Settings, url: str | None = None) -> RegistryClient:
        """A client for ``url``, else the configured registry, else the local default."""
        return cls(
            url or settings.schema_registry_url or DEFAULT_URL,
            auth=registry_auth(settings),
            verify=registry_ssl_context(settings),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- the REST calls --------------------------------------------------------------------

    def register(
        self, subject: str, schema: str, *, metadata: dict[str, object] | None = None
    ) -> int:
        """Register ``schema`` (with Confluent ``metadata`` when given) and return its id."""
        body: dict[str, object] = {"schema": schema}
        if metadata is not None:
            body["metadata"] = metadata
        answer = self._call("POST", f"/subjects/{_path(subject)}/versions", body)
        return int(answer["id"])

    def lookup(
        self, subject: str, schema: str, *, metadata: dict[str, object] | None = None
    ) -> SubjectSchema | None:
        """The version of ``subject`` holding ``schema``; None when the subject lacks it."""
        body: dict[str, object] = {"schema": schema}
        if metadata is not None:
            body["metadata"] = metadata
        try:
            answer = self._call("POST", f"/subjects/{_path(subject)}", body)
        except RegistryRequestError as error:
            if error.error_code in (ErrorCode.SUBJECT_NOT_FOUND, ErrorCode.SCHEMA_NOT_FOUND):
                return None
            raise
        return SubjectSchema(
            str(answer["subject"]), int(answer["version"]), int(answer["id"]), answer["schema"]
        )

    def schema_by_id(self, schema_id: int) -> str:
        """The schema with this id, its referenced types in place when it has references (so
        a reader can parse it on its own)."""
        answer = self._call("GET", f"/schemas/ids/{schema_id}")
        text = str(answer["schema"])
        references = answer.get("references")
        return self._resolved(text, references) if references else text

    def _resolved(self, text: str, references: object) -> str:
        """``text`` expanded with the types its references name, fetched (with theirs)."""
        documents: dict[Reference, Any] = {}
        pending = list(parse_references(references))
        seen: set[tuple[str, int]] = set()
        while pending:
            reference = pending.pop(0)
            if (reference.subject, reference.version) in seen:
                continue
            seen.add((reference.subject, reference.version))
            path = f"/subjects/{_path(reference.subject)}/versions/{reference.version}"
            answer = self._call("GET", path)
            documents[reference] = json.loads(answer["schema"])
            pending.extend(parse_references(answer.get("references")))
        whole = expand(json.loads(text), provided_types(documents))
        return json.dumps(whole, separators=(",", ":"))

    def version(self, subject: str, version: int | str) -> SubjectSchema:
        answer = self._call("GET", f"/subjects/{_path(subject)}/versions/{version}")
        return SubjectSchema(
            str(answer["subject"]), int(answer["version"]), int(answer["id"]), answer["schema"]
        )

    def subjects(self) -> list[str]:
        return [str(s) for s in self._call("GET", "/subjects")]

    def versions(self, subject: str) -> list[int]:
        return [int(v) for v in self._call("GET", f"/subjects/{_path(subject)}/versions")]

    def get_compatibility(self, subject: str | None = None) -> str | None:
        """The subject's own level (None when it has none), or the global one."""
        path = "/config" if subject is None else f"/config/{_path(subject)}"
        try:
            return str(self._call("GET", path)["compatibilityLevel"])
        except RegistryRequestError as error:
            if error.error_code in (
                ErrorCode.SUBJECT_NOT_FOUND,
                ErrorCode.SUBJECT_COMPATIBILITY_NOT_CONFIGURED,
            ):
                return None
            raise

    def set_compatibility(self, subject: str | None, level: str) -> str:
        path = "/config" if subject is None else f"/config/{_path(subject)}"
        return str(self._call("PUT", path, {"compatibility": level})["compatibility"])

    def test_compatibility(
        self, subject: str, schema: str, version: str | int | None = "latest"
    ) -> CompatibilityCheck:
        """Would ``schema`` be accepted? ``version`` None tests every version the level asks."""
        path = f"/compatibility/subjects/{_path(subject)}/versions"
        if version is not None:
            path += f"/{version}"
        try:
            answer = self._call("POST", f"{path}?verbose=true", {"schema": schema})
        except RegistryRequestError as error:
            if error.error_code == ErrorCode.SUBJECT_NOT_FOUND:
                return CompatibilityCheck(True, ())  # nothing to be compatible with yet
            raise
        messages = answer.get("messages") or ()
        return CompatibilityCheck(bool(answer["is_compatible"]), tuple(str(m) for m in messages))

    # --- any other call, for tools that walk the API (the importer) ------------------------

    def get_json(self, path: str) -> Any:
        return self._call("GET", path)

    def post_json(self, path: str, body: dict[str, object]) -> Any:
        return self._call("POST", path, body)

    def put_json(self, path: str, body: dict[str, object]) -> Any:
        return self._call("PUT", path, body)

    def delete_json(self, path: str) -> Any:
        return self._call("DELETE", path)

    def _call(self, method: str, path: str, body: dict[str, object] | None = None) -> Any:
        content = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": CONTENT_TYPE} if body is not None else None
        try:
            response = self._http.request(method, path, content=content, headers=headers)
        except httpx.HTTPError as error:
            raise RegistryUnavailable(
                ErrorCode.STORE_ERROR, f"registry {self.url} unreachable: {error}", http_status=503
            ) from error
        if response.is_success:
            return response.json() if response.content else None
        try:
            body_json = response.json()
            code = int(body_json.get("error_code", response.status_code))
            message = str(body_json.get("message", response.text))
        except (ValueError, AttributeError, TypeError):
            code, message = response.status_code, response.text[:500]
        kind = RegistryUnavailable if response.status_code >= 500 else RegistryRequestError
        raise kind(code, message, http_status=response.status_code)


def _path(segment: str) -> str:
    return quote(segment, safe="")


class RegistrySchemaResolver:
    """The serde's :class:`~velocity_stream.serde.resolver.SchemaResolver`, backed by a registry.

    Caches every schema by id and every id by (subject, schema text) and by (subject, identity
    form), so equal schemas spelled differently share one entry. Entries never expire: a schema
    id is immutable in every Confluent-compatible registry.
    """

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._by_id: dict[int, str] = {}
        self._by_text: dict[tuple[str, str], int] = {}
        self._by_identity: dict[tuple[str, str], int] = {}
        self.http_calls = 0

    def schema_by_id(self, schema_id: int) -> str:
        cached = self._by_id.get(schema_id)
        if cached is not None:
            return cached
        self.http_calls += 1
        try:
            text = self.client.schema_by_id(schema_id)
        except RegistryUnavailable as error:
            raise SerdeError(
                ReasonCode.DECODE_REGISTRY_UNAVAILABLE,
                f"schema id {schema_id} is not cached and the registry failed: {error}",
            ) from None
        except RegistryRequestError as error:
            if error.error_code == ErrorCode.SCHEMA_NOT_FOUND:
                raise SerdeError(
                    ReasonCode.DECODE_UNKNOWN_SCHEMA_ID,
                    f"the registry has no schema with id {schema_id}",
                ) from None
            raise
        with self._lock:
            self._by_id[schema_id] = text
        return text

    def register(self, subject: str, schema: str) -> int:
        """The schema's id under ``subject``, registered on first use; RegistryError if refused."""
        cached = self._by_text.get((subject, schema))
        if cached is not None:
            return cached
        identity = identity_form(json.loads(schema))
        schema_id = self._by_identity.get((subject, identity))
        if schema_id is None:
            self.http_calls += 1
            schema_id = self.client.register(subject, schema)
        with self._lock:
            self._by_text[(subject, schema)] = schema_id
            self._by_identity[(subject, identity)] = schema_id
            # Our own messages decode without asking for what we just registered.
            self._by_id.setdefault(schema_id, schema)
        return schema_id

    def clear(self) -> None:
        """Forget everything (benchmarks measure the cold path with this)."""
        with self._lock:
            self._by_id.clear()
            self._by_text.clear()
            self._by_identity.clear()
