"""State in Kafka: restarts keep ids and versions, concurrent writers never share an id, and
bad input gets Confluent's codes from the Kafka-backed service too."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from velocity_stream.registry.server import BackgroundRegistry

pytestmark = pytest.mark.integration

StartRegistry = Callable[[], BackgroundRegistry]


def record(name: str, *fields: str) -> str:
    return json.dumps(
        {
            "type": "record",
            "name": name,
            "fields": [{"name": f, "type": "string", "default": ""} for f in fields],
        }
    )


def register(url: str, subject: str, schema: str) -> int:
    response = httpx.post(f"{url}/subjects/{subject}/versions", json={"schema": schema}, timeout=30)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


def snapshot(url: str) -> dict[str, object]:
    subjects = httpx.get(f"{url}/subjects?deleted=true").json()
    state: dict[str, object] = {}
    for subject in subjects:
        versions = httpx.get(f"{url}/subjects/{subject}/versions?deleted=true").json()
        state[subject] = [
            httpx.get(f"{url}/subjects/{subject}/versions/{v}?deleted=true").json()
            for v in versions
        ]
        state[f"config:{subject}"] = httpx.get(f"{url}/config/{subject}").json()
    return state


def test_a_restarted_registry_has_the_same_ids_and_versions(start_registry: StartRegistry) -> None:
    first = start_registry()
    ids = [register(first.url, "a-value", record("A", *"xyz"[:n])) for n in range(1, 4)]
    ids.append(register(first.url, "b-value", record("B", "x")))
    ids.append(register(first.url, "c-value", record("A", "x")))  # A's v1 schema: shared id
    httpx.put(f"{first.url}/config/b-value", json={"compatibility": "FULL"})
    httpx.delete(f"{first.url}/subjects/a-value/versions/3")
    httpx.delete(f"{first.url}/subjects/a-value/versions/3?permanent=true")
    before = snapshot(first.url)
    first.stop()

    second = start_registry()
    assert snapshot(second.url) == before
    assert ids == [1, 2, 3, 4, 1]
    # Ids keep counting from the highest ever used, even after the hard delete of id 3.
    assert register(second.url, "d-value", record("D", "x")) == 5


def test_concurrent_registrations_get_distinct_ids_and_one_schema_one_id(
    registry: BackgroundRegistry,
) -> None:
    schemas = [record(f"S{i}", "x") for i in range(8)] + [record("Same", "x")] * 4
    results: dict[int, int] = {}

    def worker(index: int) -> None:
        subject = f"d{index}-value" if index < 8 else "same-value"
        results[index] = register(registry.url, subject, schemas[index])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(schemas))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    distinct = [results[i] for i in range(8)]
    assert len(set(distinct)) == 8
    same = {results[i] for i in range(8, 12)}
    assert len(same) == 1 and not same & set(distinct)
    assert httpx.get(f"{registry.url}/subjects/same-value/versions").json() == [1]


def test_two_instances_on_one_topic_never_hand_out_one_id_twice(
    start_registry: StartRegistry,
) -> None:
    one, two = start_registry(), start_registry()
    # One subject with no compatibility rule: the instances race for versions as well as ids.
    httpx.put(f"{one.url}/config/race-value", json={"compatibility": "NONE"})
    deadline = time.monotonic() + 10
    while httpx.get(f"{two.url}/config/race-value").status_code != 200:
        assert time.monotonic() < deadline, "the second instance never saw the config"
        time.sleep(0.02)
    results: dict[tuple[int, int], int] = {}

    def worker(instance: int, url: str) -> None:
        for n in range(5):
            results[(instance, n)] = register(url, "race-value", record(f"I{instance}N{n}"))

    threads = [threading.Thread(target=worker, args=(i, r.url)) for i, r in enumerate((one, two))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == 10
    assert len(set(results.values())) == 10
    deadline = time.monotonic() + 10
    while snapshot(one.url) != snapshot(two.url):
        assert time.monotonic() < deadline, "the two instances never converged"
        time.sleep(0.05)
    assert httpx.get(f"{one.url}/subjects/race-value/versions").json() == list(range(1, 11))
    for (instance, n), schema_id in results.items():
        schema = httpx.get(f"{two.url}/schemas/ids/{schema_id}").json()["schema"]
        assert json.loads(schema)["name"] == f"I{instance}N{n}"


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("POST", "/subjects/s-value/versions", b"{oops", 422),
        ("POST", "/subjects/s-value/versions", b'{"schema": "{\\"type\\": \\"record\\"}"}', 42201),
        ("GET", "/subjects/never-value/versions", None, 40401),
        ("GET", "/subjects/s-value/versions/2", None, 40402),
        ("GET", "/subjects/s-value/versions/-7", None, 42202),
        ("PUT", "/config/s-value", b'{"compatibility": "MOSTLY"}', 42203),
        ("POST", "/subjects/s-value/versions", None, 42201),  # oversized: body set below
    ],
)
def test_bad_input_gets_confluent_codes(
    registry: BackgroundRegistry, method: str, path: str, body: bytes | None, code: int
) -> None:
    register(registry.url, "s-value", record("S", "x"))
    if body is None and method == "POST":
        fields = ",".join(f'{{"name":"f{i:05d}","type":"string"}}' for i in range(3000))
        body = json.dumps(
            {"schema": f'{{"type":"record","name":"Big","fields":[{fields}]}}'}
        ).encode()
    response = httpx.request(method, f"{registry.url}{path}", content=body)
    assert response.status_code < 500
    assert response.json()["error_code"] == code, response.text
