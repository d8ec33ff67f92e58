"""Lineage for the review app: the trail of a field, node or artifact, behind a small interface.

The pages and the API depend on :class:`LineageReader` only: a trail as plain data (the shape
of ``consumers.lineage.Trail.to_json``), or ``None`` when no store knows the ref.
``review/runtime.py`` builds the real one over the stores (VELOCITY_STORE_URL); unit tests
hand in a stub. Database errors of the kinds in ``unavailable`` become
:class:`ReadModelUnavailable`, so the pages and the API answer 503 like the client pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

from velocity_stream.review.clients import ReadModelUnavailable


class TrailLike(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class Tracer(Protocol):
    """What consumers.lineage.Lineage offers: a trail, LookupError for an unknown ref."""

    def trace(self, ref: str, field: str | None = None) -> TrailLike: ...


class LineageReader(Protocol):
    def trail(self, ref: str, field: str | None = None) -> Mapping[str, Any] | None:
        """The trail of ``ref`` (one field of it when ``field`` is set) as plain data, None
        when no store knows it."""
        ...


class StoreLineage:
    """A :class:`LineageReader` over a tracer reading the stores."""

    def __init__(self, tracer: Tracer, *, unavailable: tuple[type[Exception], ...] = ()) -> None:
        self._tracer = tracer
        self._unavailable = unavailable

    def trail(self, ref: str, field: str | None = None) -> Mapping[str, Any] | None:
        try:
            return self._tracer.trace(ref, field).to_json()
        except LookupError:
            return None
        except self._unavailable as error:
            raise ReadModelUnavailable(f"the stores cannot be read: {error}") from error


def lineage_path(ref: str, field: str | None = None) -> str:
    """The lineage page of a ref (or of one of its fields)."""
    path = f"/lineage/{quote(ref, safe='')}"
    return f"{path}?field={quote(field, safe='')}" if field else path


# Hops of these kinds have a page of their own in the app besides their lineage.
def page_of(kind: str, ref: str, facts: Mapping[str, Any]) -> str | None:
    if kind == "node" and ref.startswith("client:"):
        return f"/clients/{quote(ref, safe=':')}"
    if kind == "proposal" and facts.get("family"):
        return f"/proposals/{quote(str(facts['family']))}/{quote(ref, safe=':')}"
    return None
