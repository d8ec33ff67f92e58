"""Schema references for Avro: types defined in other subjects, resolved for parsing,
compatibility and readers, listed by ``referencedby`` and guarded against deletion (42206)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import fastavro
import pytest
from fastapi.testclient import TestClient

from velocity_stream.registry.api import create_app
from velocity_stream.registry.client import RegistryClient, RegistrySchemaResolver
from velocity_stream.registry.records import SchemaRecord, encode
from velocity_stream.registry.references import Reference, expand
from velocity_stream.registry.service import RegistryService
from velocity_stream.registry.store import MemoryLog, RegistryStore

ADDRESS: dict[str, Any] = {
    "type": "record",
    "name": "Address",
    "namespace": "geo",
    "fields": [
        {"name": "street", "type": "string"},
        {"name": "country", "type": {"type": "enum", "name": "Country", "symbols": ["FR", "DE"]}},
    ],
}
ADDRESS_V2 = {
    **ADDRESS,
    "fields": [*ADDRESS["fields"], {"name": "zip", "type": "string", "default": ""}],
}
ADDRESS_BROKEN = {**ADDRESS, "fields": [{"name": "street", "type": "int"}, ADDRESS["fields"][1]]}
ORDER: dict[str, Any] = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "ship_to", "type": "geo.Address"},
        {"name": "bill_to", "type": ["null", "geo.Address"], "default": None},
        {"name": "origin", "type": "geo.Country"},
    ],
}


def ref(version: int = 1, name: str = "geo.Address", subject: str = "address") -> dict[str, object]:
    return {"name": name, "subject": subject, "version": version}


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


def register(api: TestClient, subject: str, schema: object, *refs: dict[str, object]) -> int:
    body: dict[str, object] = {"schema": json.dumps(schema)}
    if refs:
        body["references"] = list(refs)
    answer = post(api, f"/subjects/{subject}/versions", body)
    assert answer["status"] == 200, answer
    return int(str(answer["id"]))


def test_expand_defines_each_referenced_type_where_it_is_first_used() -> None:
    whole = expand(ORDER, {"geo.Address": ADDRESS})
    fields = {f["name"]: f["type"] for f in whole["fields"]}
    assert fields["ship_to"]["name"] == "Address"  # the definition, in place
    assert fields["bill_to"] == ["null", "geo.Address"]  # later uses stay names
    assert fields["origin"] == "geo.Country"  # defined inside Address, already seen
    parsed = fastavro.parse_schema(whole)
    assert parsed["name"] == "shop.Order"


def test_a_referenced_type_without_namespace_keeps_its_name_inside_a_namespace() -> None:
    point = {"type": "record", "name": "Point", "fields": [{"name": "x", "type": "int"}]}
    shape = {
        "type": "record",
        "name": "Shape",
        "namespace": "draw",
        "fields": [{"name": "p", "type": "Point"}],
    }
    whole = expand(shape, {"Point": point})
    assert whole["fields"][0]["type"]["namespace"] == ""
    assert "Point" in fastavro.parse_schema(whole)["__named_schemas"]


def test_references_of_references_are_expanded_too() -> None:
    country = {"type": "enum", "name": "Country", "namespace": "geo", "symbols": ["FR"]}
    address = {
        "type": "record",
        "name": "Address",
        "namespace": "geo",
        "fields": [{"name": "country", "type": "Country"}],
    }
    order = {"type": "record", "name": "Order", "fields": [{"name": "a", "type": "geo.Address"}]}
    whole = expand(order, {"geo.Address": address, "geo.Country": country})
    assert whole["fields"][0]["type"]["fields"][0]["type"]["symbols"] == ["FR"]
    fastavro.parse_schema(whole)


def test_register_with_references_and_read_them_back(api: TestClient) -> None:
    address_id = register(api, "address", ADDRESS)
    order_id = register(api, "orders-value", ORDER, ref())
    assert order_id != address_id
    version = api.get("/subjects/orders-value/versions/1").json()
    assert version["references"] == [ref()]
    assert json.loads(version["schema"]) == ORDER  # stored as sent, not expanded
    assert api.get(f"/schemas/ids/{order_id}").json()["references"] == [ref()]
    assert "references" not in api.get(f"/schemas/ids/{address_id}").json()
    # The same text and references again: the same id; a lookup finds it.
    assert register(api, "orders-value", ORDER, ref()) == order_id
    found = post(
        api, "/subjects/orders-value", {"schema": json.dumps(ORDER), "references": [ref()]}
    )
    assert (found["version"], found["id"]) == (1, order_id)
    assert api.get("/subjects/address/versions/1/referencedby").json() == [order_id]


def test_the_references_are_part_of_identity(api: TestClient) -> None:
    register(api, "address", ADDRESS)
    register(api, "address", ADDRESS_V2)
    first = register(api, "orders-value", ORDER, ref(1))
    second = register(api, "orders-value", ORDER, ref(2))
    assert first != second
    assert api.get("/subjects/orders-value/versions").json() == [1, 2]


@pytest.mark.parametrize(
    ("refs", "says"),
    [
        ([], "geo.Address"),  # the type is unknown without its reference
        ([ref(9)], "has no version 9"),
        ([ref(subject="nowhere")], "'nowhere' has no version 1"),
        ([{"name": "geo.Address", "subject": "address"}], "needs a version"),
        ([{"subject": "address", "version": 1}], "has no name"),
        ([ref(), ref()], "more than once"),
        ("geo.Address", "must be a list"),
    ],
)
def test_bad_references_are_42201_saying_why(api: TestClient, refs: object, says: str) -> None:
    register(api, "address", ADDRESS)
    answer = post(
        api, "/subjects/orders-value/versions", {"schema": json.dumps(ORDER), "references": refs}
    )
    assert (answer["status"], answer["error_code"]) == (422, 42201)
    assert says in str(answer["message"])


def test_a_reference_to_a_schema_that_is_not_a_named_type_is_refused(api: TestClient) -> None:
    register(api, "strings", {"type": "array", "items": "string"})
    answer = post(
        api,
        "/subjects/o/versions",
        {"schema": json.dumps(ORDER), "references": [ref(subject="strings")]},
    )
    assert answer["error_code"] == 42201
    assert "not a named type" in str(answer["message"])


def test_compatibility_sees_the_referenced_types(api: TestClient) -> None:
    register(api, "address", ADDRESS)
    register(api, "address-broken", ADDRESS_BROKEN)
    register(api, "address", ADDRESS_V2)
    register(api, "orders-value", ORDER, ref(1))
    # Address v2 only adds a field with a default: the order may move to it.
    check = post(
        api,
        "/compatibility/subjects/orders-value/versions/latest?verbose=true",
        {"schema": json.dumps(ORDER), "references": [ref(2)]},
    )
    assert check["is_compatible"] is True, check
    # A street that becomes an int breaks readers of the old orders.
    broken = post(
        api,
        "/subjects/orders-value/versions",
        {"schema": json.dumps(ORDER), "references": [ref(1, subject="address-broken")]},
    )
    assert broken["status"] == 409
    assert "cannot be read as int" in str(broken["message"])
    assert register(api, "orders-value", ORDER, ref(2)) > 0


def test_a_referenced_version_cannot_be_deleted(api: TestClient) -> None:
    register(api, "address", ADDRESS)
    register(api, "orders-value", ORDER, ref())
    for path in ("/subjects/address/versions/1", "/subjects/address"):
        refused = api.delete(path)
        assert refused.status_code == 422
        assert refused.json()["error_code"] == 42206
        assert "orders-value version 1" in refused.json()["message"]
    # Once the referencing version is soft-deleted, a soft delete goes through ...
    assert api.delete("/subjects/orders-value/versions/1").status_code == 200
    assert api.get("/subjects/address/versions/1/referencedby").json() == []
    assert api.delete("/subjects/address/versions/1").json() == 1
    # ... but not a hard delete: the soft-deleted order could still be read.
    refused = api.delete("/subjects/address/versions/1?permanent=true")
    assert refused.json()["error_code"] == 42206
    assert api.delete("/subjects/orders-value/versions/1?permanent=true").json() == 1
    assert api.delete("/subjects/address/versions/1?permanent=true").json() == 1


def test_a_reader_gets_the_schema_with_its_references_in_place(api: TestClient) -> None:
    register(api, "address", ADDRESS)
    order_id = register(api, "orders-value", ORDER, ref())
    resolver = RegistrySchemaResolver(RegistryClient("http://registry.test", http=api))
    whole = json.loads(resolver.schema_by_id(order_id))
    parsed = fastavro.parse_schema(whole)
    record = {
        "id": "o1",
        "ship_to": {"street": "x", "country": "FR"},
        "bill_to": None,
        "origin": "DE",
    }
    assert fastavro.validate(record, parsed)


def test_references_survive_a_replay(api: TestClient, log: MemoryLog) -> None:
    register(api, "address", ADDRESS)
    order_id = register(api, "orders-value", ORDER, ref())
    replayed = RegistryService(RegistryStore(log).start())
    assert replayed.schema_by_id(order_id).references == (Reference("geo.Address", "address", 1),)
    assert replayed.referenced_by("address", 1) == [order_id]


def test_forged_records_on_the_topic_are_refusals_never_500s(
    api: TestClient, log: MemoryLog
) -> None:
    """Anyone who can write the topic can write any bytes: a forged schema that is not JSON,
    used as a reference, is 42201; a record whose references are not a list is skipped."""
    forged = SchemaRecord("forged", 1, 90, "f" * 64, "{not json")
    log.append(*encode(forged), 1.0)
    key, value = encode(SchemaRecord("forged-refs", 1, 91, "e" * 64, '"string"'))
    assert value is not None
    log.append(key, value.replace(b'"deleted"', b'"references":"nope","deleted"'), 1.0)
    answer = post(
        api,
        "/subjects/orders-value/versions",
        {"schema": json.dumps(ORDER), "references": [ref(subject="forged")]},
    )
    assert (answer["status"], answer["error_code"]) == (422, 42201)
    assert "stored schema 90 is not JSON" in str(answer["message"])
    assert api.get("/subjects/forged-refs/versions").json()["error_code"] == 40401
