"""Where one input ended up in the gateway: the value of the ``velocity.route`` header, the
label of the gateway's metrics, and what the review app and the tools read back."""

from __future__ import annotations

from enum import StrEnum


class RouteKind(StrEnum):
    """Where one input ended up. Every input ends in exactly one of these."""

    ACCEPTED = "accepted"
    PENDING_APPROVAL = "pending_approval"
    AUTO_APPROVED = "auto_approved"
    DECISION_APPLIED = "decision_applied"
    DUPLICATE = "duplicate"
    HELD = "held"
    DEAD_LETTER = "dead_letter"
