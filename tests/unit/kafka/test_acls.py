"""The ACL plan derived from the catalog: who may write what is exactly the trust model."""

from __future__ import annotations

import json

import pytest

from velocity_stream.cli.main import main
from velocity_stream.contracts.catalog import Catalog, Route, load_catalog
from velocity_stream.kafka.acls import Operation, Resource, plan
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR

PREFIX = "velocity"
APP_ID = "velocity-gateway"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(DEFAULT_SCHEMAS_DIR)


def test_only_the_review_app_and_the_gateway_write_decisions(catalog):
    acls = plan(catalog, PREFIX, APP_ID)
    [decider] = [f for f in catalog if f.route is Route.DECISION]
    for major in decider.majors():
        assert acls.writers(decider.ingress_topic(PREFIX, major)) == {"review-app", "gateway"}


def test_only_the_gateway_writes_what_it_routes(catalog):
    acls = plan(catalog, PREFIX, APP_ID)
    routed = [catalog.approvals_topic(PREFIX), catalog.commits_topic(PREFIX)]
    routed += [f.accepted_topic(PREFIX, m) for f in catalog for m in f.majors()]
    for topic in routed:
        assert acls.writers(topic) == {"gateway"}, topic


def test_each_producer_writes_its_families_ingress_and_no_other(catalog):
    acls = plan(catalog, PREFIX, APP_ID)
    assert acls.writers(catalog.family("QdSignalBundle").ingress_topic(PREFIX)) == {
        "qd-engine",
        "operator-console",
        "dlq-operator",
    }
    oracle_writes = {
        a.name for a in acls.acls if a.role == "oracle" and a.operation is Operation.WRITE
    }
    assert oracle_writes == {
        catalog.family("OracleWritebackProposal").ingress_topic(PREFIX),
        catalog.family("NormalizedEntityProposal").ingress_topic(PREFIX),
    }


def test_the_gateway_owns_its_group_and_changelogs_and_nobody_else_does(catalog):
    acls = plan(catalog, PREFIX, APP_ID)
    assert acls.writers(f"{APP_ID}-proposals-changelog") == {"gateway"}
    groups = [a for a in acls.acls if a.resource is Resource.GROUP]
    assert [(a.role, a.name) for a in groups] == [("gateway", APP_ID)]


def test_consumers_read_the_accepted_topics_of_their_families(catalog):
    acls = plan(catalog, PREFIX, APP_ID)
    reads = {(a.role, a.name) for a in acls.acls if a.operation is Operation.READ}
    assert ("client360", catalog.family("InteractionBundle").accepted_topic(PREFIX)) in reads
    assert ("graph-committer", catalog.commits_topic(PREFIX)) in reads
    assert ("client360", catalog.commits_topic(PREFIX)) not in reads


def test_commands_name_each_principal(catalog):
    acls = plan(catalog, PREFIX, APP_ID)
    lines = acls.commands({"gateway": "User:CN=gw"}, "kafka:9092")
    assert len(lines) == len(acls.acls)
    assert any("--allow-principal User:CN=gw --operation Write" in line for line in lines)
    prefixed = [line for line in lines if "--resource-pattern-type prefixed" in line]
    assert prefixed and all(f"--topic {APP_ID}-" in line for line in prefixed)


def test_the_cli_prints_the_plan_and_refuses_unknown_roles(capsys):
    assert main(["acls", "plan", "--format", "json", "--principal", "oracle=User:ai"]) == 0
    rows = json.loads(capsys.readouterr().out)
    oracle = [row for row in rows if row["role"] == "oracle"]
    assert oracle and all(row["principal"] == "User:ai" for row in oracle)
    assert main(["acls", "plan", "--principal", "nobody=User:x"]) == 2
    assert "no role named nobody" in capsys.readouterr().err
    assert main(["acls", "plan", "--principal", "oracle"]) == 2
