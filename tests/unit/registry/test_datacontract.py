"""``metadata`` and ``ruleSet``: checked, given one spelling, stored, returned, and part of a
schema's identity (another contract on the same Avro is another schema), as in Confluent's."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from velocity_stream.registry.api import create_app
from velocity_stream.registry.datacontract import parse_metadata, parse_rule_set
from velocity_stream.registry.errors import RegistryRequestError
from velocity_stream.registry.records import SchemaRecord, decode, encode
from velocity_stream.registry.service import RegistryService
from velocity_stream.registry.store import MemoryLog, RegistryStore
from velocity_stream.registry.submission import Submission

ORDER = json.dumps(
    {"type": "record", "name": "shop.Order", "fields": [{"name": "id", "type": "string"}]}
)
ORDER_V2 = json.dumps(
    {
        "type": "record",
        "name": "shop.Order",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "note", "type": "string", "default": ""},
        ],
    }
)
METADATA = {
    "properties": {"owner": "shop-team", "email": "shop@example.com"},
    "tags": {"Order.id": ["PII", "KEY", "PII"]},
    "sensitive": ["secret", "apikey"],
}
RULES = {
    "domainRules": [
        {
            "name": "id_required",
            "kind": "CONDITION",
            "mode": "WRITE",
            "type": "CEL",
            "expr": "message.id != ''",
            "onFailure": "DLQ",
            "params": {"dlq.topic": "bad-orders"},
            "disabled": False,
        }
    ],
    "migrationRules": [
        {"name": "rename-note", "kind": "TRANSFORM", "mode": "UPGRADE", "type": "JSONATA"}
    ],
}


@pytest.fixture
def api() -> Iterator[TestClient]:
    service = RegistryService(memory_store_log(MemoryLog()))
    with TestClient(create_app(service), raise_server_exceptions=False) as client:
        yield client


def memory_store_log(log: MemoryLog) -> RegistryStore:
    return RegistryStore(log).start()


def register(api: TestClient, subject: str, body: dict[str, object]) -> dict[str, object]:
    response = api.post(f"/subjects/{subject}/versions", json=body)
    return {"status": response.status_code, **response.json()}


def test_metadata_is_given_one_spelling() -> None:
    assert parse_metadata(METADATA) == {
        "properties": {"email": "shop@example.com", "owner": "shop-team"},
        "sensitive": ["apikey", "secret"],
        "tags": {"Order.id": ["KEY", "PII"]},
    }
    assert parse_metadata(None) is None
    assert parse_metadata({}) is None
    assert parse_metadata({"tags": {}, "properties": {}, "sensitive": []}) is None


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"properties": {"n": 1}},
        {"properties": []},
        {"tags": {"a": "PII"}},
        {"tags": ["PII"]},
        {"sensitive": "x"},
        {"sensitive": [1]},
    ],
)
def test_malformed_metadata_is_422(bad: object) -> None:
    with pytest.raises(RegistryRequestError) as refused:
        parse_metadata(bad)
    assert refused.value.error_code == 422
    assert "Invalid metadata" in refused.value.message


def test_rule_sets_keep_rule_order_and_fill_confluents_defaults() -> None:
    parsed = parse_rule_set(RULES)
    assert parsed is not None
    rule = parsed["domainRules"][0]
    assert rule["disabled"] is False
    assert rule["params"] == {"dlq.topic": "bad-orders"}
    assert [r["name"] for r in parsed["migrationRules"]] == ["rename-note"]
    two = {"domainRules": [{"name": "b", "type": "CEL"}, {"name": "a", "type": "CEL"}]}
    assert [r["name"] for r in parse_rule_set(two)["domainRules"]] == ["b", "a"]  # type: ignore[index]
    assert parse_rule_set({"domainRules": []}) is None
    # null members, as confluent-kafka's Rule.to_dict sends them, are absent members
    assert parse_rule_set({"domainRules": [{"name": "a", "type": "CEL", "doc": None}]}) == {
        "domainRules": [
            {
                "disabled": False,
                "kind": "TRANSFORM",
                "mode": "WRITEREAD",
                "name": "a",
                "type": "CEL",
            }
        ]
    }
    # With the defaults filled in, a migration rule needs its mode, as in Confluent's.
    with pytest.raises(RegistryRequestError) as no_mode:
        parse_rule_set({"migrationRules": [{"name": "m", "type": "JSONATA"}]})
    assert no_mode.value.error_code == 42210


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ({"domainRules": [{"type": "CEL"}]}, "has no name"),
        ({"domainRules": [{"name": "", "type": "CEL"}]}, "empty name"),
        ({"domainRules": [{"name": "1st", "type": "CEL"}]}, "illegal initial character"),
        ({"domainRules": [{"name": "a b", "type": "CEL"}]}, "illegal character"),
        ({"domainRules": [{"name": "a"}]}, "has no type"),
        ({"domainRules": [{"name": "a", "type": "CEL", "kind": "MAGIC"}]}, "kind"),
        ({"domainRules": [{"name": "a", "type": "CEL", "mode": "UPGRADE"}]}, "can only be"),
        ({"migrationRules": [{"name": "a", "type": "CEL", "mode": "WRITE"}]}, "can only be"),
        (
            {"domainRules": [{"name": "a", "type": "X", "mode": "WRITE", "onFailure": "DLQ,NONE"}]},
            "two actions",
        ),
        (
            {
                "domainRules": [{"name": "a", "type": "X"}],
                "migrationRules": [{"name": "a", "type": "Y", "mode": "UPGRADE"}],
            },
            "duplicate name 'a'",
        ),
        ({"domainRules": {"name": "a"}}, "must be a list"),
        ({"domainRules": [{"name": "a", "type": "X", "disabled": "yes"}]}, "disabled"),
        ("rules", "must be an object"),
    ],
)
def test_malformed_rule_sets_are_42210(bad: object, says: str) -> None:
    with pytest.raises(RegistryRequestError) as refused:
        parse_rule_set(bad)
    assert refused.value.error_code == 42210
    assert says in refused.value.message


def test_metadata_and_rules_round_trip_through_every_read(api: TestClient) -> None:
    answer = register(
        api, "orders-value", {"schema": ORDER, "metadata": METADATA, "ruleSet": RULES}
    )
    assert answer["status"] == 200
    schema_id = answer["id"]
    expected_metadata = parse_metadata(METADATA)
    expected_rules = parse_rule_set(RULES)
    version = api.get("/subjects/orders-value/versions/1").json()
    assert version["metadata"] == expected_metadata
    assert version["ruleSet"] == expected_rules
    by_id = api.get(f"/schemas/ids/{schema_id}").json()
    assert (by_id["metadata"], by_id["ruleSet"]) == (expected_metadata, expected_rules)
    listed = api.get("/schemas").json()
    assert listed[0]["metadata"] == expected_metadata
    # A schema without them answers without the members (as Confluent does).
    plain = register(api, "plain-value", {"schema": ORDER})
    assert "metadata" not in api.get(f"/schemas/ids/{plain['id']}").json()


def test_another_contract_on_the_same_schema_is_a_new_version_and_id(api: TestClient) -> None:
    first = register(api, "orders-value", {"schema": ORDER, "metadata": METADATA})
    again = register(
        api,
        "orders-value",
        {"schema": ORDER, "metadata": {**METADATA, "sensitive": ["apikey", "secret"]}},
    )
    assert again["id"] == first["id"]  # the same metadata spelled differently
    changed = {**METADATA, "properties": {"owner": "another-team"}}
    second = register(api, "orders-value", {"schema": ORDER, "metadata": changed})
    assert second["id"] != first["id"]
    assert api.get("/subjects/orders-value/versions").json() == [1, 2]
    with_rules = register(
        api, "orders-value", {"schema": ORDER, "metadata": changed, "ruleSet": RULES}
    )
    assert with_rules["id"] not in (first["id"], second["id"])
    assert api.get("/subjects/orders-value/versions").json() == [1, 2, 3]


def test_a_schema_sent_without_a_contract_inherits_the_latest_ones(api: TestClient) -> None:
    first = register(api, "orders-value", {"schema": ORDER, "metadata": METADATA, "ruleSet": RULES})
    # The same schema without the fields is the same version: it would inherit them.
    assert register(api, "orders-value", {"schema": ORDER})["id"] == first["id"]
    found = api.post("/subjects/orders-value", json={"schema": ORDER}).json()
    assert (found["version"], found["id"]) == (1, first["id"])
    # A new schema without them takes the latest version's contract.
    register(api, "orders-value", {"schema": ORDER_V2})
    latest = api.get("/subjects/orders-value/versions/latest").json()
    assert latest["version"] == 2
    assert latest["metadata"] == parse_metadata(METADATA)
    assert latest["ruleSet"] == parse_rule_set(RULES)


def test_refusals_write_nothing(api: TestClient) -> None:
    bad_rules = register(api, "s", {"schema": ORDER, "ruleSet": {"domainRules": [{"name": "x"}]}})
    assert (bad_rules["status"], bad_rules["error_code"]) == (422, 42210)
    bad_metadata = register(api, "s", {"schema": ORDER, "metadata": {"properties": {"n": 1}}})
    assert (bad_metadata["status"], bad_metadata["error_code"]) == (422, 422)
    assert api.get("/subjects").json() == []


def test_the_contract_survives_a_replay_of_the_log() -> None:
    log = MemoryLog()
    service = RegistryService(memory_store_log(log))
    registered = service.register("s", Submission(ORDER, metadata=METADATA, rule_set=RULES))
    replayed = RegistryService(memory_store_log(log)).version("s", 1)
    assert replayed == registered
    assert replayed.metadata == parse_metadata(METADATA)
    assert replayed.rule_set == parse_rule_set(RULES)


def test_records_carry_the_contract_and_older_records_read_the_same() -> None:
    record = SchemaRecord(
        "s", 1, 7, "fp", ORDER, metadata={"properties": {"a": "b"}}, rule_set=None
    )
    key, value = encode(record)
    assert decode(key, value) == record
    assert value is not None and b"ruleSet" not in value
    plain = SchemaRecord("s", 1, 7, "fp", ORDER)
    assert b"metadata" not in (encode(plain)[1] or b"")


def test_the_latest_version_with_given_metadata_is_found(api: TestClient) -> None:
    register(api, "s", {"schema": ORDER, "metadata": {"properties": {"app": "a", "env": "x"}}})
    register(api, "s", {"schema": ORDER_V2, "metadata": {"properties": {"app": "b", "env": "x"}}})
    found = api.get("/subjects/s/metadata?key=env&value=x").json()
    assert found["version"] == 2
    assert api.get("/subjects/s/metadata?key=app&value=a&key=env&value=x").json()["version"] == 1
    assert api.get("/subjects/s/metadata?key=app&value=c").json()["error_code"] == 40403
    assert api.get("/subjects/t/metadata?key=app&value=a").json()["error_code"] == 40401
    assert api.get("/subjects/s/metadata?key=app").json()["error_code"] == 422


def test_get_schemas_filters_by_rule_type(api: TestClient) -> None:
    register(api, "with-rules", {"schema": ORDER, "ruleSet": RULES})
    register(api, "without", {"schema": ORDER_V2})
    assert [s["subject"] for s in api.get("/schemas").json()] == ["with-rules", "without"]
    assert [s["subject"] for s in api.get("/schemas?ruleType=CEL").json()] == ["with-rules"]
    assert [s["subject"] for s in api.get("/schemas?ruleType=JSONATA").json()] == ["with-rules"]
    assert api.get("/schemas?ruleType=OTHER").json() == []
