"""The server-rendered pages: log in, the queue, a decision's verdict, clients, dead letters,
schemas, topics. One module per page family, each with its own router; ``router`` here holds
them all, in the order the app matches them.

Jinja2 templates under ``templates/`` (autoescaped), one stylesheet under ``static/``, no
scripts beyond a refresh while the gateway has not answered. Pages authenticate with the
login cookie; every form carries the form token (CSRF) and is checked before anything runs.
"""

from __future__ import annotations

from fastapi import APIRouter

from velocity_stream.review.auth import COOKIE_NAME
from velocity_stream.review.pages import clients, dead_letters, login, queue, schemas, topics
from velocity_stream.review.pages.login import auth_error_page
from velocity_stream.review.pages.rendering import (
    CurrentReviewer,
    error_page,
    page_reviewer,
    read_form,
    render,
    templates,
)

__all__ = [
    "COOKIE_NAME",
    "CurrentReviewer",
    "auth_error_page",
    "error_page",
    "page_reviewer",
    "read_form",
    "render",
    "router",
    "templates",
]

router = APIRouter(include_in_schema=False)
for _family in (login, queue, clients, dead_letters, schemas, topics):
    router.include_router(_family.router)
