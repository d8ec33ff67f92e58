"""Modes READWRITE / READONLY / READONLY_OVERRIDE / IMPORT, globally and per subject, with
Confluent's codes, and registration with an explicit id and version in IMPORT mode."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from velocity_stream.registry.api import create_app
from velocity_stream.registry.modes import RegistryMode, mode_in_scope
from velocity_stream.registry.records import ModeRecord, decode, encode
from velocity_stream.registry.service import RegistryService
from velocity_stream.registry.state import RegistryState
from velocity_stream.registry.store import MemoryLog, RegistryStore


def record(name: str, *fields: str) -> str:
    return json.dumps(
        {
            "type": "record",
            "name": name,
            "fields": [{"name": f, "type": "string", "default": ""} for f in fields],
        }
    )


BREAKING = json.dumps({"type": "record", "name": "A", "fields": [{"name": "x", "type": "int"}]})


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog()


@pytest.fixture
def api(log: MemoryLog) -> Iterator[TestClient]:
    service = RegistryService(RegistryStore(log).start())
    with TestClient(create_app(service), raise_server_exceptions=False) as client:
        yield client


def post(api: TestClient, path: str, body: dict[str, object]) -> dict[str, object]:
    response = api.post(path, json=body)
    return {"status": response.status_code, **response.json()}


def put_mode(api: TestClient, path: str, mode: str) -> dict[str, object]:
    response = api.put(path, json={"mode": mode})
    return {"status": response.status_code, **response.json()}


def test_mode_in_scope_follows_confluent() -> None:
    modes: dict[str | None, RegistryMode] = {}
    assert mode_in_scope(modes, "s") is RegistryMode.READWRITE
    modes[None] = RegistryMode.READONLY
    assert mode_in_scope(modes, "s") is RegistryMode.READONLY
    modes["s"] = RegistryMode.READWRITE
    assert mode_in_scope(modes, "s") is RegistryMode.READWRITE  # the subject's own wins
    modes[None] = RegistryMode.READONLY_OVERRIDE
    assert mode_in_scope(modes, "s") is RegistryMode.READONLY_OVERRIDE  # ... unless overridden


def test_get_put_and_delete_modes(api: TestClient) -> None:
    assert api.get("/mode").json() == {"mode": "READWRITE"}
    missing = api.get("/mode/orders-value").json()
    assert missing["error_code"] == 40409
    assert api.get("/mode/orders-value?defaultToGlobal=true").json() == {"mode": "READWRITE"}
    assert put_mode(api, "/mode/orders-value", "readonly") == {"status": 200, "mode": "READONLY"}
    assert api.get("/mode/orders-value").json() == {"mode": "READONLY"}
    assert api.delete("/mode/orders-value").json() == {"mode": "READONLY"}
    assert api.get("/mode/orders-value").json()["error_code"] == 40409
    bad = put_mode(api, "/mode", "SOMETIMES")
    assert (bad["status"], bad["error_code"]) == (422, 42204)
    assert api.put("/mode", json={}).json()["error_code"] == 42204


def test_read_only_refuses_every_write_with_42205(api: TestClient) -> None:
    assert post(api, "/subjects/a-value/versions", {"schema": record("A", "x")})["status"] == 200
    api.put("/config/a-value", json={"compatibility": "FULL"})
    put_mode(api, "/mode/a-value", "READONLY")
    refusals = [
        api.post("/subjects/a-value/versions", json={"schema": record("A", "x", "y")}),
        api.delete("/subjects/a-value/versions/1"),
        api.delete("/subjects/a-value"),
        api.put("/config/a-value", json={"compatibility": "NONE"}),
        api.delete("/config/a-value"),
    ]
    for refused in refusals:
        assert refused.status_code == 422
        assert refused.json() == {
            "error_code": 42205,
            "message": "Subject a-value in context . is in read-only mode",
        }
    # Reads still answer, nothing changed, and other subjects still take writes.
    assert api.get("/subjects/a-value/versions").json() == [1]
    assert api.get("/config/a-value").json() == {"compatibilityLevel": "FULL"}
    assert post(api, "/subjects/b-value/versions", {"schema": record("B", "x")})["status"] == 200
    # READONLY_OVERRIDE globally beats a subject's own READWRITE.
    put_mode(api, "/mode/b-value", "READWRITE")
    put_mode(api, "/mode", "READONLY_OVERRIDE")
    refused = post(api, "/subjects/b-value/versions", {"schema": record("B", "x", "y")})
    assert refused["error_code"] == 42205
    put_mode(api, "/mode", "READWRITE")
    assert (
        post(api, "/subjects/b-value/versions", {"schema": record("B", "x", "y")})["status"] == 200
    )


def test_import_needs_an_empty_registry_unless_forced(api: TestClient) -> None:
    post(api, "/subjects/a-value/versions", {"schema": record("A", "x")})
    refused = put_mode(api, "/mode", "IMPORT")
    assert (refused["status"], refused["error_code"]) == (422, 42205)
    assert refused["message"] == "Cannot import since found existing subjects"
    # A subject with no versions may import; a forced global switch is accepted.
    assert put_mode(api, "/mode/new-value", "IMPORT")["mode"] == "IMPORT"
    assert api.put("/mode?force=true", json={"mode": "IMPORT"}).json() == {"mode": "IMPORT"}


def test_import_keeps_ids_and_versions_and_skips_compatibility(api: TestClient) -> None:
    assert put_mode(api, "/mode", "IMPORT")["mode"] == "IMPORT"
    imported = [
        ("a-value", 3, 101, record("A", "x")),
        ("a-value", 5, 107, BREAKING),  # incompatible with version 3: IMPORT does not check
        ("b-value", 1, 101, record("A", "x")),  # the same schema, the same id, another subject
    ]
    for subject, version, schema_id, text in imported:
        body = {"schema": text, "id": schema_id, "version": version}
        answer = post(api, f"/subjects/{subject}/versions", body)
        assert answer == {"status": 200, "id": schema_id}, answer
        # Idempotent: the same again is the same answer and writes nothing new.
        assert post(api, f"/subjects/{subject}/versions", body) == answer
    assert api.get("/subjects/a-value/versions").json() == [3, 5]
    assert api.get("/subjects/a-value/versions/5").json()["id"] == 107
    # Without an id, IMPORT refuses; outside IMPORT, an id is refused.
    plain = post(api, "/subjects/c-value/versions", {"schema": record("C", "x")})
    assert plain["error_code"] == 42205
    assert plain["message"] == "Subject c-value in context . is not in read-write mode"
    put_mode(api, "/mode", "READWRITE")
    with_id = post(api, "/subjects/c-value/versions", {"schema": record("C", "x"), "id": 9})
    assert with_id["error_code"] == 42205
    assert with_id["message"] == "Subject c-value in context . is not in import mode"
    # After the import, new ids continue above the highest imported one.
    assert post(api, "/subjects/c-value/versions", {"schema": record("C", "x")})["id"] == 108
    assert api.get("/subjects/a-value/versions/latest").json()["version"] == 5
    assert (
        post(api, "/subjects/a-value/versions", {"schema": record("A", "x", "y")})["status"] == 409
    )


def test_import_refuses_what_would_overwrite(api: TestClient) -> None:
    put_mode(api, "/mode", "IMPORT")
    post(api, "/subjects/a-value/versions", {"schema": record("A", "x"), "id": 5, "version": 1})
    cases = [
        # another schema under an id already taken
        ({"schema": record("Z", "x"), "id": 5}, 42205, "already holds another schema under id 5"),
        # the same schema under another id than it has
        ({"schema": record("A", "x"), "id": 6}, 42207, "already registered with id 5"),
        # another schema under a version already taken
        ({"schema": record("Y", "x"), "id": 7, "version": 1}, 42205, "import does not overwrite"),
        # the same schema as another version of the same subject
        ({"schema": record("A", "x"), "id": 5, "version": 2}, 42205, "as version 1"),
    ]
    for body, code, says in cases:
        refused = post(api, "/subjects/a-value/versions", body)
        assert (refused["status"], refused["error_code"]) == (422, code), refused
        assert says in str(refused["message"])
    assert api.get("/subjects/a-value/versions").json() == [1]
    bad_id = post(api, "/subjects/a-value/versions", {"schema": record("A", "x"), "id": "5"})
    assert (bad_id["status"], bad_id["error_code"]) == (422, 422)


def test_readwrite_with_a_version_must_be_the_next_one(api: TestClient) -> None:
    assert (
        post(api, "/subjects/a-value/versions", {"schema": record("A", "x"), "version": 1})[
            "status"
        ]
        == 200
    )
    refused = post(
        api, "/subjects/a-value/versions", {"schema": record("A", "x", "y"), "version": 7}
    )
    assert (refused["status"], refused["error_code"]) == (422, 42201)


def test_modes_survive_a_replay_and_unknown_modes_on_the_topic_are_ignored(
    api: TestClient, log: MemoryLog
) -> None:
    put_mode(api, "/mode", "READONLY")
    put_mode(api, "/mode/a-value", "IMPORT")
    log.append(*encode(ModeRecord("b-value", "SOMETHING_NEW")), 1.0)
    replayed = RegistryService(RegistryStore(log).start())
    assert replayed.get_mode(None) == "READONLY"
    assert replayed.get_mode("a-value") == "IMPORT"
    assert replayed.get_mode("b-value", default_to_global=True) == "READONLY"
    state = RegistryState()
    assert state.apply(ModeRecord(None, "NOPE")) is False
    assert decode(*encode(ModeRecord("x", None))) == ModeRecord("x", None)
