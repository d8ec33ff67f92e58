"""Lineage in the review app: ``GET /api/v1/lineage/{ref}`` (the trail, or the documented
``{"code","message"}`` errors) and the lineage page, over stores seeded in SQLite; the client
and proposal pages link to it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from consumers.lineage import Lineage
from consumers.storage import open_engine
from tests.unit.consumers.test_lineage import BATCH, CLIENT, DECISION, PERSON, PROPOSAL, ROW, seed
from tests.unit.review.conftest import bearer
from velocity_stream.review.app import ReviewServices, create_app
from velocity_stream.review.lineage import StoreLineage, lineage_path
from velocity_stream.review.pages import COOKIE_NAME

PREFIX = ""


@pytest.fixture
def traced(services: ReviewServices, tmp_path: Path) -> Iterator[TestClient]:
    # A file: the app reads from its worker threads, and each would get its own :memory: db.
    engine = open_engine(f"sqlite:///{tmp_path / 'stores.db'}")
    seed(engine, PREFIX)
    lineage = StoreLineage(Lineage(engine, PREFIX), unavailable=(OperationalError,))
    with TestClient(create_app(replace(services, lineage=lineage))) as made:
        yield made
    engine.dispose()


def _login(client: TestClient) -> None:
    client.cookies.set(COOKIE_NAME, "tok-sourik")


def test_api_trail_of_a_client_field(traced):
    response = traced.get(
        f"/api/v1/lineage/{CLIENT}", params={"field": "email"}, headers=bearer("tok-sourik")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["hops"][0]["id"] == f"field:{PERSON}#email"
    by_id = {hop["id"]: hop for hop in body["hops"]}
    assert by_id[f"decision:{DECISION}"]["facts"]["reviewer"] == "human:sourik"
    assert by_id[f"proposal:{PROPOSAL}"]["via"] == f"change:{DECISION}"
    assert by_id[f"import_row:{ROW}"]["items"][0]["column"] == "Email"
    assert f"import_batch:{BATCH}" in by_id


def test_api_errors_have_the_one_shape(traced, services):
    unknown = traced.get("/api/v1/lineage/nothing:here", headers=bearer("tok-sourik"))
    assert unknown.status_code == 404
    assert unknown.json() == {
        "code": "review.unknown_ref",
        "message": "no store knows 'nothing:here'",
    }
    no_field = traced.get(
        f"/api/v1/lineage/{CLIENT}", params={"field": "shoe_size"}, headers=bearer("tok-sourik")
    )
    assert no_field.status_code == 404 and no_field.json()["code"] == "review.unknown_ref"
    anonymous = traced.get(f"/api/v1/lineage/{CLIENT}")
    assert anonymous.status_code == 401 and set(anonymous.json()) >= {"code", "message"}
    with TestClient(create_app(services)) as storeless:
        none = storeless.get(f"/api/v1/lineage/{CLIENT}", headers=bearer("tok-sourik"))
    assert none.status_code == 503 and none.json()["code"] == "review.lineage_unavailable"


def test_an_unreadable_store_is_a_503(services, tmp_path):
    garbage = tmp_path / "stores.db"
    garbage.write_bytes(b"not a database" * 200)
    engine = open_engine(f"sqlite:///{garbage}")
    from sqlalchemy.exc import DatabaseError

    lineage = StoreLineage(Lineage(engine), unavailable=(DatabaseError,))
    with TestClient(create_app(replace(services, lineage=lineage))) as client:
        response = client.get(f"/api/v1/lineage/{CLIENT}", headers=bearer("tok-sourik"))
    engine.dispose()
    assert response.status_code == 503
    assert response.json()["code"] == "review.read_model_unavailable"


def test_lineage_page_shows_the_hops(traced):
    _login(traced)
    page = traced.get(lineage_path(CLIENT, "email"))
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-kind="field"' in html and f'data-ref="{PERSON}#email"' in html
    assert "APPROVED by human:sourik" in html
    assert f'data-ref="{ROW}"' in html
    # The field's ref (with '#') and refs with '/' survive the round trip through the URL.
    row = traced.get(lineage_path(ROW))
    assert row.status_code == 200 and 'data-kind="import_row"' in row.text
    assert traced.get(lineage_path(f"{PERSON}#email")).status_code == 200
    missing = traced.get(lineage_path("nothing:here"))
    assert missing.status_code == 404 and "Nothing to trace" in missing.text


def test_lineage_page_needs_a_login(traced):
    response = traced.get(lineage_path(CLIENT))
    assert response.status_code == 401 and "Log in" in response.text


def test_client_and_proposal_pages_link_to_lineage(client, snapshots, queue):
    client.cookies.set(COOKIE_NAME, "tok-sourik")
    snapshot = snapshots.list_clients(1)[0]
    page = client.get(f"/clients/{snapshot.client_ref}")
    assert page.status_code == 200
    assert f'href="{lineage_path(snapshot.client_ref)}"' in page.text
    full = snapshots.snapshot(snapshot.client_ref)
    if full.identity.emails:
        assert f'href="{lineage_path(snapshot.client_ref, "email")}"' in page.text
    for opportunity in full.active_opportunities:
        assert f'href="{lineage_path(opportunity.opportunity_ref)}"' in page.text
    for interaction in full.recent_interactions:
        assert f'href="{lineage_path(interaction.bundle_ref)}"' in page.text
    entry = queue.pending()[0]
    proposal = client.get(f"/proposals/{entry.view.family}/{entry.view.proposal_id}")
    assert proposal.status_code == 200
    assert f'href="{lineage_path(entry.view.proposal_id)}"' in proposal.text
