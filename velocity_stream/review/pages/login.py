"""Logging in and out with a reviewer token (the login cookie), and the login form shown to a
page request without a usable login."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from velocity_stream.review.app import services_of
from velocity_stream.review.auth import COOKIE_MAX_AGE_S, COOKIE_NAME, AuthError
from velocity_stream.review.pages.rendering import CurrentReviewer, Services, read_form, render

router = APIRouter(include_in_schema=False)


def _local_path(target: str | None) -> str:
    """Only same-site paths after login: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/queue"
    return target


def auth_error_page(request: Request, error: AuthError) -> Response:
    """A page request without a usable login: the login form, with 401 or 403."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(
        request,
        "login.html",
        status=error.status,
        error=error.message if request.cookies.get(COOKIE_NAME) or error.status == 403 else "",
        next=_local_path(target if request.method == "GET" else None),
        configured=services_of(request).directory.configured,
    )


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


@router.get("/login")
def login_form(request: Request, services: Services, next: str = "/queue") -> Response:
    return render(
        request,
        "login.html",
        error="",
        next=_local_path(next),
        configured=services.directory.configured,
    )


@router.post("/login")
async def login(request: Request, services: Services) -> Response:
    form = await read_form(request)
    target = _local_path(form.get("next"))
    try:
        reviewer = services.directory.identify(form.get("token"))
    except AuthError as error:
        return render(
            request,
            "login.html",
            status=error.status,
            error=error.message,
            next=target,
            configured=services.directory.configured,
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        reviewer.token,
        max_age=COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=services.secure_cookie,
    )
    return response


@router.post("/logout")
async def logout(request: Request, reviewer: CurrentReviewer, services: Services) -> Response:
    form = await read_form(request)
    services.directory.check_form_token(reviewer, form.get("form_token"))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME)
    return response
