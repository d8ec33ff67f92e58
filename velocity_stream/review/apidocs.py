"""The API's documentation page (``/docs``): Swagger UI from files installed with the app.

FastAPI's own ``/docs`` loads Swagger UI from a CDN, so it is blank on a machine without
internet. The ``swagger-ui-bundle`` package ships Swagger UI's files; the app serves them
under ``/docs/assets`` and points the page at them, so the page needs nothing but the app.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

ASSETS_PATH = "/docs/assets"
SWAGGER_DIR = Path(swagger_ui_path)


def mount_docs(app: FastAPI, title: str) -> None:
    """``/docs`` and its assets on ``app`` (created with ``docs_url=None``)."""
    openapi_url = app.openapi_url or "/openapi.json"

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} · API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        )

    app.add_api_route("/docs", docs, include_in_schema=False, methods=["GET"])
    app.mount(ASSETS_PATH, StaticFiles(directory=SWAGGER_DIR), name="docs-assets")
