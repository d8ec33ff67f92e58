"""The REST API over an in-memory store: Confluent's shapes, codes and content type."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from velocity_stream.registry.api import CONTENT_TYPE, create_app
from velocity_stream.registry.service import RegistryService
from velocity_stream.registry.store import memory_store

V1 = {"type": "record", "name": "shop.Order", "fields": [{"name": "id", "type": "string"}]}
V2_COMPATIBLE = {
    "type": "record",
    "name": "shop.Order",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "note", "type": "string", "default": ""},
    ],
}
V2_BREAKING = {
    "type": "record",
    "name": "shop.Order",
    "fields": [{"name": "id", "type": "string"}, {"name": "qty", "type": "int"}],
}
HEADERS = {"Content-Type": CONTENT_TYPE}


@pytest.fixture
def api() -> Iterator[TestClient]:
    service = RegistryService(memory_store(), max_schema_bytes=4096)
    with TestClient(create_app(service), raise_server_exceptions=False) as client:
        yield client


def post(api: TestClient, path: str, schema: object) -> dict[str, object]:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    response = api.post(path, content=json.dumps({"schema": text}), headers=HEADERS)
    assert response.headers["content-type"] == CONTENT_TYPE
    body: dict[str, object] = {"status": response.status_code, **response.json()}
    return body


def test_register_then_read_back_by_subject_version_and_id(api: TestClient) -> None:
    assert post(api, "/subjects/orders-value/versions", V1) == {"status": 200, "id": 1}
    version = api.get("/subjects/orders-value/versions/latest").json()
    assert version == {
        "subject": "orders-value",
        "version": 1,
        "id": 1,
        "schema": json.dumps(V1, separators=(",", ":")),
    }
    assert api.get("/subjects/orders-value/versions/1/schema").json() == V1
    assert json.loads(api.get("/schemas/ids/1").json()["schema"]) == V1
    assert api.get("/schemas/ids/1/schema").json() == V1
    assert api.get("/subjects").json() == ["orders-value"]
    assert api.get("/schemas/ids/1/subjects").json() == ["orders-value"]
    assert api.get("/schemas/ids/1/versions").json() == [{"subject": "orders-value", "version": 1}]


def test_the_same_schema_spelled_differently_is_one_version_and_one_id(api: TestClient) -> None:
    post(api, "/subjects/orders-value/versions", V1)
    respelled = '{"fields":[{"type":"string","name":"id"}],  "type":"record","name":"Order",\n'
    respelled += ' "namespace":"shop", "doc":"docs never make a version"}'
    assert post(api, "/subjects/orders-value/versions", respelled)["id"] == 1
    assert post(api, "/subjects/other-value/versions", respelled)["id"] == 1
    assert api.get("/subjects/orders-value/versions").json() == [1]
    found = post(api, "/subjects/orders-value", respelled)
    assert (found["status"], found["version"], found["id"]) == (200, 1, 1)


def test_compatibility_check_answers_with_the_engines_messages(api: TestClient) -> None:
    post(api, "/subjects/orders-value/versions", V1)
    ok = post(
        api, "/compatibility/subjects/orders-value/versions/latest?verbose=true", V2_COMPATIBLE
    )
    assert ok == {"status": 200, "is_compatible": True, "messages": []}
    bad = post(api, "/compatibility/subjects/orders-value/versions/1?verbose=true", V2_BREAKING)
    assert bad["is_compatible"] is False
    messages = bad["messages"]
    assert isinstance(messages, list) and len(messages) == 1
    assert "reader_field_missing_default_value" in messages[0]
    assert "qty" in messages[0] and "version 1" in messages[0]
    terse = post(api, "/compatibility/subjects/orders-value/versions?verbose=false", V2_BREAKING)
    assert terse == {"status": 200, "is_compatible": False}


def test_an_incompatible_registration_is_409_with_the_reason(api: TestClient) -> None:
    post(api, "/subjects/orders-value/versions", V1)
    refused = post(api, "/subjects/orders-value/versions", V2_BREAKING)
    assert refused["status"] == 409 and refused["error_code"] == 409
    assert "reader_field_missing_default_value" in str(refused["message"])
    assert post(api, "/subjects/orders-value/versions", V2_COMPATIBLE)["id"] == 2


def test_subject_level_config_governs_and_falls_back_to_global(api: TestClient) -> None:
    assert api.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    missing = api.get("/config/orders-value")
    assert (missing.status_code, missing.json()["error_code"]) == (404, 40408)
    fallback = api.get("/config/orders-value?defaultToGlobal=true").json()
    assert fallback == {"compatibilityLevel": "BACKWARD"}
    put = api.put("/config/orders-value", json={"compatibility": "none"}, headers=HEADERS)
    assert put.json() == {"compatibility": "NONE"}
    post(api, "/subjects/orders-value/versions", V1)
    assert post(api, "/subjects/orders-value/versions", V2_BREAKING)["id"] == 2
    assert api.delete("/config/orders-value").json() == {"compatibilityLevel": "NONE"}
    assert api.get("/mode").json() == {"mode": "READWRITE"}


def test_soft_then_hard_delete_of_a_version_and_a_subject(api: TestClient) -> None:
    post(api, "/subjects/orders-value/versions", V1)
    post(api, "/subjects/orders-value/versions", V2_COMPATIBLE)
    hard_first = api.delete("/subjects/orders-value/versions/2?permanent=true")
    assert hard_first.json()["error_code"] == 40407
    assert api.delete("/subjects/orders-value/versions/2").json() == 2
    assert api.get("/subjects/orders-value/versions").json() == [1]
    assert api.get("/subjects/orders-value/versions?deleted=true").json() == [1, 2]
    assert api.get("/subjects/orders-value/versions/2").json()["error_code"] == 40406
    assert api.get("/schemas/ids/2").status_code == 200  # consumers still decode old data
    assert api.delete("/subjects/orders-value/versions/2?permanent=true").json() == 2
    assert api.get("/schemas/ids/2").json()["error_code"] == 40403

    assert api.delete("/subjects/orders-value?permanent=true").json()["error_code"] == 40405
    assert api.delete("/subjects/orders-value").json() == [1]
    assert api.delete("/subjects/orders-value").json()["error_code"] == 40404
    assert api.get("/subjects").json() == []
    assert api.get("/subjects?deleted=true").json() == ["orders-value"]
    assert api.delete("/subjects/orders-value?permanent=true").json() == [1]
    assert api.get("/subjects/orders-value/versions").json()["error_code"] == 40401
    # Ids are never reused, even after a hard delete.
    assert post(api, "/subjects/orders-value/versions", V2_BREAKING)["id"] == 3


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/subjects/s/versions", b"{not json", 422, 422),
        ("POST", "/subjects/s/versions", b"[1, 2]", 422, 422),
        ("POST", "/subjects/s/versions", b"{}", 422, 42201),
        ("POST", "/subjects/s/versions", b'{"schema": 5}', 422, 42201),
        ("POST", "/subjects/s/versions", b'{"schema": "{\\"type\\": \\"nope\\"}"}', 422, 42201),
        (
            "POST",
            "/subjects/s/versions",
            b'{"schema": "\\"int\\"", "schemaType": "JSON"}',
            422,
            42201,
        ),
        (
            "POST",
            "/subjects/s/versions",
            b'{"schema": "\\"int\\"", "references": [{}]}',
            422,
            42201,
        ),
        ("GET", "/subjects/unknown/versions", None, 404, 40401),
        ("GET", "/subjects/unknown/versions/1", None, 404, 40401),
        ("GET", "/subjects/s/versions/0", None, 422, 42202),
        ("GET", "/subjects/s/versions/abc", None, 422, 42202),
        ("GET", "/subjects/s/versions/99999999999", None, 422, 42202),
        ("GET", "/schemas/ids/999", None, 404, 40403),
        ("GET", "/schemas/ids/x", None, 404, 404),
        ("GET", "/schemas/ids/99999999999", None, 404, 404),
        ("GET", "/schemas/ids/999/versions", None, 404, 40403),
        ("GET", "/schemas/ids/999/subjects", None, 404, 40403),
        ("POST", "/subjects/%01bell/versions", b'{"schema": "\\"int\\""}', 422, 42208),
        ("PUT", "/config", b'{"compatibility": "SOMETIMES"}', 422, 42203),
        ("PUT", "/config/s", b'{"compatibility": null}', 422, 42203),
        ("PUT", "/mode", b'{"mode": "SOMETIMES"}', 422, 42204),
        ("GET", "/mode/unknown", None, 404, 40409),
        ("GET", "/subjects?deleted=maybe", None, 422, 422),
        ("GET", "/no/such/route", None, 404, 404),
        (
            "POST",
            "/compatibility/subjects/unknown/versions/3",
            b'{"schema": "\\"int\\""}',
            404,
            40401,
        ),
    ],
)
def test_bad_input_gets_confluent_error_codes_never_a_500(
    api: TestClient, method: str, path: str, body: bytes | None, status: int, code: int
) -> None:
    response = api.request(method, path, content=body, headers=HEADERS)
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code
    assert isinstance(response.json()["message"], str)
    assert response.headers["content-type"] == CONTENT_TYPE


def test_an_oversized_schema_is_refused_with_42201(api: TestClient) -> None:
    fields = [{"name": f"field_{i:04d}", "type": "string"} for i in range(200)]
    big = {"type": "record", "name": "Big", "fields": fields}
    refused = post(api, "/subjects/s/versions", big)
    assert (refused["status"], refused["error_code"]) == (422, 42201)
    assert "4096 bytes" in str(refused["message"])
    # a body over the limit (2 x 4096 + 64 KiB) is refused before it is read: 413
    huge_body = b'{"schema": "' + b"x" * 100_000 + b'"}'
    response = api.post("/subjects/s/versions", content=huge_body, headers=HEADERS)
    assert (response.status_code, response.json()["error_code"]) == (413, 413)
    assert response.headers["content-type"] == CONTENT_TYPE


def test_the_openapi_document_lists_the_confluent_routes(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for path in (
        "/subjects",
        "/subjects/{subject}/versions",
        "/subjects/{subject}/versions/{version}",
        "/subjects/{subject}/versions/{version}/schema",
        "/subjects/{subject}",
        "/schemas/ids/{schema_id}",
        "/compatibility/subjects/{subject}/versions/{version}",
        "/config/{subject}",
        "/mode",
    ):
        assert path in paths
