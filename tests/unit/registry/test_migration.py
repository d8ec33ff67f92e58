"""``registry import``: another registry copied into ours with ids, versions, references,
metadata and levels kept; idempotent, resumable, a dry run that writes nothing, refusals
reported, operator failures as one line and exit 2. Both registries are served over HTTP."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from velocity_stream.cli import registry_cmd
from velocity_stream.registry.server import BackgroundRegistry, free_port
from velocity_stream.registry.service import RegistryService
from velocity_stream.registry.store import memory_store

ADDRESS = {
    "type": "record",
    "name": "Address",
    "namespace": "geo",
    "fields": [{"name": "street", "type": "string"}],
}
ADDRESS_V2 = {
    **ADDRESS,
    "fields": [*ADDRESS["fields"], {"name": "zip", "type": "string", "default": ""}],
}
ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [{"name": "id", "type": "string"}, {"name": "to", "type": "geo.Address"}],
}
OTHER = {"type": "record", "name": "Other", "fields": [{"name": "x", "type": "int"}]}
METADATA = {"properties": {"owner": "shop-team"}}


def run(argv: list[str]) -> int:
    root = argparse.ArgumentParser(prog="velocity-stream")
    registry_cmd.register(root.add_subparsers(dest="command"))
    args = root.parse_args(argv)
    code: int = args.handler(args)
    return code


def serve() -> BackgroundRegistry:
    return BackgroundRegistry(RegistryService(memory_store())).start()


def put(url: str, body: dict[str, Any]) -> None:
    response = httpx.put(url, json=body)
    assert response.status_code == 200, response.text


def imported(
    url: str, subject: str, schema: object, schema_id: int, version: int, **extra: Any
) -> None:
    body = {"schema": json.dumps(schema), "id": schema_id, "version": version, **extra}
    response = httpx.post(f"{url}/subjects/{subject}/versions", json=body)
    assert response.json() == {"id": schema_id}, response.text


def fill_source(url: str) -> None:
    """Ids that a fresh registry would never hand out, as a long-lived one holds them."""
    put(f"{url}/mode", {"mode": "IMPORT"})
    imported(url, "address-value", ADDRESS, 7, 1)
    imported(url, "address-value", ADDRESS_V2, 12, 2)
    ref1 = [{"name": "geo.Address", "subject": "address-value", "version": 1}]
    ref2 = [{"name": "geo.Address", "subject": "address-value", "version": 2}]
    imported(url, "orders-value", ORDER, 20, 1, references=ref1, metadata=METADATA)
    imported(url, "orders-value", ORDER, 31, 3, references=ref2, metadata=METADATA)
    imported(url, "other-value", OTHER, 5, 1)
    imported(url, "gone-value", {**OTHER, "name": "Gone"}, 40, 1)
    put(f"{url}/mode", {"mode": "READWRITE"})
    httpx.delete(f"{url}/subjects/gone-value")  # soft-deleted: not copied
    put(f"{url}/config/orders-value", {"compatibility": "FULL"})
    put(f"{url}/config", {"compatibility": "FORWARD"})


def versions_of(url: str, *, deleted: bool = False) -> dict[tuple[str, int], dict[str, Any]]:
    flag = "?deleted=true" if deleted else ""
    found = {}
    for subject in httpx.get(f"{url}/subjects{flag}").json():
        for version in httpx.get(f"{url}/subjects/{subject}/versions{flag}").json():
            found[(subject, version)] = httpx.get(
                f"{url}/subjects/{subject}/versions/{version}{flag}"
            ).json()
    return found


@pytest.fixture
def source() -> Iterator[BackgroundRegistry]:
    registry = serve()
    fill_source(registry.url)
    yield registry
    registry.stop()


@pytest.fixture
def target() -> Iterator[BackgroundRegistry]:
    registry = serve()
    yield registry
    registry.stop()


def test_everything_live_is_copied_with_its_ids_and_versions(
    source: BackgroundRegistry, target: BackgroundRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["registry", "import", "--from", source.url, "--to", target.url]) == 0
    out = capsys.readouterr().out
    assert "[1/3] address-value: 2 copied" in out
    assert "versions: copied 5, already there 0, refused 0, skipped 0" in out
    assert "levels: copied 2, already there 0, refused 0, skipped 0" in out
    expected = versions_of(source.url)
    assert versions_of(target.url) == expected  # subject, version, id, schema, refs, metadata
    assert ("gone-value", 1) not in versions_of(target.url, deleted=True)
    assert httpx.get(f"{target.url}/config/orders-value").json() == {"compatibilityLevel": "FULL"}
    assert httpx.get(f"{target.url}/config").json() == {"compatibilityLevel": "FORWARD"}
    # No subject is left in IMPORT mode, and new ids continue above the imported ones.
    for subject in ("address-value", "orders-value", "other-value"):
        assert httpx.get(f"{target.url}/mode/{subject}").json()["error_code"] == 40409
    fresh = httpx.post(f"{target.url}/subjects/new-value/versions", json={"schema": '"string"'})
    assert fresh.json() == {"id": 32}

    # Running again copies nothing.
    assert run(["registry", "import", "--from", source.url, "--to", target.url]) == 0
    again = capsys.readouterr().out
    assert "versions: copied 0, already there 5, refused 0" in again
    assert "levels: copied 0, already there 2, refused 0" in again


def test_a_subset_takes_the_subjects_it_references_and_a_later_run_resumes(
    source: BackgroundRegistry, target: BackgroundRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["registry", "import", "--from", source.url, "--to", target.url]
    assert run([*args, "--subjects", "orders-*"]) == 0
    assert sorted(httpx.get(f"{target.url}/subjects").json()) == ["address-value", "orders-value"]
    assert httpx.get(f"{target.url}/config").json() == {"compatibilityLevel": "BACKWARD"}
    capsys.readouterr()
    assert run(args) == 0
    assert "versions: copied 1, already there 4" in capsys.readouterr().out
    assert versions_of(target.url) == versions_of(source.url)


def test_a_dry_run_writes_nothing(
    source: BackgroundRegistry, target: BackgroundRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["registry", "import", "--from", source.url, "--to", target.url, "--dry-run"]
    assert run([*args, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {v["outcome"] for v in report["versions"]} == {"would-copy"}
    assert len(report["versions"]) == 5
    assert httpx.get(f"{target.url}/subjects").json() == []
    assert httpx.get(f"{target.url}/mode/orders-value").json()["error_code"] == 40409


def test_conflicts_are_refused_and_what_depends_on_them_skipped(
    source: BackgroundRegistry, target: BackgroundRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    # Our registry already gave id 7 to another schema.
    put(f"{target.url}/mode", {"mode": "IMPORT"})
    imported(target.url, "mine-value", {**OTHER, "name": "Mine"}, 7, 1)
    put(f"{target.url}/mode", {"mode": "READWRITE"})
    assert run(["registry", "import", "--from", source.url, "--to", target.url]) == 1
    out = capsys.readouterr().out
    assert "refused: address-value version 1 (id 7): id 7 holds another schema here" in out
    assert "skipped: orders-value version 1 (id 20): references address-value version 1" in out
    assert versions_of(target.url)[("orders-value", 3)]["id"] == 31  # the rest went through
    assert httpx.get(f"{target.url}/schemas/ids/7").json()["schema"] == json.dumps(
        {**OTHER, "name": "Mine"}, separators=(",", ":")
    )


def test_operator_failures_are_one_line_and_exit_2(
    target: BackgroundRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    for bad in ("registry.example.com", "ftp://host/x", "http://"):
        assert run(["registry", "import", "--from", bad, "--to", target.url]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: --from") and "not an http(s) URL" in err
        assert "\n" not in err
    nowhere = f"http://127.0.0.1:{free_port()}"
    assert run(["registry", "import", "--from", nowhere, "--to", target.url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "unreachable" in err and "\n" not in err
    assert run(["registry", "import", "--from", target.url, "--to", target.url]) == 2
    assert "the same registry" in capsys.readouterr().err
