"""Client360 as a reviewer reads it: the list of clients (searched by ref or name), one
client's snapshot with the proposals waiting on it, and the lineage of a field, node or
artifact."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from velocity_stream.review.clients import snapshot_refs
from velocity_stream.review.lineage import page_of
from velocity_stream.review.pages.rendering import CurrentReviewer, Services, message, render

router = APIRouter(include_in_schema=False)


@router.get("/clients")
def clients_page(
    request: Request, reviewer: CurrentReviewer, services: Services, q: str = ""
) -> Response:
    query = q.strip()
    if query and services.clients.snapshot(query) is not None:
        return RedirectResponse(f"/clients/{quote(query)}", status_code=303)
    listing = services.clients.list_clients(500)
    if query:
        lowered = query.lower()
        listing = [
            c
            for c in listing
            if lowered in c.client_ref.lower() or lowered in c.display_name.lower()
        ]
    return render(
        request, "clients.html", reviewer=reviewer, active="clients", clients=listing, q=query
    )


@router.get("/clients/{client_ref:path}")
def client_page(
    client_ref: str, request: Request, reviewer: CurrentReviewer, services: Services
) -> Response:
    snapshot = services.clients.snapshot(client_ref)
    if snapshot is None:
        text = f"There is no Client360 snapshot of {client_ref} (yet)."
        return message(request, reviewer, "clients", 404, "No snapshot yet", text)
    refs = snapshot_refs(snapshot)
    waiting = [
        entry
        for entry in services.queue.pending()
        if refs & {entry.view.target_ref, *entry.view.merge_refs}
    ]
    return render(
        request, "client.html", reviewer=reviewer, active="clients", s=snapshot, waiting=waiting
    )


@router.get("/lineage/{ref:path}")
def lineage_page(
    ref: str,
    request: Request,
    reviewer: CurrentReviewer,
    services: Services,
    field: str | None = None,
) -> Response:
    """Where a field, node or artifact came from, hop by hop (consumers/lineage)."""
    what = f"{field} of {ref}" if field else ref
    if services.lineage is None:
        text = "This app reads no store (it was started without VELOCITY_STORE_URL)."
        return message(request, reviewer, "clients", 503, "Lineage is not available", text)
    trail = services.lineage.trail(ref, field or None)
    if trail is None:
        text = f"No store knows {what}: check the ref, or whether its consumer has run."
        return message(request, reviewer, "clients", 404, "Nothing to trace", text)
    hops = [
        {**hop, "page": page_of(hop["kind"], hop["ref"], hop["facts"])} for hop in trail["hops"]
    ]
    return render(
        request,
        "lineage.html",
        reviewer=reviewer,
        active="clients",
        what=what,
        trail=trail,
        hops=hops,
    )
