"""The review web app: the pending-approval queue, decisions, client snapshots, dead letters.

May import contracts, serde, kafka, registry and the gateway's public names (headers, route
constants, commit records); the CLI imports it. ``app.create_app`` builds the FastAPI app over
ready-made services; ``runtime`` builds those services from settings.
"""

from __future__ import annotations

from velocity_stream.review.app import ReviewServices, create_app
from velocity_stream.review.auth import AuthError, Reviewer, ReviewerDirectory

__all__ = ["AuthError", "ReviewServices", "Reviewer", "ReviewerDirectory", "create_app"]
