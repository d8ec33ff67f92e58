"""A bound on request bodies, shared by the review app and the schema registry.

:class:`BodyLimit` is plain ASGI middleware. It refuses a request whose ``Content-Length`` is
over the limit before anything reads a byte of its body, and counts the bytes of every other
body (chunked, or a ``Content-Length`` that lies) as the app receives them: the message that
takes the count over the limit is not handed to the app, the refusal goes out instead, and
the rest of the body is never read. Each server says how a refusal looks (its error shape);
refusals carry ``Connection: close`` so the server drops the connection rather than draining
the unread body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

#: Builds a server's refusal: the request's scope, the limit, and the size the client
#: declared in ``Content-Length`` (None when it declared none).
Refusal = Callable[[Scope, int, int | None], Response]


class BodyTooLarge(Exception):
    """Raised to the app when a streamed body passes the limit (the refusal is already out)."""


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length`` as an int; None when absent or not a number."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def carries_body(scope: Scope) -> bool:
    """True when the request announces a body (a non-zero length, or a transfer coding)."""
    for name, value in scope.get("headers", ()):
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            return True
        if lowered == b"content-length" and value.strip() not in (b"", b"0"):
            return True
    return False


async def send_closing(response: Response, scope: Scope, send: Send) -> None:
    """Send ``response`` with ``Connection: close`` (its request's body stays unread)."""
    response.headers["Connection"] = "close"

    async def nothing_to_receive() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, nothing_to_receive, send)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` without buffering them (see the module)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, refuse: Refusal) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must not be negative, not {max_bytes}")
        self.app = app
        self.max_bytes = max_bytes
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            log.info(
                "refused %s %s: Content-Length %d over the limit of %d bytes",
                scope.get("method"),
                scope.get("path"),
                declared,
                self.max_bytes,
            )
            await send_closing(self.refuse(scope, self.max_bytes, declared), scope, send)
            return

        received = 0
        response_started = False
        refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    log.info(
                        "refused %s %s: body over the limit of %d bytes after %d",
                        scope.get("method"),
                        scope.get("path"),
                        self.max_bytes,
                        received,
                    )
                    if not response_started:
                        refused = True
                        refusal = self.refuse(scope, self.max_bytes, declared)
                        await send_closing(refusal, scope, send)
                    raise BodyTooLarge(f"the request body is over {self.max_bytes} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return  # the refusal went out; what the app says after it goes nowhere
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            # The app may turn BodyTooLarge into an error of its own (FastAPI: a 400 for a body
            # it could not read); once the refusal is out, none of that is news to anyone.
            if not refused:
                raise
