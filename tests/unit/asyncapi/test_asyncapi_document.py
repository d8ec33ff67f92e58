from __future__ import annotations

import json
from pathlib import Path

import fastavro

from velocity_stream.asyncapi import build_document
from velocity_stream.cli.main import main
from velocity_stream.contracts.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[3] / "avro_schemas"
CATALOG = load_catalog(ROOT)


def _resolve(document: dict, ref: str) -> object:
    node: object = document
    for part in ref.removeprefix("#/").split("/"):
        assert isinstance(node, dict) and part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def test_every_topic_of_the_catalog_is_a_channel() -> None:
    document = build_document(CATALOG, "velocity")
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {spec.name for spec in CATALOG.topic_specs("velocity")}


def test_every_reference_resolves() -> None:
    document = build_document(CATALOG, "velocity")
    for operation in document["operations"].values():
        _resolve(document, operation["channel"]["$ref"])
    for channel in document["channels"].values():
        for message in channel["messages"].values():
            _resolve(document, message["$ref"])


def test_owners_send_and_consumers_receive_per_the_catalog() -> None:
    document = build_document(CATALOG, "velocity")
    operations = document["operations"]
    assert operations["oracle_sends_OracleWritebackProposalV1"]["action"] == "send"
    receive = operations["client360_receives_QdSignalBundleV1"]
    assert receive["action"] == "receive"
    assert receive["channel"]["$ref"].endswith("velocity_qd_signal_bundle_accepted_v1")


def test_payloads_are_the_released_avro_schemas() -> None:
    document = build_document(CATALOG, "velocity")
    manifest_v2 = document["components"]["messages"]["ImportMappingManifestV2"]
    assert manifest_v2["payload"]["schemaFormat"].startswith("application/vnd.apache.avro")
    fastavro.parse_schema(manifest_v2["payload"]["schema"])
    assert manifest_v2["x-velocity"]["released_versions"] == ["2.0.0"]


def test_cli_writes_the_document(tmp_path: Path) -> None:
    target = tmp_path / "asyncapi.json"
    assert main(["docs", "asyncapi", "--output", str(target)]) == 0
    assert json.loads(target.read_text())["asyncapi"] == "3.0.0"
