"""Failures people can see: an unreadable read model is a 503 with a sentence, a bug a 500
page, never a bare traceback; the store reader turns database errors into the former."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from fastapi.testclient import TestClient

from tests.unit.review.conftest import bearer
from velocity_stream.contracts import example
from velocity_stream.contracts.client360 import Client360Snapshot
from velocity_stream.review.app import ReviewServices, create_app
from velocity_stream.review.clients import (
    ClientSummary,
    ReadModelUnavailable,
    StoreClientReader,
)


class BrokenReader:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def snapshot(self, client_ref: str) -> Client360Snapshot | None:
        raise self.error

    def list_clients(self, limit: int = 100) -> Sequence[ClientSummary]:
        raise self.error


def app_with(services: ReviewServices, reader: BrokenReader) -> TestClient:
    services.clients = reader
    client = TestClient(create_app(services), raise_server_exceptions=False)
    client.post("/login", data={"token": "tok-sayan"})
    return client


def test_an_unreadable_read_model_is_a_503_page_and_json(services):
    client = app_with(services, BrokenReader(ReadModelUnavailable("no such table")))
    page = client.get("/clients")
    assert page.status_code == 503
    assert "The read model is not available" in page.text
    assert 'href="/queue"' in page.text  # still logged in: the navigation stays
    api = client.get("/api/v1/clients", headers=bearer("tok-sayan"))
    assert api.status_code == 503
    assert api.json()["code"] == "review.read_model_unavailable"


def test_the_decision_page_works_without_the_read_model(services, queue):
    client = app_with(services, BrokenReader(ReadModelUnavailable("down")))
    html = client.get("/queue").text
    token = html.split('name="form_token" value="')[1].split('"')[0]
    response = client.post(
        "/queue/decide",
        data={
            "form_token": token,
            "family": "OracleWritebackProposal",
            "proposal_id": "proposal:writeback:acme-stage",
            "decision": "APPROVED",
        },
    )
    assert response.status_code == 200
    assert 'data-status="submitted"' in response.text


def test_a_bug_is_a_500_page_not_a_traceback(services):
    client = app_with(services, BrokenReader(RuntimeError("boom")))
    page = client.get("/clients")
    assert page.status_code == 500
    assert "Something went wrong" in page.text
    assert "boom" not in page.text
    api = client.get("/api/v1/clients", headers=bearer("tok-sayan"))
    assert (api.status_code, api.json()["code"]) == (500, "internal.unexpected_error")


class FakeStore:
    def __init__(self, snapshots: list[Client360Snapshot], fail: Exception | None = None):
        self.snapshots = {s.client_ref: s for s in snapshots}
        self.fail = fail

    def snapshot(self, client_ref: str) -> Client360Snapshot | None:
        if self.fail:
            raise self.fail
        return self.snapshots.get(client_ref)

    def client_refs(self, limit: int = 100, after: str = "") -> list[str]:
        if self.fail:
            raise self.fail
        return sorted(ref for ref in self.snapshots if ref > after)[:limit]


def test_store_reader_lists_the_most_recent_first_across_pages():
    base = example("Client360Snapshot")
    assert isinstance(base, Client360Snapshot)
    snapshots = [
        base.model_copy(
            update={"client_ref": f"client:{n:04d}", "as_of": base.as_of.replace(minute=n % 60)}
        )
        for n in range(1200)
    ]
    reader = StoreClientReader(FakeStore(snapshots), scan=1200)
    listed = reader.list_clients(3)
    assert [s.as_of.minute for s in listed] == [59, 59, 59]
    assert reader.snapshot("client:0007") is not None


def test_store_reader_turns_database_errors_into_unavailable():
    class DatabaseDown(Exception):
        pass

    reader = StoreClientReader(FakeStore([], DatabaseDown("gone")), unavailable=(DatabaseDown,))
    with pytest.raises(ReadModelUnavailable):
        reader.list_clients()
    with pytest.raises(ReadModelUnavailable):
        reader.snapshot("client:x")


def test_a_decision_the_broker_never_acknowledges_is_a_delivery_error():
    from concurrent.futures import Future

    from velocity_stream.kafka.producer import DeliveryError
    from velocity_stream.review.decisions import ProducerPublisher

    class SilentProducer:
        def publish(self, artifact):
            return Future()  # never completed

    publisher = ProducerPublisher(SilentProducer(), timeout=0.05)
    with pytest.raises(DeliveryError, match="may still arrive"):
        publisher.publish(example("ApprovalDecision"))
