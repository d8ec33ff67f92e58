"""The HTTP edges where Confluent's registry is specific: encoded subjects, media types, Avro
names, ``GET /schemas`` and unknown ids."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from velocity_stream.registry.api import create_app
from velocity_stream.registry.media import DEFAULT_JSON, JSON, V1_JSON, negotiate
from velocity_stream.registry.service import RegistryService
from velocity_stream.registry.store import memory_store


def record(name: str, *fields: str, namespace: str | None = None) -> str:
    schema: dict[str, object] = {
        "type": "record",
        "name": name,
        "fields": [{"name": f, "type": "string", "default": ""} for f in fields],
    }
    if namespace is not None:
        schema["namespace"] = namespace
    return json.dumps(schema)


@pytest.fixture
def api() -> Iterator[TestClient]:
    service = RegistryService(memory_store(), max_schema_bytes=8192)
    with TestClient(create_app(service), raise_server_exceptions=False) as client:
        yield client


def register(api: TestClient, subject_path: str, schema: str) -> int:
    response = api.post(f"/subjects/{subject_path}/versions", json={"schema": schema})
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


def test_a_url_encoded_slash_names_one_subject(api: TestClient) -> None:
    schema_id = register(api, "team%2Forders-value", record("Order", "id"))
    assert api.get("/subjects").json() == ["team/orders-value"]
    got = api.get("/subjects/team%2Forders-value/versions/1").json()
    assert (got["subject"], got["id"]) == ("team/orders-value", schema_id)
    assert api.get("/subjects/team%2forders-value/versions").json() == [1]
    assert api.get(f"/schemas/ids/{schema_id}/subjects").json() == ["team/orders-value"]
    # Without the encoding the slash splits the path: no such route.
    assert api.get("/subjects/team/orders-value/versions").status_code == 404
    # Other escapes decode once: %25 is a literal percent sign, UTF-8 is decoded.
    register(api, "100%25-value", record("Pct", "id"))
    register(api, "caf%C3%A9-value", record("Cafe", "id"))
    assert api.get("/subjects").json() == ["100%-value", "café-value", "team/orders-value"]
    assert api.put("/config/team%2Forders-value", json={"compatibility": "NONE"}).json() == {
        "compatibility": "NONE"
    }
    level = api.get("/config/team%2Forders-value").json()
    assert level == {"compatibilityLevel": "NONE"}


@pytest.mark.parametrize("content_type", [V1_JSON, DEFAULT_JSON, JSON, "application/octet-stream"])
def test_every_json_content_type_confluent_reads_is_read(
    api: TestClient, content_type: str
) -> None:
    body = json.dumps({"schema": record("Order", "id")})
    response = api.post(
        "/subjects/s/versions",
        content=body,
        headers={"Content-Type": f"{content_type}; charset=utf-8"},
    )
    assert response.status_code == 200, response.text


def test_another_content_type_is_415_before_the_body_is_judged(api: TestClient) -> None:
    for content_type in ("text/plain", "application/xml", "application/x-www-form-urlencoded"):
        response = api.post(
            "/subjects/s/versions", content=b"not even json", headers={"Content-Type": content_type}
        )
        assert response.status_code == 415, content_type
        assert response.json() == {"error_code": 415, "message": "HTTP 415 Unsupported Media Type"}
    assert api.get("/subjects").json() == []
    # A GET carries no body: its Content-Type is not judged.
    assert api.get("/subjects", headers={"Content-Type": "text/plain"}).status_code == 200


def test_accept_chooses_the_answer_type_and_406_when_none_fits(api: TestClient) -> None:
    cases = {
        None: V1_JSON,
        "*/*": V1_JSON,
        "application/json": JSON,
        "application/vnd.schemaregistry+json": DEFAULT_JSON,
        "application/json; q=0.9, application/vnd.schemaregistry.v1+json; q=0.1": JSON,
        "text/html, application/xhtml+xml, */*;q=0.8": V1_JSON,
    }
    for accept, expected in cases.items():
        headers = {} if accept is None else {"Accept": accept}
        response = api.get("/subjects", headers=headers)
        assert response.status_code == 200, accept
        assert response.headers["content-type"] == expected, accept
    refused = api.get("/subjects", headers={"Accept": "text/html"})
    assert refused.status_code == 406
    assert refused.json() == {"error_code": 406, "message": "HTTP 406 Not Acceptable"}
    assert refused.headers["content-type"] == V1_JSON
    # Errors are typed by the negotiation too.
    missing = api.get("/subjects/nope/versions", headers={"Accept": "application/json"})
    assert (missing.status_code, missing.headers["content-type"]) == (404, JSON)
    # An unknown path is a 404 whatever the Accept says (the route is found first).
    assert api.get("/no/such", headers={"Accept": "text/html"}).status_code == 404


def test_negotiate_weights() -> None:
    assert negotiate("application/*") == V1_JSON
    assert negotiate("application/json, application/vnd.schemaregistry+json") == DEFAULT_JSON
    assert negotiate("application/vnd.schemaregistry.v1+json;q=0, */*;q=0.1") == DEFAULT_JSON
    assert negotiate("image/png") is None
    assert negotiate("application/json;q=0") is None
    assert negotiate("garbage") == V1_JSON


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        (record("Order", "id", namespace="foo-bar-baz"), "/namespace"),
        (record("Or-der", "id"), "/name"),
        (record("shop..Order", "id"), "/name"),
        (record("Order", "1st"), "/fields/0/name"),
        (
            json.dumps({"type": "enum", "name": "Colour", "symbols": ["RED", "dark-blue"]}),
            "/symbols/1",
        ),
        (
            json.dumps(
                {
                    "type": "record",
                    "name": "Outer",
                    "fields": [{"name": "inner", "type": json.loads(record("In ner", "x"))}],
                }
            ),
            "/fields/0/type/name",
        ),
    ],
)
def test_invalid_avro_names_are_refused_saying_where(
    api: TestClient, schema: str, where: str
) -> None:
    response = api.post("/subjects/s/versions", json={"schema": schema})
    assert response.status_code == 422
    body = response.json()
    assert body["error_code"] == 42201
    assert f"at {where}" in body["message"]


def test_valid_names_with_namespaces_and_underscores_are_accepted(api: TestClient) -> None:
    register(api, "s", record("_Order2", "_id", "id_2", namespace="com.shop_v1"))
    register(api, "t", record("Order", "id", namespace=""))


def test_get_schemas_lists_subject_versions_with_confluents_parameters(api: TestClient) -> None:
    a1 = register(api, "a-value", record("A", "x"))
    a2 = register(api, "a-value", record("A", "x", "y"))
    b1 = register(api, "b-value", record("B", "x"))
    listed = api.get("/schemas").json()
    assert [(s["subject"], s["version"], s["id"]) for s in listed] == [
        ("a-value", 1, a1),
        ("a-value", 2, a2),
        ("b-value", 1, b1),
    ]
    assert json.loads(listed[0]["schema"]) == json.loads(record("A", "x"))
    latest = api.get("/schemas?latestOnly=true").json()
    assert [(s["subject"], s["version"]) for s in latest] == [("a-value", 2), ("b-value", 1)]
    assert [s["subject"] for s in api.get("/schemas?subjectPrefix=b").json()] == ["b-value"]
    page = api.get("/schemas?offset=1&limit=1").json()
    assert [(s["subject"], s["version"]) for s in page] == [("a-value", 2)]
    api.delete("/subjects/a-value/versions/2")
    assert len(api.get("/schemas").json()) == 2
    assert len(api.get("/schemas?deleted=true").json()) == 3
    assert api.get("/schemas?latestOnly=maybe").json()["error_code"] == 422


def test_ids_routes_filter_and_page_and_unknown_ids_are_40403(api: TestClient) -> None:
    shared = register(api, "a-value", record("A", "x"))
    register(api, "b-value", record("A", "x"))
    register(api, "c-value", record("A", "x"))
    versions = api.get(f"/schemas/ids/{shared}/versions").json()
    assert [v["subject"] for v in versions] == ["a-value", "b-value", "c-value"]
    assert api.get(f"/schemas/ids/{shared}/versions?subject=b-value").json() == [
        {"subject": "b-value", "version": 1}
    ]
    assert api.get(f"/schemas/ids/{shared}/subjects?offset=1&limit=1").json() == ["b-value"]
    for path in ("/schemas/ids/77/versions", "/schemas/ids/77/subjects"):
        assert api.get(path).json() == {"error_code": 40403, "message": "Schema not found"}
    assert api.get("/schemas/ids/77").json() == {
        "error_code": 40403,
        "message": "Schema 77 not found",
    }
    assert api.get("/schemas/ids/-3").json()["error_code"] == 40403
