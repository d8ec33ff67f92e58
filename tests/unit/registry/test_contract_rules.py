"""The catalog's contract rules published as Confluent metadata when the catalog is registered,
and registration staying idempotent whatever metadata earlier runs attached."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.contracts.qd_signal import QdSignalBundle
from velocity_stream.contracts.registry import MODELS
from velocity_stream.errors import ReasonCode
from velocity_stream.registry import contract_rules, registration
from velocity_stream.registry.api import create_app
from velocity_stream.registry.client import RegistryClient
from velocity_stream.registry.contract_rules import (
    RULE_PREFIX,
    RULES_PROPERTY,
    contract_metadata,
    rules_of,
)
from velocity_stream.registry.registration import Outcome, register_catalog
from velocity_stream.registry.service import RegistryService
from velocity_stream.registry.store import memory_store

CATALOG = load_catalog(Path(__file__).resolve().parents[3] / "avro_schemas")
ENVELOPE = {
    ReasonCode.CONTRACT_ARTIFACT_TYPE_MISMATCH.value: "artifact_type",
    ReasonCode.CONTRACT_SCHEMA_VERSION_MISMATCH.value: "schema_version",
    ReasonCode.CONTRACT_CONFIDENCE_RANGE.value: "confidence",
    ReasonCode.CONTRACT_PROVENANCE_REFS_REQUIRED.value: "provenance.source_refs",
    # no string anywhere may hold U+0000 (docs/reason-codes.md)
    ReasonCode.CONTRACT_INVALID_FIELD.value: "*",
}


@pytest.fixture
def app() -> TestClient:
    return TestClient(create_app(RegistryService(memory_store())))


@pytest.fixture
def client(app: TestClient) -> RegistryClient:
    return RegistryClient("http://registry.test", http=app)


def test_a_models_rules_are_its_own_and_the_envelopes_with_their_fields() -> None:
    rules = dict(rules_of(QdSignalBundle))
    assert rules == ENVELOPE | {
        ReasonCode.CONTRACT_QD_EVIDENCE_REQUIRED.value: "supporting_evidence_refs",
        ReasonCode.CONTRACT_QD_TIME_WINDOW.value: "time_window.end",
    }


def test_every_contract_reason_code_is_published_for_some_family() -> None:
    published = {
        code for majors in MODELS.values() for m in majors.values() for code, _ in rules_of(m)
    }
    contract_codes = {
        c.value
        for c in ReasonCode
        if c.value.startswith("contract.")
        # pydantic's own field checks (types, timestamps) and the key check are not rules(),
        # nor are the committer's checks of the proposal a commit record carries (it decodes
        # the embedded bytes, which no model rule can)
        and c
        not in (
            ReasonCode.CONTRACT_INVALID_FIELD,
            ReasonCode.CONTRACT_NAIVE_TIMESTAMP,
            ReasonCode.CONTRACT_KEY_MISMATCH,
            ReasonCode.CONTRACT_COMMIT_PROPOSAL_INVALID,
            ReasonCode.CONTRACT_COMMIT_PROPOSAL_MISMATCH,
        )
    }
    assert contract_codes <= published, contract_codes - published


def test_registering_the_catalog_publishes_each_familys_rules(
    app: TestClient, client: RegistryClient
) -> None:
    report = register_catalog(CATALOG, client, "velocity")
    assert report.ok
    family = CATALOG.family("QdSignalBundle")
    subject = f"{family.ingress_topic('velocity', 1)}-value"
    version = app.get(f"/subjects/{subject}/versions/latest").json()
    properties = version["metadata"]["properties"]
    assert properties["velocity.family"] == "QdSignalBundle"
    codes = properties[RULES_PROPERTY].split(",")
    assert ReasonCode.CONTRACT_QD_EVIDENCE_REQUIRED.value in codes
    assert properties[f"{RULE_PREFIX}{ReasonCode.CONTRACT_QD_TIME_WINDOW.value}"] == (
        "time_window.end"
    )
    assert version["metadata"] == contract_metadata(family, 1)


def test_registration_is_idempotent_across_metadata_of_earlier_runs(
    client: RegistryClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A first run made before rules were published (no metadata) ...
    monkeypatch.setattr(registration, "contract_metadata", lambda family, major: None)
    first = register_catalog(CATALOG, client, "velocity")
    # ... and one whose rules differed from today's.
    monkeypatch.setattr(
        registration,
        "contract_metadata",
        lambda family, major: {"properties": {"velocity.rules": "contract.old_rule"}},
    )
    second = register_catalog(CATALOG, client, "velocity")
    monkeypatch.undo()
    third = register_catalog(CATALOG, client, "velocity")
    fourth = register_catalog(CATALOG, client, "velocity")
    assert {r.outcome for r in first.results} == {Outcome.REGISTERED}
    for later in (second, third, fourth):
        assert {r.outcome for r in later.results} == {Outcome.ALREADY_REGISTERED}
        assert [r.schema_id for r in later.results] == [r.schema_id for r in first.results]
    for subject in {r.subject for r in first.results}:
        registered = [r for r in first.results if r.subject == subject]
        assert len(client.versions(subject)) == len(registered)


def test_without_source_files_nothing_is_published_and_nothing_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_source(obj: object) -> str:
        raise OSError("could not get source code")

    monkeypatch.setattr(contract_rules.inspect, "getsource", no_source)
    assert rules_of.__wrapped__(QdSignalBundle) == ()
