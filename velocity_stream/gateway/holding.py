"""Holding early inputs until what they need arrives, releasing them, and expiring them.

A decision can reach the gateway before its proposal, a row before its batch. Such inputs are
held in the ``held`` table for the catalog's ``decision_hold_ms``; when the awaited record
arrives, its processing releases them (their outcomes ride along as extra outputs); when the
deadline passes first, the expiry sweep dead-letters them with the reason they were held for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

from velocity_stream.errors import ReasonCode
from velocity_stream.gateway.messages import Outcome
from velocity_stream.gateway.outputs import OutputBuilder, dead_letter_outcome
from velocity_stream.gateway.state import GatewayState, HeldMessage
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.protocol.routes import RouteKind

log = logging.getLogger(__name__)

Reprocess = Callable[[InboundMessage, GatewayState], Outcome]

_HELD_TEXT = {
    ReasonCode.APPROVAL_UNKNOWN_PROPOSAL.value: "no proposal {awaits!r} arrived within {ms} ms",
    ReasonCode.STATE_ROW_UNKNOWN_BATCH.value: "parent {awaits!r} did not arrive within {ms} ms",
    # Only inputs an older version held for an approved decision carry this reason: they
    # expire like any hold (no rule waits for a decision any more).
    ReasonCode.STATE_GRAPH_DECISION_NOT_APPROVED.value: (
        "decision {awaits!r} was not seen approved within {ms} ms"
    ),
}


class Holding:
    """Hold, release and expire; ``reprocess`` runs a released input through the pipeline."""

    def __init__(self, out: OutputBuilder, hold_ms: int, clock: Callable[[], int]) -> None:
        self.out = out
        self.hold_ms = hold_ms
        self.clock = clock
        self.reprocess: Reprocess | None = None

    def _rerun(self, message: InboundMessage, state: GatewayState) -> Outcome:
        if self.reprocess is None:
            raise RuntimeError("Holding.reprocess is not wired to a pipeline")
        return self.reprocess(message, state)

    def hold(
        self,
        message: InboundMessage,
        state: GatewayState,
        wait_key: str,
        awaits: str,
        reason: ReasonCode,
        artifact_id: str,
    ) -> Outcome:
        # The deadline uses the clock, not the message timestamp: a backlog of old messages
        # must still get its full hold time once the gateway catches up with it.
        deadline = self.clock() + self.hold_ms
        state.hold(wait_key, HeldMessage(message, deadline, reason.value, awaits, artifact_id))
        return Outcome(
            route=RouteKind.HELD,
            outputs=(),
            reason=reason,
            source=message,
            artifact_id=artifact_id,
            detail=f"waiting up to {self.hold_ms} ms for {awaits!r}",
        )

    def release(self, state: GatewayState, wait_key: str) -> tuple[Outcome, ...]:
        """Run everything held under ``wait_key`` now that it can pass; keep it as released."""
        group = state.held_group(wait_key)
        if group is None or group.released:
            return ()
        state.mark_released(wait_key)
        return self._rerun_all(state, wait_key)

    def rerelease(self, state: GatewayState, wait_key: str) -> tuple[Outcome, ...]:
        """For a redelivered releaser: run its released entries again, for identical outputs.

        Running them again is safe: each released input's own state records that it was
        processed, so the second run repeats its outputs and changes nothing.
        """
        group = state.held_group(wait_key)
        if group is None or not group.released:
            return ()
        return self._rerun_all(state, wait_key)

    def _rerun_all(self, state: GatewayState, wait_key: str) -> tuple[Outcome, ...]:
        seen: set[tuple[str, int, int]] = set()
        outcomes: list[Outcome] = []
        for _, entry in state.held_entries(wait_key):
            # A held input redelivered after a crash is held twice; it runs once.
            if entry.message.coordinates in seen:
                continue
            seen.add(entry.message.coordinates)
            outcomes.append(self._rerun(entry.message, state))
        return tuple(outcomes)

    def expire(
        self, now_ms: int, state: GatewayState, partitions: Collection[int] | None = None
    ) -> list[Outcome]:
        """Dead-letter held inputs past their deadline; drop released ones past it.

        ``partitions`` limits the sweep to inputs from those partition numbers, for adapters
        whose table writes must happen in the context of one partition.
        """
        outcomes: list[Outcome] = []
        for wait_key in state.held_wait_keys():
            try:
                outcomes.extend(self._expire_group(now_ms, state, wait_key, partitions))
            except Exception:
                # A record that does not decode is a bug; keep it (it is evidence) and let
                # the sweep go on with the other groups rather than stop expiring anything.
                log.exception("cannot sweep held group %r", wait_key)
        return outcomes

    def _expire_group(
        self,
        now_ms: int,
        state: GatewayState,
        wait_key: str,
        partitions: Collection[int] | None,
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        group = state.held_group(wait_key)
        if group is None:
            return outcomes
        entries = state.held_entries(wait_key)
        if partitions is not None:
            entries = [(s, e) for s, e in entries if e.message.partition in partitions]
        done: list[int] = []
        seen: set[tuple[str, int, int]] = set()
        for slot, entry in entries:
            first = entry.message.coordinates not in seen
            seen.add(entry.message.coordinates)
            if group.released:
                # Kept only for redelivery of the releaser; silently gone after the deadline.
                if entry.deadline_ms <= now_ms:
                    done.append(slot)
            elif entry.deadline_ms <= now_ms:
                done.append(slot)
                if first:
                    outcomes.append(self._expired(entry))
        if done:
            state.drop_held(wait_key, done)
        return outcomes

    def _expired(self, entry: HeldMessage) -> Outcome:
        reason = ReasonCode(entry.reason)
        template = _HELD_TEXT.get(entry.reason, "{awaits!r} did not arrive within {ms} ms")
        text = template.format(awaits=entry.awaits, ms=self.hold_ms)
        # The dead letter's time is the deadline (state, not the wall clock), so a sweep
        # repeated after a crash writes the same bytes.
        return dead_letter_outcome(
            self.out,
            entry.message,
            reason,
            text,
            artifact_id=entry.artifact_id or None,
            time_ms=entry.deadline_ms,
        )
