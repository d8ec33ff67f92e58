"""Bounded requests in the registry: 413 in Confluent's shape, from Content-Length before the
body is read or once a streamed body passes the limit; the largest schema still fits."""

from __future__ import annotations

import json

import pytest

from tests.asgi import call
from velocity_stream.errors import ConfigError
from velocity_stream.registry.api import CONTENT_TYPE, create_app, default_max_body_bytes
from velocity_stream.registry.service import RegistryService
from velocity_stream.registry.store import memory_store

MAX_SCHEMA = 4096
HEADERS = {"content-type": CONTENT_TYPE}


def service() -> RegistryService:
    return RegistryService(memory_store(), max_schema_bytes=MAX_SCHEMA)


def test_the_default_limit_fits_the_largest_schema_escaped() -> None:
    assert default_max_body_bytes(MAX_SCHEMA) == 2 * MAX_SCHEMA + 64 * 1024


def test_content_length_over_the_limit_is_413_before_reading() -> None:
    app = create_app(service(), max_body_bytes=10_000)
    headers = {**HEADERS, "content-length": str(200 * 1024 * 1024)}
    answer = call(app, "POST", "/subjects/s/versions", [b"{}"], headers)
    assert answer.status == 413
    assert answer.headers["content-type"] == CONTENT_TYPE
    body = answer.json()
    assert body["error_code"] == 413
    assert "at most 10000 bytes" in body["message"]
    assert answer.pulled == 0


def test_a_chunked_body_over_the_limit_is_413_without_reading_the_rest() -> None:
    app = create_app(service(), max_body_bytes=10_000)
    answer = call(app, "POST", "/subjects/s/versions", [b" " * 4000] * 100, HEADERS)
    assert (answer.status, answer.json()["error_code"], answer.pulled) == (413, 413, 3)
    assert answer.responses == 1


def test_a_lying_content_length_is_413_by_the_count() -> None:
    app = create_app(service(), max_body_bytes=10_000)
    headers = {**HEADERS, "content-length": "2"}
    answer = call(app, "PUT", "/config", [b"{}", b" " * 20_000], headers)
    assert (answer.status, answer.json()["error_code"], answer.pulled) == (413, 413, 2)


def test_the_largest_schema_registers_under_the_default_limit() -> None:
    app = create_app(service())
    schema = {"type": "record", "name": "Big", "doc": "", "fields": []}
    schema["doc"] = "a" * (MAX_SCHEMA - len(json.dumps(schema)))
    text = json.dumps(schema)
    assert len(text) == MAX_SCHEMA
    body = json.dumps({"schema": text}).encode()
    assert len(body) > MAX_SCHEMA
    answer = call(app, "POST", "/subjects/s/versions", [body[:3000], body[3000:]], HEADERS)
    assert (answer.status, answer.json()) == (200, {"id": 1})


def test_a_limit_below_the_largest_schema_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="VELOCITY_REGISTRY_MAX_BODY_BYTES"):
        create_app(service(), max_body_bytes=MAX_SCHEMA - 1)
