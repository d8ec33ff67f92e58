"""The demo data set takes the gateway paths it is meant to: run through the real pipeline in
memory, exactly the intended proposals wait for review and exactly three records are refused."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime

import pytest

from tests import signing
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.imports import RawImportBatch
from velocity_stream.devstack.demo_intake import CSV_TEXT, csv_rows
from velocity_stream.devstack.seed import DemoData, demo_data
from velocity_stream.gateway import MemoryRunner, Outcome, Pipeline, RouteKind
from velocity_stream.protocol import headers as h
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR

PREFIX = "demo"
NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(DEFAULT_SCHEMAS_DIR)


@pytest.fixture(scope="module")
def data() -> DemoData:
    return demo_data(NOW)


@pytest.fixture(scope="module")
def routed(catalog: Catalog, data: DemoData) -> tuple[MemoryRunner, list[Outcome]]:
    serde = AvroSerde(catalog, InMemorySchemaResolver(), PREFIX)
    pipeline = Pipeline(
        catalog,
        serde,
        PREFIX,
        gateway_version="t",
        clock=lambda: 0,
        verify_keys=signing.KEYRING,
        rule_signer=signing.RULE_KEY,
    )
    runner = MemoryRunner(pipeline)
    outcomes: list[Outcome] = []
    for artifact in (*data.artifacts, *data.refused):
        family = catalog.family(artifact.FAMILY)
        key = str(getattr(artifact, family.key_field)).encode()
        topic = family.ingress_topic(PREFIX, int(artifact.SCHEMA_VERSION.split(".")[0]))
        outcomes += runner.send(topic, key, serde.encode(artifact), (), 1_000)
    for raw in data.garbage:
        topic = catalog.family(raw.family).ingress_topic(PREFIX)
        outcomes += runner.send(topic, raw.key, raw.value, (), 1_000)
    return runner, outcomes


def test_the_batch_hash_covers_the_uploaded_csv(data: DemoData):
    batch = next(a for a in data.artifacts if isinstance(a, RawImportBatch))
    assert batch.content_sha256 == hashlib.sha256(CSV_TEXT.encode()).hexdigest()
    assert batch.row_count == len(csv_rows()) == 6


def test_exactly_the_intended_proposals_wait_for_review(routed, catalog: Catalog, data: DemoData):
    runner, _ = routed
    pending = [
        (dict(m.headers)[h.FAMILY].decode(), m.key.decode())
        for m in runner.topic(catalog.approvals_topic(PREFIX))
        if dict(m.headers)[h.APPROVAL_STATE] == h.APPROVAL_STATE_PENDING
    ]
    assert sorted(pending) == sorted(data.pending)
    assert len(pending) == 5


def test_low_risk_leads_are_approved_by_the_auto_rule_and_committed(routed, catalog: Catalog):
    runner, outcomes = routed
    auto = [o for o in outcomes if o.route is RouteKind.AUTO_APPROVED]
    assert len(auto) == 4
    assert len(runner.topic(catalog.commits_topic(PREFIX))) == 4


def test_three_records_are_dead_lettered_with_their_reasons(routed, catalog: Catalog):
    runner, _ = routed
    reasons = Counter(
        dict(m.headers)[h.DLQ_REASON].decode()
        for m in runner.topic(catalog.dead_letter_topic(PREFIX))
    )
    assert reasons == Counter(
        {"auth.not_owner": 1, "state.import_row.out_of_range": 1, "decode.bad_magic_byte": 1}
    )


def test_everything_else_is_accepted(routed, data: DemoData):
    _, outcomes = routed
    routes = Counter(o.route for o in outcomes)
    # 33 artifacts: 5 pending, 6 entity proposals of which 4 auto-approved (+4 rule decisions
    # fed back and applied), everything else accepted; 3 refused.
    assert routes[RouteKind.PENDING_APPROVAL] == 5
    assert routes[RouteKind.DEAD_LETTER] == 3
    assert routes[RouteKind.DECISION_APPLIED] == 4
    assert routes[RouteKind.ACCEPTED] == len(data.artifacts) - 5 - 4
    assert RouteKind.HELD not in routes


def test_the_demo_is_the_same_for_the_same_clock():
    first, second = demo_data(NOW), demo_data(NOW)
    assert [a.model_dump() for a in first.artifacts] == [a.model_dump() for a in second.artifacts]
