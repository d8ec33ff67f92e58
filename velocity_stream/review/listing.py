"""Filtering, sorting and paging the queue: a pure query over queue entries.

The queue page reads a :class:`QueueQuery` from its query string and writes it back into its
links (filters, pages), so a filtered page can be bookmarked. Unusable values are refused
with a :class:`QueryProblem` naming the parameter, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Generic, TypeVar
from urllib.parse import urlencode

from velocity_stream.review.queue import QueueEntry

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200
# Below this confidence a change is "low confidence": it needs the confirm step to approve.
LOW_CONFIDENCE = 0.6

SORTS: dict[str, Callable[[QueueEntry], tuple[object, ...]]] = {
    "oldest": lambda e: (e.view.created_at, e.view.proposal_id),
    "newest": lambda e: (-e.view.created_at.timestamp(), e.view.proposal_id),
    "confidence": lambda e: (e.view.confidence, e.view.created_at, e.view.proposal_id),
    "-confidence": lambda e: (-e.view.confidence, e.view.created_at, e.view.proposal_id),
}


class QueryProblem(ValueError):
    """A query parameter the listing cannot use: which one, and why."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing: its items, how many matched, and where it is."""

    items: list[T]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        """1-based position of the first item shown (0 when there is none)."""
        return (self.page - 1) * self.size + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0


def paginate(items: Sequence[T], page: int, size: int) -> Page[T]:
    """``items[page]`` of ``size``; a page past the end shows the last page."""
    total = len(items)
    last_page = max(1, -(-total // size))
    page = min(max(1, page), last_page)
    start = (page - 1) * size
    return Page(list(items[start : start + size]), total, page, size)


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """What the reviewer asked to see: every field empty or None means "any"."""

    family: str = ""
    operation: str = ""
    target: str = ""  # a part of the target ref, any case
    proposer: str = ""  # a part of created_by, any case
    min_confidence: float | None = None
    max_confidence: float | None = None
    min_age_hours: float | None = None  # only proposals at least this old
    max_age_hours: float | None = None  # only proposals at most this old
    sort: str = "oldest"
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE

    def matches(self, entry: QueueEntry, now: datetime) -> bool:
        return self._matcher(now)(entry)

    def _matcher(self, now: datetime) -> Callable[[QueueEntry], bool]:
        """A test of one entry, with the age limits turned into creation-time cut-offs once."""
        newest = now - timedelta(hours=self.min_age_hours) if self.min_age_hours else None
        oldest = now - timedelta(hours=self.max_age_hours) if self.max_age_hours else None
        operation = self.operation.upper()
        target = self.target.lower()
        proposer = self.proposer.lower()

        def test(entry: QueueEntry) -> bool:
            view = entry.view
            if self.family and view.family != self.family:
                return False
            if operation and view.operation.upper() != operation:
                return False
            if target and target not in view.target_ref.lower():
                return False
            if proposer and proposer not in view.created_by.lower():
                return False
            if self.min_confidence is not None and view.confidence < self.min_confidence:
                return False
            if self.max_confidence is not None and view.confidence > self.max_confidence:
                return False
            if newest is not None and view.created_at > newest:
                return False
            return not (oldest is not None and view.created_at < oldest)

        return test

    def apply(self, entries: Sequence[QueueEntry], now: datetime) -> Page[QueueEntry]:
        test = self._matcher(now)
        chosen = [entry for entry in entries if test(entry)]
        chosen.sort(key=SORTS[self.sort])  # linear on the queue's own oldest-first order
        return paginate(chosen, self.page, self.size)

    @property
    def filtered(self) -> bool:
        return self != QueueQuery(sort=self.sort, page=self.page, size=self.size)

    def params(self, **changes: object) -> str:
        """This query as a query string (defaults left out), with ``changes`` applied."""
        query = replace(self, **changes)  # type: ignore[arg-type]
        default = QueueQuery()
        pairs = []
        for name, value in (
            ("family", query.family),
            ("operation", query.operation),
            ("target", query.target),
            ("proposer", query.proposer),
            ("min_confidence", query.min_confidence),
            ("max_confidence", query.max_confidence),
            ("min_age_hours", query.min_age_hours),
            ("max_age_hours", query.max_age_hours),
            ("sort", query.sort),
            ("page", query.page),
            ("size", query.size),
        ):
            if value != getattr(default, name) and value is not None:
                pairs.append((name, f"{value:g}" if isinstance(value, float) else str(value)))
        return urlencode(pairs)


def _number(params: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise QueryProblem(name, f"{text!r} is not a number") from None
    if not low <= value <= high:
        raise QueryProblem(name, f"{text} is not between {low:g} and {high:g}")
    return value


def _whole(params: Mapping[str, str], name: str, default: int, high: int) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= high:
        raise QueryProblem(name, f"{text!r} is not a whole number from 1 to {high}")
    return int(text)


def queue_query(params: Mapping[str, str]) -> QueueQuery:
    """The query from request parameters; QueryProblem names the first unusable one.

    Confidences are fractions (0 to 1) or percentages (above 1 and up to 100)."""

    def confidence(name: str) -> float | None:
        value = _number(params, name, 0, 100)
        return value / 100 if value is not None and value > 1 else value

    sort = params.get("sort", "").strip() or "oldest"
    if sort not in SORTS:
        raise QueryProblem("sort", f"{sort!r} is not one of {', '.join(SORTS)}")
    return QueueQuery(
        family=params.get("family", "").strip(),
        operation=params.get("operation", "").strip().upper(),
        target=params.get("target", "").strip(),
        proposer=params.get("proposer", "").strip(),
        min_confidence=confidence("min_confidence"),
        max_confidence=confidence("max_confidence"),
        min_age_hours=_number(params, "min_age_hours", 0, 24 * 3650),
        max_age_hours=_number(params, "max_age_hours", 0, 24 * 3650),
        sort=sort,
        page=_whole(params, "page", 1, 1_000_000),
        size=_whole(params, "size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    )


def needs_confirmation(entry: QueueEntry) -> str | None:
    """Why approving this needs an explicit confirmation, or None: merges (two records become
    one) and low-confidence changes."""
    view = entry.view
    if view.merge_refs or view.operation.upper() == "MERGE":
        return "it merges records"
    if view.confidence < LOW_CONFIDENCE:
        return f"its confidence is below {round(LOW_CONFIDENCE * 100)}%"
    return None
