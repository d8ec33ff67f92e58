"""One error shape across the API (``{"code", "message"}``, 422s included), HTML error pages
for the browser, and the API docs served from the app's own files (no CDN)."""

from __future__ import annotations

import pytest

from tests.unit.review.conftest import bearer


def test_an_unknown_api_path_is_a_404_in_the_error_shape(client):
    response = client.get("/api/v1/nothing-here", headers=bearer("tok-sayan"))
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "request.not_found"
    assert "/api/v1/nothing-here" in body["message"]
    assert "detail" not in body


def test_a_wrong_method_is_a_405_in_the_error_shape(client):
    response = client.put("/api/v1/me", headers=bearer("tok-sayan"))
    assert response.status_code == 405
    body = response.json()
    assert body["code"] == "request.method_not_allowed"
    assert "PUT" in body["message"]
    assert "GET" in response.headers["allow"]


def test_a_decision_of_the_wrong_shape_is_request_invalid_with_each_violation(client):
    response = client.post(
        "/api/v1/decisions",
        headers=bearer("tok-sayan"),
        json={"proposal_family": "OracleWritebackProposal", "decision": "MAYBE"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "request.invalid"
    assert "detail" not in body
    paths = {v["path"] for v in body["violations"]}
    assert paths == {"body.proposal_ref", "body.decision"}
    assert "body.decision" in body["message"]
    assert all(v["code"].startswith("request.") for v in body["violations"])


def test_a_query_parameter_out_of_range_is_request_invalid(client):
    response = client.get("/api/v1/dead-letters?limit=0", headers=bearer("tok-sayan"))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "request.invalid"
    assert [v["path"] for v in body["violations"]] == ["query.limit"]


def test_the_openapi_document_names_the_one_error_shape_for_every_422(client):
    document = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answer = operation["responses"].get("422")
            if answer is not None:
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path)


def test_an_unknown_page_is_an_html_404_in_the_layout(client):
    client.post("/login", data={"token": "tok-sayan"})
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text
    assert 'href="/queue"' in response.text  # the navigation of the layout
    assert "/no-such-page" in response.text


def test_an_unknown_page_without_a_login_is_still_html(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '"detail"' not in response.text


def test_the_docs_page_loads_swagger_ui_from_the_app_itself(client):
    page = client.get("/docs")
    assert page.status_code == 200
    sources = [
        part.split('"')[1] for part in page.text.split("src=")[1:] + page.text.split("href=")[1:]
    ]
    assert sources, "the docs page names no assets"
    assert all(src.startswith("/") for src in sources), sources  # nothing from another host
    assert "/openapi.json" in page.text


@pytest.mark.parametrize("asset", ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"])
def test_the_docs_assets_are_served(client, asset):
    response = client.get(f"/docs/assets/{asset}")
    assert response.status_code == 200
    assert len(response.content) > 500
