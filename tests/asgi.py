"""Calling an ASGI app directly, with a body the test hands over piece by piece.

The TestClient reads a request's whole body before the app runs; this harness gives the app
one piece per ``receive()`` and counts the calls, so a test can tell how much of a body the
app (or its middleware) pulled before answering.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message


@dataclass
class Exchange:
    """One request's answer: status, headers, body, and how many pieces the app pulled."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    pulled: int = 0
    responses: int = 0  # http.response.start messages sent (exactly one in a sane exchange)

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    app: ASGIApp,
    method: str,
    path: str,
    pieces: Sequence[bytes] = (),
    headers: dict[str, str] | None = None,
) -> Exchange:
    """Send ``pieces`` as the body of one request (chunked unless ``headers`` say a length)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    exchange = Exchange()
    queue = list(pieces)

    async def receive() -> Message:
        exchange.pulled += 1
        if not queue:
            if exchange.pulled > len(pieces) + 1:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": b"", "more_body": False}
        piece = queue.pop(0)
        return {"type": "http.request", "body": piece, "more_body": bool(queue)}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            exchange.responses += 1
            exchange.status = message["status"]
            exchange.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            exchange.body += message.get("body", b"")

    async def run() -> None:
        await app(scope, receive, send)

    asyncio.run(run())
    return exchange
