"""The HTTP edges Confluent's registry defines apart from its routes: media types and path segments.

Media types: a request body may be sent as ``application/vnd.schemaregistry.v1+json``,
``application/vnd.schemaregistry+json``, ``application/json`` or ``application/octet-stream``
(what a client that names none sends); any other ``Content-Type`` is refused with 415. The
answer is one of the first three, chosen from the request's ``Accept`` by its ``q`` weights
and the server's preference (v1 first, then the unversioned type, then plain JSON); an
``Accept`` that admits none of them is refused with 406. Both checks run after routing
(:class:`MediaRoute`, around each route's handler), so an unknown path is still a 404, as with
Confluent. A route class rather than a FastAPI dependency: a dependency on every request costs
about as much again as the rest of a cached lookup.

Path segments: Starlette decodes the path before routing, so ``a%2Fb`` would become two
segments. :class:`RawPath` routes on the path as sent, and every path parameter uses the
``registry_segment`` convertor, which decodes its segment once: ``/subjects/a%2Fb/versions``
serves the subject ``a/b``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.convertors import Convertor, register_url_convertor
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from velocity_stream.registry.errors import ErrorCode, RegistryRequestError

V1_JSON = "application/vnd.schemaregistry.v1+json"
DEFAULT_JSON = "application/vnd.schemaregistry+json"
JSON = "application/json"
GENERIC = "application/octet-stream"
#: What a request body may be; a missing Content-Type counts as GENERIC.
CONSUMED = frozenset({V1_JSON, DEFAULT_JSON, JSON, GENERIC})
#: What an answer may be, with the server's own weight for each (v1 preferred).
PRODUCED: tuple[tuple[str, float], ...] = ((V1_JSON, 1.0), (DEFAULT_JSON, 0.9), (JSON, 0.5))
#: The key under the request's state where the negotiated answer type is kept.
STATE_KEY = "registry_media_type"
SEGMENT = "registry_segment"


@dataclass(frozen=True, slots=True)
class MediaRange:
    kind: str
    subtype: str
    q: float

    def matches(self, media_type: str) -> bool:
        kind, _, subtype = media_type.partition("/")
        return self.kind in ("*", kind) and self.subtype in ("*", subtype)

    @property
    def specificity(self) -> int:
        return (self.kind != "*") + (self.subtype != "*")


def _bare(media_type: str) -> str:
    return media_type.split(";", 1)[0].strip().lower()


def parse_accept(header: str) -> list[MediaRange]:
    """The ranges of an ``Accept`` header; malformed entries and bad weights are skipped."""
    ranges: list[MediaRange] = []
    for entry in header.split(","):
        kind, _, subtype = _bare(entry).partition("/")
        if not kind or not subtype:
            continue
        q = 1.0
        for parameter in entry.split(";")[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
        if 0.0 <= q <= 1.0:
            ranges.append(MediaRange(kind, subtype, q))
    return ranges


@lru_cache(maxsize=256)  # clients send the same few Accept headers; bounded for the others
def negotiate(accept: str | None) -> str | None:
    """The answer type for an ``Accept`` header; None when it admits none we produce."""
    if accept is None or not accept.strip():
        return V1_JSON
    ranges = parse_accept(accept)
    if not ranges:
        return V1_JSON  # nothing readable in it: answer as if it named nothing
    best: tuple[float, str] | None = None
    for media_type, weight in PRODUCED:
        matching = [r for r in ranges if r.matches(media_type)]
        if not matching:
            continue
        # The most specific range that matches decides the client's weight for this type.
        q = max(matching, key=lambda r: r.specificity).q
        if q > 0 and (best is None or q * weight > best[0]):
            best = (q * weight, media_type)
    return None if best is None else best[1]


def check_media(method: str, content_type: str | None, accept: str | None) -> str:
    """415 for a body type we do not read, 406 for an Accept we cannot answer; else the type."""
    if method in ("POST", "PUT") and _bare(content_type or GENERIC) not in CONSUMED:
        raise RegistryRequestError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE, "HTTP 415 Unsupported Media Type"
        )
    chosen = negotiate(accept)
    if chosen is None:
        raise RegistryRequestError(ErrorCode.NOT_ACCEPTABLE, "HTTP 406 Not Acceptable")
    return chosen


class MediaRoute(APIRoute):
    """A route whose handler first judges the request's media types (:func:`check_media`)
    and keeps the chosen answer type for :class:`RawPath` to put on the response."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def judged(request: Request) -> Response:
            headers = request.headers
            chosen = check_media(request.method, headers.get("content-type"), headers.get("accept"))
            request.scope.setdefault("state", {})[STATE_KEY] = chosen
            return await handler(request)

        return judged


class RawPath:
    """Routes on the path as the client sent it; each path parameter decodes its own segment.

    Also sends every answer of the registry's API as the type :func:`check_media` chose for the
    request (the routes build them as ``V1_JSON``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path")
        if raw:
            scope = dict(scope)
            scope["path"] = bytes(raw).split(b"?", 1)[0].decode("latin-1")
        state = scope.setdefault("state", {})

        async def typed(message: Message) -> None:
            chosen = state.get(STATE_KEY)
            if message["type"] == "http.response.start" and chosen and chosen != V1_JSON:
                headers = [
                    (
                        name,
                        chosen.encode()
                        if name.lower() == b"content-type" and value.startswith(V1_JSON.encode())
                        else value,
                    )
                    for name, value in message.get("headers", ())
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, typed)


class SegmentConvertor(Convertor[str]):
    """One path segment as sent, percent-decoded once (UTF-8; bad bytes become U+FFFD)."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return unquote_to_bytes(value.encode("latin-1")).decode("utf-8", errors="replace")

    def to_string(self, value: str) -> str:
        return value


register_url_convertor(SEGMENT, SegmentConvertor())
