"""Confluent Schema Registry error codes and the one exception that carries them.

The service raises :class:`RegistryRequestError` for every refusal; the HTTP layer turns it into
Confluent's body ``{"error_code": N, "message": ...}`` and the client turns such a body back into
the same exception, so both sides of the wire speak one vocabulary.
"""

from __future__ import annotations

from enum import IntEnum

from velocity_stream.errors import RegistryError


class ErrorCode(IntEnum):
    """Confluent's error codes; the HTTP status is the first three digits."""

    SUBJECT_NOT_FOUND = 40401
    VERSION_NOT_FOUND = 40402
    SCHEMA_NOT_FOUND = 40403
    SUBJECT_SOFT_DELETED = 40404
    SUBJECT_NOT_SOFT_DELETED = 40405
    VERSION_SOFT_DELETED = 40406
    VERSION_NOT_SOFT_DELETED = 40407
    SUBJECT_COMPATIBILITY_NOT_CONFIGURED = 40408
    SUBJECT_MODE_NOT_CONFIGURED = 40409
    NOT_FOUND = 404  # no such route
    METHOD_NOT_ALLOWED = 405
    NOT_ACCEPTABLE = 406  # the Accept header admits none of the registry's media types
    INCOMPATIBLE_SCHEMA = 409
    PAYLOAD_TOO_LARGE = 413  # the request body is over VELOCITY_REGISTRY_MAX_BODY_BYTES
    UNSUPPORTED_MEDIA_TYPE = 415  # a request body in a media type the registry does not read
    UNPROCESSABLE = 422  # the body is not JSON, or not a JSON object
    INVALID_SCHEMA = 42201
    INVALID_VERSION = 42202
    INVALID_COMPATIBILITY_LEVEL = 42203
    INVALID_MODE = 42204
    OPERATION_NOT_PERMITTED = 42205
    REFERENCE_EXISTS = 42206
    ID_DOES_NOT_MATCH = 42207
    INVALID_SUBJECT = 42208
    INVALID_RULESET = 42210
    STORE_ERROR = 50001
    STORE_TIMEOUT = 50002

    @property
    def http_status(self) -> int:
        return int(str(self.value)[:3])


class RegistryRequestError(RegistryError):
    """A request the registry refused, with Confluent's error code and message."""

    def __init__(self, code: ErrorCode | int, message: str, *, http_status: int | None = None):
        self.error_code = int(code)
        self.http_status = http_status or int(str(self.error_code)[:3])
        self.message = message
        super().__init__(f"{self.error_code}: {message}")

    def body(self) -> dict[str, object]:
        return {"error_code": self.error_code, "message": self.message}


def subject_not_found(subject: str) -> RegistryRequestError:
    return RegistryRequestError(ErrorCode.SUBJECT_NOT_FOUND, f"Subject '{subject}' not found.")


def version_not_found(subject: str, version: int | str) -> RegistryRequestError:
    return RegistryRequestError(
        ErrorCode.VERSION_NOT_FOUND, f"Version {version} not found for subject '{subject}'."
    )


def schema_not_found(detail: str = "Schema not found") -> RegistryRequestError:
    return RegistryRequestError(ErrorCode.SCHEMA_NOT_FOUND, detail)


def invalid_schema(detail: str) -> RegistryRequestError:
    return RegistryRequestError(ErrorCode.INVALID_SCHEMA, f"Invalid schema: {detail}")
