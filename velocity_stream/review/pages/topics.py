"""What this app instance reads from Kafka itself: the catalog's topics and their records
(decoded, searched by key or artifact id), the accepted artifacts that name a ref, and the
consumer groups with their lag. Each page says so (503) where the app has no Kafka
connection."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from velocity_stream.errors import VelocityError
from velocity_stream.review.auth import Reviewer
from velocity_stream.review.pages.rendering import CurrentReviewer, Services, message, render

router = APIRouter(include_in_schema=False)


def _no_kafka(request: Request, reviewer: Reviewer, active: str) -> HTMLResponse:
    text = "This app instance has no Kafka connection to read topics from."
    return message(request, reviewer, active, 503, "Not available here", text)


@router.get("/topics")
def topics_page(request: Request, reviewer: CurrentReviewer, services: Services) -> Response:
    browser = services.topic_browser
    if browser is None:
        return _no_kafka(request, reviewer, "topics")
    return render(request, "topics.html", reviewer=reviewer, active="topics", topics=browser.topics)


@router.get("/topics/{topic}")
def topic_page(
    topic: str, request: Request, reviewer: CurrentReviewer, services: Services, q: str = ""
) -> Response:
    browser = services.topic_browser
    if browser is None:
        return _no_kafka(request, reviewer, "topics")
    if topic not in browser.topics:
        text = f"{topic} is not one of the catalog's topics."
        return message(request, reviewer, "topics", 404, "Not a catalog topic", text)
    try:
        page = browser.browse(topic, q.strip())
    except VelocityError as error:
        title = "The topic cannot be read"
        return message(request, reviewer, "topics", 503, title, str(error))
    return render(request, "topic.html", reviewer=reviewer, active="topics", t=page, q=q.strip())


@router.get("/consumer-groups")
def groups_page(request: Request, reviewer: CurrentReviewer, services: Services) -> Response:
    reader = services.groups
    if reader is None:
        return _no_kafka(request, reviewer, "groups")
    try:
        found = reader.groups()
    except VelocityError as error:
        title = "Consumer groups cannot be read"
        return message(request, reviewer, "groups", 503, title, str(error))
    return render(request, "groups.html", reviewer=reviewer, active="groups", groups=found)


@router.get("/find")
def find_page(
    request: Request, reviewer: CurrentReviewer, services: Services, ref: str = ""
) -> Response:
    """The accepted artifacts a ref names (evidence and source refs link here)."""
    browser = services.topic_browser
    if browser is None:
        return _no_kafka(request, reviewer, "topics")
    wanted = ref.strip()
    try:
        found = browser.find(wanted) if wanted else []
    except VelocityError as error:
        title = "The topics cannot be read"
        return message(request, reviewer, "topics", 503, title, str(error))
    return render(request, "find.html", reviewer=reviewer, active="topics", ref=wanted, found=found)
