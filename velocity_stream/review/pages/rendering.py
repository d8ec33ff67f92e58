"""What every page shares: the Jinja2 templates and their filters, ``render`` (the navigation's
context added), the login-cookie dependency, reading a form, and the pages that only say
something (an unknown thing, a part this app instance lacks, a failure)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from velocity_stream import __version__
from velocity_stream.review.app import ReviewServices, services_of
from velocity_stream.review.auth import COOKIE_NAME, AuthError, Reviewer
from velocity_stream.review.lineage import lineage_path

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
MAX_FORM_BYTES = 64 * 1024

Services = Annotated[ReviewServices, Depends(services_of)]


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


def _ago(value: datetime | None) -> str:
    if value is None:
        return ""
    seconds = int((datetime.now(UTC) - value).total_seconds())
    if seconds < 0:
        return "in the future"
    for unit, size in (("day", 86_400), ("hour", 3_600), ("min", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 and unit != 'min' else ''} ago"
    return "just now"


def _pct(value: float) -> str:
    return f"{round(value * 100)}%"


def _amount(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(when=_when, ago=_ago, pct=_pct, amount=_amount, urlpart=quote)
templates.globals.update(lineage=lineage_path)


def render(
    request: Request,
    name: str,
    *,
    status: int = 200,
    reviewer: Reviewer | None = None,
    **context: Any,
) -> HTMLResponse:
    services = services_of(request)
    common = {
        "reviewer": reviewer,
        "form_token": services.directory.form_token(reviewer) if reviewer else "",
        "pending_count": services.queue.pending_count() if reviewer else 0,
        "caught_up": services.caught_up(),
        "version": __version__,
        "active": context.pop("active", ""),
    }
    html = templates.get_template(name).render(**common, **context)
    return HTMLResponse(html, status_code=status)


def message(
    request: Request, reviewer: Reviewer | None, active: str, status: int, title: str, text: str
) -> HTMLResponse:
    """A page that only says something, under the navigation tab ``active``."""
    return render(
        request,
        "message.html",
        status=status,
        reviewer=reviewer,
        active=active,
        title=title,
        text=text,
    )


def page_reviewer(request: Request) -> Reviewer:
    """The caller, from the login cookie: AuthError (401/403) otherwise."""
    return services_of(request).directory.identify(request.cookies.get(COOKIE_NAME))


CurrentReviewer = Annotated[Reviewer, Depends(page_reviewer)]


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body as a dict (last value wins); bodies over 64 KB are cut off."""
    body = (await request.body())[:MAX_FORM_BYTES]
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in parsed.items()}


def error_page(request: Request, status: int, title: str, text: str) -> HTMLResponse:
    """A failure shown as a page, with the navigation when the caller is logged in."""
    try:
        reviewer: Reviewer | None = page_reviewer(request)
    except AuthError:
        reviewer = None
    return message(request, reviewer, "", status, title, text)
