"""The commit record: what the gateway tells the committers when a proposal is approved.

JSON rather than Avro: it is written once per approval (not on the hot path), read by our own
committers, and easy to inspect with any Kafka tool. The proposal travels as its original
Confluent-framed bytes (base64), so the committer decodes it with the writer schema named in
the frame, exactly as the gateway did. The encoding is canonical (sorted keys, no spaces): the
same approval always yields the same bytes, so a redelivered decision can be deduplicated.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

COMMIT_FORMAT = 1


@dataclass(frozen=True, slots=True)
class CommitRecord:
    """An approved change: the proposal (family, id, original bytes) and the decision on it."""

    proposal_family: str
    proposal_id: str
    proposal_topic: str
    proposal: bytes
    decision_id: str
    reviewer: str
    decided_at_ms: int

    def to_bytes(self) -> bytes:
        body = {
            "format": COMMIT_FORMAT,
            "proposal_family": self.proposal_family,
            "proposal_id": self.proposal_id,
            "proposal_topic": self.proposal_topic,
            "proposal": base64.b64encode(self.proposal).decode("ascii"),
            "decision_id": self.decision_id,
            "reviewer": self.reviewer,
            "decided_at_ms": self.decided_at_ms,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> CommitRecord:
        """Parse a commit record; ValueError (or KeyError) when the bytes are not one."""
        body = json.loads(data)
        if body.get("format") != COMMIT_FORMAT:
            raise ValueError(f"unknown commit record format {body.get('format')!r}")
        return cls(
            proposal_family=str(body["proposal_family"]),
            proposal_id=str(body["proposal_id"]),
            proposal_topic=str(body["proposal_topic"]),
            proposal=base64.b64decode(body["proposal"], validate=True),
            decision_id=str(body["decision_id"]),
            reviewer=str(body["reviewer"]),
            decided_at_ms=int(body["decided_at_ms"]),
        )
