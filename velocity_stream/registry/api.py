"""HTTP routes of the Confluent Schema Registry REST API (Avro), over :class:`RegistryService`.

Routes only parse the request and shape the answer; every decision is the service's. Every error
leaves as Confluent's ``{"error_code": N, "message": ...}``, with the content type Confluent
clients expect; bad input is a 4xx, never a 500. Path segments and media types are judged as
Confluent judges them (media.py): ``a%2Fb`` is the subject ``a/b``, a body that is not JSON-typed
is 415, an ``Accept`` we cannot answer 406.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from velocity_stream import __version__
from velocity_stream.errors import ConfigError
from velocity_stream.http.limits import BodyLimit
from velocity_stream.kafka.reachability import kafka_health
from velocity_stream.registry.answers import contract_fields
from velocity_stream.registry.datacontract import has_rule_of_type
from velocity_stream.registry.errors import ErrorCode, RegistryRequestError
from velocity_stream.registry.media import V1_JSON, MediaRoute, RawPath
from velocity_stream.registry.service import RegistryService
from velocity_stream.registry.store import StoreError
from velocity_stream.registry.submission import Submission

log = logging.getLogger(__name__)
T = TypeVar("T")
_INT = re.compile(r"-?[0-9]{1,10}")

CONTENT_TYPE = V1_JSON
# Path parameters: one segment each, percent-decoded once (so a%2Fb is the subject "a/b").
SUBJECT = "{subject:registry_segment}"
VERSION = "{version:registry_segment}"
SCHEMA_ID = "{schema_id:registry_segment}"
_SCHEMA_BODY = {
    "required": True,
    "content": {
        CONTENT_TYPE: {
            "schema": {
                "type": "object",
                "required": ["schema"],
                "properties": {
                    "schema": {"type": "string", "description": "the Avro schema as JSON text"},
                    "schemaType": {"type": "string", "enum": ["AVRO"]},
                    "references": {
                        "type": "array",
                        "description": "named types defined in other subjects",
                        "items": {
                            "type": "object",
                            "required": ["name", "subject", "version"],
                            "properties": {
                                "name": {"type": "string", "description": "full type name"},
                                "subject": {"type": "string"},
                                "version": {"type": "integer", "minimum": 1},
                            },
                        },
                    },
                    "id": {"type": "integer", "description": "IMPORT mode: the id to keep"},
                    "version": {"type": "integer", "description": "IMPORT mode: the version"},
                    "metadata": {
                        "type": "object",
                        "description": "tags, properties and sensitive names (data contract)",
                    },
                    "ruleSet": {
                        "type": "object",
                        "description": "migrationRules, domainRules and encodingRules",
                    },
                },
            }
        }
    },
}
_CONFIG_BODY = {
    "required": True,
    "content": {
        CONTENT_TYPE: {
            "schema": {
                "type": "object",
                "required": ["compatibility"],
                "properties": {"compatibility": {"type": "string"}},
            }
        }
    },
}


class RegistryJSONResponse(JSONResponse):
    media_type = CONTENT_TYPE


def _error(status: int, code: int, message: str) -> RegistryJSONResponse:
    return RegistryJSONResponse({"error_code": code, "message": message}, status_code=status)


def default_max_body_bytes(max_schema_bytes: int) -> int:
    """Room for the largest schema JSON-escaped inside a request (about twice its size), plus
    64 KiB for the rest of the body."""
    return max_schema_bytes * 2 + 64 * 1024


def create_app(service: RegistryService, *, max_body_bytes: int | None = None) -> FastAPI:
    """The registry as an ASGI app; FastAPI serves the OpenAPI document at /openapi.json.

    Request bodies over ``max_body_bytes`` (default :func:`default_max_body_bytes`) are
    refused with 413 before they are read (:class:`~velocity_stream.http.limits.BodyLimit`).
    """
    body_limit = (
        default_max_body_bytes(service.max_schema_bytes)
        if max_body_bytes is None
        else max_body_bytes
    )
    if body_limit < service.max_schema_bytes:
        raise ConfigError(
            f"VELOCITY_REGISTRY_MAX_BODY_BYTES ({body_limit}) is smaller than the largest schema "
            f"the registry accepts ({service.max_schema_bytes} bytes)"
        )

    app = FastAPI(
        title="Velocity Stream schema registry",
        version=__version__,
        description="Confluent Schema Registry REST API for Avro, enforcing Velocity Stream's "
        "compatibility engine. State lives in a compacted Kafka topic.",
        default_response_class=RegistryJSONResponse,
    )
    # Media types are judged once a route matched (MediaRoute): an unknown path stays a 404.
    app.router.route_class = MediaRoute

    def too_large(scope: Scope, limit: int, declared: int | None) -> RegistryJSONResponse:
        size = f" (this one is {declared} bytes)" if declared is not None else ""
        return _error(
            413,
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"Request entity too large: request bodies are at most {limit} bytes{size}; "
            f"schemas at most {service.max_schema_bytes}",
        )

    app.add_middleware(BodyLimit, max_bytes=body_limit, refuse=too_large)
    app.add_middleware(RawPath)

    @app.exception_handler(RegistryRequestError)
    async def _refused(request: Request, error: RegistryRequestError) -> RegistryJSONResponse:
        return _error(error.http_status, error.error_code, error.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> RegistryJSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in error.errors()
        )
        return _error(422, ErrorCode.UNPROCESSABLE, f"Unprocessable entity: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> RegistryJSONResponse:
        message = f"HTTP {error.status_code} {error.detail}"
        return _error(error.status_code, error.status_code, message)

    @app.exception_handler(StoreError)
    async def _store(request: Request, error: StoreError) -> RegistryJSONResponse:
        log.error("registry store failure on %s %s: %s", request.method, request.url.path, error)
        return _error(500, ErrorCode.STORE_ERROR, f"Error in the backend data store: {error}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> RegistryJSONResponse:
        log.exception("unexpected registry failure on %s %s", request.method, request.url.path)
        return _error(500, ErrorCode.STORE_ERROR, f"Internal error: {type(error).__name__}")

    async def json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()  # bounded: BodyLimit refuses bodies over body_limit
        try:
            data = json.loads(raw) if raw.strip() else None
        except (ValueError, RecursionError) as error:
            raise RegistryRequestError(
                ErrorCode.UNPROCESSABLE,
                f"Unprocessable entity: the request body is not JSON: {error}",
            ) from None
        if not isinstance(data, dict):
            raise RegistryRequestError(
                ErrorCode.UNPROCESSABLE, "The request body must be a JSON object"
            )
        return data

    Body = Depends(json_body)

    # --- root, subjects and versions -------------------------------------------------------

    @app.get("/", summary="Root: an empty object, as Confluent's registry answers")
    def root() -> dict[str, object]:
        return {}

    @app.get("/healthz", summary="Up; 503 with the reason while its Kafka does not answer")
    def healthz() -> RegistryJSONResponse:
        problem = kafka_health()
        if problem is not None:
            return RegistryJSONResponse(
                {"status": "kafka_unreachable", "reason": problem}, status_code=503
            )
        return RegistryJSONResponse({"status": "ok"})

    @app.get("/subjects", summary="List subjects")
    def list_subjects(
        deleted: bool = False, subject_prefix: str = Query("", alias="subjectPrefix")
    ) -> list[str]:
        return service.subjects(deleted=deleted, prefix=subject_prefix)

    @app.get(f"/subjects/{SUBJECT}/versions", summary="List a subject's versions")
    def list_versions(subject: str, deleted: bool = False) -> list[int]:
        return service.versions(subject, deleted=deleted)

    @app.get(f"/subjects/{SUBJECT}/versions/{VERSION}", summary="One version of a subject")
    def get_version(subject: str, version: str, deleted: bool = False) -> dict[str, object]:
        return service.version(subject, version, deleted=deleted).to_json()

    @app.get(
        f"/subjects/{SUBJECT}/versions/{VERSION}/referencedby",
        summary="Ids of the schemas that reference this version",
    )
    def referenced_by(subject: str, version: str) -> list[int]:
        return service.referenced_by(subject, version)

    @app.get(
        f"/subjects/{SUBJECT}/metadata",
        summary="The latest version whose metadata properties match every key=value given",
    )
    def latest_with_metadata(
        subject: str,
        key: Annotated[list[str] | None, Query()] = None,
        value: Annotated[list[str] | None, Query()] = None,
        deleted: bool = False,
    ) -> dict[str, object]:
        key, value = key or [], value or []
        if len(key) != len(value):
            raise RegistryRequestError(
                ErrorCode.UNPROCESSABLE,
                f"Unprocessable entity: {len(key)} key(s) but {len(value)} value(s)",
            )
        pairs = list(zip(key, value, strict=True))
        return service.latest_with_metadata(subject, pairs, deleted=deleted).to_json()

    @app.get(f"/subjects/{SUBJECT}/versions/{VERSION}/schema", summary="A version's raw schema")
    def get_version_schema(subject: str, version: str, deleted: bool = False) -> Any:
        return json.loads(service.version(subject, version, deleted=deleted).schema)

    @app.post(
        f"/subjects/{SUBJECT}/versions",
        summary="Register a schema (the same schema again returns the same id)",
        openapi_extra={"requestBody": _SCHEMA_BODY},
    )
    def register(
        subject: str, normalize: bool = False, body: dict[str, Any] = Body
    ) -> dict[str, object]:
        # normalize is accepted and implied: identity is always the canonical form.
        registered = service.register(subject, Submission.from_body(body))
        return {"id": registered.schema_id}

    @app.post(
        f"/subjects/{SUBJECT}",
        summary="Look a schema up under a subject",
        openapi_extra={"requestBody": _SCHEMA_BODY},
    )
    def lookup(
        subject: str, deleted: bool = False, normalize: bool = False, body: dict[str, Any] = Body
    ) -> dict[str, object]:
        found = service.lookup(subject, Submission.from_body(body), deleted=deleted)
        return found.to_json()

    @app.delete(f"/subjects/{SUBJECT}", summary="Delete a subject (soft, or hard with permanent)")
    def delete_subject(subject: str, permanent: bool = False) -> list[int]:
        return service.delete_subject(subject, permanent=permanent)

    @app.delete(f"/subjects/{SUBJECT}/versions/{VERSION}", summary="Delete one version")
    def delete_version(subject: str, version: str, permanent: bool = False) -> int:
        return service.delete_version(subject, version, permanent=permanent)

    # --- schemas by id ---------------------------------------------------------------------

    @app.get("/schemas/types", summary="Supported schema types")
    def schema_types() -> list[str]:
        return ["AVRO"]

    @app.get(
        "/schemas",
        summary="Schemas of every subject version (subjectPrefix, latestOnly, ruleType, paging)",
    )
    def list_schemas(
        subject_prefix: str = Query("", alias="subjectPrefix"),
        deleted: bool = False,
        latest_only: bool = Query(False, alias="latestOnly"),
        rule_type: str = Query("", alias="ruleType"),
        offset: int = 0,
        limit: int = -1,
    ) -> list[dict[str, object]]:
        found = service.schemas(prefix=subject_prefix, deleted=deleted, latest_only=latest_only)
        if rule_type:
            found = [v for v in found if has_rule_of_type(v.rule_set, rule_type)]
        return [version.to_json() for version in _page(found, offset, limit)]

    @app.get(f"/schemas/ids/{SCHEMA_ID}", summary="A schema by its global id")
    def schema_by_id(schema_id: str, subject: str | None = None) -> dict[str, object]:
        stored = service.schema_by_id(_schema_id(schema_id))
        return {"schema": stored.text} | contract_fields(
            stored.metadata, stored.rule_set, stored.references
        )

    @app.get(f"/schemas/ids/{SCHEMA_ID}/schema", summary="A raw schema by its global id")
    def raw_schema_by_id(schema_id: str, subject: str | None = None) -> Any:
        return json.loads(service.schema_by_id(_schema_id(schema_id)).text)

    @app.get(f"/schemas/ids/{SCHEMA_ID}/subjects", summary="Subjects that use a schema id")
    def subjects_of_id(
        schema_id: str,
        subject: str | None = None,
        deleted: bool = False,
        offset: int = 0,
        limit: int = -1,
    ) -> list[str]:
        usages = service.usages(_schema_id(schema_id), subject=subject, deleted=deleted)
        return _page(sorted({name for name, _ in usages}), offset, limit)

    @app.get(f"/schemas/ids/{SCHEMA_ID}/versions", summary="Subject versions that use a schema id")
    def versions_of_id(
        schema_id: str,
        subject: str | None = None,
        deleted: bool = False,
        offset: int = 0,
        limit: int = -1,
    ) -> list[dict[str, object]]:
        usages = service.usages(_schema_id(schema_id), subject=subject, deleted=deleted)
        return [
            {"subject": name, "version": version} for name, version in _page(usages, offset, limit)
        ]

    # --- compatibility ---------------------------------------------------------------------

    def _answer(verbose: bool, compatible: bool, messages: tuple[str, ...]) -> dict[str, object]:
        answer: dict[str, object] = {"is_compatible": compatible}
        if verbose:
            answer["messages"] = list(messages)
        return answer

    @app.post(
        f"/compatibility/subjects/{SUBJECT}/versions/{VERSION}",
        summary="Test a schema against one version (verbose=true adds the engine's messages)",
        openapi_extra={"requestBody": _SCHEMA_BODY},
    )
    def check_version(
        subject: str,
        version: str,
        verbose: bool = False,
        normalize: bool = False,
        body: dict[str, Any] = Body,
    ) -> dict[str, object]:
        result = service.check(subject, Submission.from_body(body), version)
        return _answer(verbose, result.is_compatible, result.messages)

    @app.post(
        f"/compatibility/subjects/{SUBJECT}/versions",
        summary="Test a schema against every version the subject's level asks for",
        openapi_extra={"requestBody": _SCHEMA_BODY},
    )
    def check_all(
        subject: str, verbose: bool = False, normalize: bool = False, body: dict[str, Any] = Body
    ) -> dict[str, object]:
        result = service.check(subject, Submission.from_body(body), None)
        return _answer(verbose, result.is_compatible, result.messages)

    # --- config and mode -------------------------------------------------------------------

    @app.get("/config", summary="Global compatibility level")
    def get_global_config() -> dict[str, object]:
        return {"compatibilityLevel": service.get_config(None)}

    @app.put("/config", summary="Set the global level", openapi_extra={"requestBody": _CONFIG_BODY})
    def put_global_config(body: dict[str, Any] = Body) -> dict[str, object]:
        return {"compatibility": service.set_config(None, body.get("compatibility"))}

    @app.delete("/config", summary="Reset the global level to the default")
    def delete_global_config() -> dict[str, object]:
        return {"compatibilityLevel": service.delete_config(None)}

    @app.get(f"/config/{SUBJECT}", summary="A subject's compatibility level")
    def get_subject_config(
        subject: str, default_to_global: bool = Query(False, alias="defaultToGlobal")
    ) -> dict[str, object]:
        level = service.get_config(subject, default_to_global=default_to_global)
        return {"compatibilityLevel": level}

    @app.put(
        f"/config/{SUBJECT}",
        summary="Set a subject's level",
        openapi_extra={"requestBody": _CONFIG_BODY},
    )
    def put_subject_config(subject: str, body: dict[str, Any] = Body) -> dict[str, object]:
        return {"compatibility": service.set_config(subject, body.get("compatibility"))}

    @app.delete(f"/config/{SUBJECT}", summary="Remove a subject's level (it falls back to global)")
    def delete_subject_config(subject: str) -> dict[str, object]:
        return {"compatibilityLevel": service.delete_config(subject)}

    @app.get("/mode", summary="The global mode")
    def get_mode() -> dict[str, object]:
        return {"mode": service.get_mode(None)}

    @app.get(f"/mode/{SUBJECT}", summary="A subject's mode (40409 when it has none of its own)")
    def get_subject_mode(
        subject: str, default_to_global: bool = Query(False, alias="defaultToGlobal")
    ) -> dict[str, object]:
        return {"mode": service.get_mode(subject, default_to_global=default_to_global)}

    @app.put("/mode", summary="Set the global mode (IMPORT needs an empty registry or force)")
    def put_mode(force: bool = False, body: dict[str, Any] = Body) -> dict[str, object]:
        return {"mode": service.set_mode(None, body.get("mode"), force=force)}

    @app.put(f"/mode/{SUBJECT}", summary="Set a subject's mode (IMPORT needs it empty or force)")
    def put_subject_mode(
        subject: str, force: bool = False, body: dict[str, Any] = Body
    ) -> dict[str, object]:
        return {"mode": service.set_mode(subject, body.get("mode"), force=force)}

    @app.delete(f"/mode/{SUBJECT}", summary="Remove a subject's mode (it follows the global)")
    def delete_subject_mode(subject: str) -> dict[str, object]:
        return {"mode": service.delete_mode(subject)}

    return app


def _schema_id(text: str) -> int:
    """A schema id path segment. Confluent's is a Java int: anything else matches no route."""
    if not _INT.fullmatch(text) or not -(2**31) <= int(text) < 2**31:
        raise RegistryRequestError(ErrorCode.NOT_FOUND, "HTTP 404 Not Found")
    return int(text)


def _page(items: list[T], offset: int, limit: int) -> list[T]:
    """Confluent's paging: skip ``offset`` items, then at most ``limit`` (negative: all)."""
    start = max(offset, 0)
    return items[start:] if limit < 0 else items[start : start + limit]
