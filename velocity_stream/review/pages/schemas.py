"""The schema browser: every family of the catalog, and one family's versions with their
compatibility verdicts, a diff of two versions and the reader mappings across majors."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from velocity_stream.errors import ConfigError
from velocity_stream.review import schemas
from velocity_stream.review.pages.rendering import CurrentReviewer, Services, message, render

router = APIRouter(include_in_schema=False)


@router.get("/schemas")
def schemas_page(request: Request, reviewer: CurrentReviewer, services: Services) -> Response:
    found = schemas.families(services.catalog)
    return render(
        request,
        "schemas.html",
        reviewer=reviewer,
        active="schemas",
        families=found,
        prefix=services.topic_prefix,
    )


@router.get("/schemas/{name}")
def schema_page(
    name: str,
    request: Request,
    reviewer: CurrentReviewer,
    services: Services,
    before: str = "",
    after: str = "",
) -> Response:
    try:
        family = services.catalog.family(name)
    except ConfigError:
        text = f"The catalog has no family {name}."
        return message(request, reviewer, "schemas", 404, "Unknown family", text)
    versions = family.versions
    try:
        new = schemas.find_version(family, after, versions[-1])
        default_old = versions[-2] if len(versions) > 1 else versions[-1]
        old = schemas.find_version(family, before, default_old)
    except ConfigError as error:
        return message(request, reviewer, "schemas", 404, "Unknown version", str(error))
    return render(
        request,
        "schema.html",
        reviewer=reviewer,
        active="schemas",
        f=family,
        prefix=services.topic_prefix,
        verdicts=[schemas.verdict(family, v) for v in versions],
        diff=schemas.version_diff(family, old, new),
        mappings=schemas.major_mappings(family),
        before=str(old.version),
        after=str(new.version),
    )
