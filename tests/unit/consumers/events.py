"""Builders of valid source artifacts and commit records for the consumer tests, and the real
committer in memory to turn requested changes into what the read model reads.

Each builder starts from the contracts' example of its family and changes only what the test
is about, so every artifact is valid under the current contracts. Times are minutes after the
examples' T0, so tests can make ties on purpose.

A *raw* history holds what the committer reads: graph deltas as importers send them and
approved proposals as ``(proposal, decision id, minute)`` tuples, among interactions and QD
signals. :class:`MemoryCommitter` applies it with the committer's own store (SQLite in memory)
and gives the read model's inputs: the interactions and signals as they were, each applied
change as the committer's applied record, refused changes dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import count
from typing import Any

from consumers.committer.changes import ChangeSet, from_commit, from_delta
from consumers.committer.store import GraphStore, Incoming, Result, Verdict
from consumers.storage import open_engine
from velocity_stream.contracts import example, validate_artifact
from velocity_stream.contracts.example_intake import T0
from velocity_stream.contracts.graph_delta import ClientGraphDelta
from velocity_stream.contracts.interaction import InteractionBundle
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.contracts.qd_signal import QdSignalBundle
from velocity_stream.contracts.transcript import TranscriptBundle
from velocity_stream.gateway.commits import CommitRecord, commit_record
from velocity_stream.protocol.records import InboundMessage


def _build(family: str, changes: dict[str, Any]) -> Artifact:
    base = example(family).model_dump(mode="python")
    base.update(changes)
    return validate_artifact(type(example(family)), base)


def at(minute: int) -> Any:
    return T0 + timedelta(minutes=minute)


def interaction(
    client: str, n: int, minute: int = 0, channel: str = "CALL", summary: str | None = None
) -> InteractionBundle:
    made = _build(
        "InteractionBundle",
        {
            "artifact_id": f"art:ib:{client}:{n}",
            "created_at": at(minute),
            "bundle_id": f"bundle:{client}:{n}",
            "client_ref": client,
            "channel": channel,
            "summary": summary if summary is not None else f"interaction {n} with {client}",
        },
    )
    assert isinstance(made, InteractionBundle)
    return made


def signal(
    client: str,
    n: int,
    minute: int = 0,
    score_type: str = "purchase_intent",
    value: float = 0.5,
    evidence: bool = True,
) -> QdSignalBundle:
    made = _build(
        "QdSignalBundle",
        {
            "artifact_id": f"art:qd:{client}:{n}",
            "created_at": at(minute),
            "signal_id": f"signal:{client}:{n}",
            "client_ref": client,
            "score_type": score_type,
            "value": value,
            "time_window": {"start": at(minute - 60), "end": at(minute)},
            "supporting_evidence_refs": (f"evidence:{client}:{n}",) if evidence else (),
        },
    )
    assert isinstance(made, QdSignalBundle)
    return made


def transcript(
    bundle_id: str, minute: int = 0, lines: Sequence[str] = ("hello", "hi"), copy: str = ""
) -> TranscriptBundle:
    """A transcript of ``bundle_id``'s call, one segment per line (speakers alternate);
    ``copy`` makes a different artifact of the same transcript."""
    segments, start = [], 0
    for index, text in enumerate(lines):
        speaker = "human:sagnik" if index % 2 == 0 else "person:caller"
        segments.append(
            {"speaker": speaker, "start_ms": start, "end_ms": start + 1000, "text": text}
        )
        start += 1200
    made = _build(
        "TranscriptBundle",
        {
            "artifact_id": f"art:tr:{bundle_id}{copy}",
            "created_at": at(minute),
            "transcript_id": f"transcript:{bundle_id}",
            "interaction_ref": bundle_id,
            "duration_ms": start,
            "text": " ".join(lines),
            "speaker_segments": segments,
        },
    )
    assert isinstance(made, TranscriptBundle)
    return made


def intel_history(count: int) -> list[Artifact]:
    """``count`` calls: each an interaction, its transcript and a QD signal, for 1 + count//4
    clients."""
    found: list[Artifact] = []
    for n in range(count):
        client = f"client:{n % (1 + count // 4)}"
        bundle = interaction(client, n, minute=n)
        found += [
            bundle,
            transcript(bundle.bundle_id, minute=n, lines=[f"line {i} of {n}" for i in range(3)]),
            signal(client, n, minute=n, value=n / max(count, 1)),
        ]
    return found


def upsert_node(ref: str, node_type: str, **attributes: str) -> dict[str, Any]:
    return {"op": "UPSERT_NODE", "node_ref": ref, "node_type": node_type, "attributes": attributes}


def delete_node(ref: str) -> dict[str, Any]:
    return {"op": "DELETE_NODE", "node_ref": ref}


def merge_nodes(into: str, *merged: str) -> dict[str, Any]:
    return {"op": "MERGE_NODES", "node_ref": into, "merged_refs": merged}


def upsert_edge(from_ref: str, to_ref: str, relation: str, **attributes: str) -> dict[str, Any]:
    edge = {"from_ref": from_ref, "to_ref": to_ref, "relation": relation}
    return {"op": "UPSERT_EDGE", "edge": edge, "attributes": attributes}


def delete_edge(from_ref: str, to_ref: str, relation: str) -> dict[str, Any]:
    return {
        "op": "DELETE_EDGE",
        "edge": {"from_ref": from_ref, "to_ref": to_ref, "relation": relation},
    }


def delta(
    name: str,
    *operations: dict[str, Any],
    minute: int = 0,
    decision_ref: str | None = None,
    proposal_ref: str | None = None,
    source_system: str = "import-normalizer",
) -> ClientGraphDelta:
    destructive = any(o["op"] in ("MERGE_NODES", "DELETE_NODE", "DELETE_EDGE") for o in operations)
    made = _build(
        "ClientGraphDelta",
        {
            "artifact_id": f"art:delta:{name}",
            "source_system": source_system,
            "created_at": at(minute),
            "delta_id": f"delta:{name}",
            "operations": operations,
            "proposal_ref": proposal_ref,
            "decision_ref": decision_ref or (f"decision:for:{name}" if destructive else None),
        },
    )
    assert isinstance(made, ClientGraphDelta)
    return made


def entity_proposal(
    name: str, ref: str, entity_type: str = "PERSON", merge: tuple[str, ...] = (), **payload: str
) -> Artifact:
    return _build(
        "NormalizedEntityProposal",
        {
            "artifact_id": f"art:nep:{name}",
            "proposal_id": f"proposal:{name}",
            "entity_type": entity_type,
            "entity_ref": ref,
            "canonical_payload": payload,
            "merge_candidate_refs": merge,
            "review_required": True,
        },
    )


def writeback(
    name: str,
    target: str,
    operation: str = "UPDATE",
    domain: str = "OPPORTUNITY",
    merge: tuple[str, ...] = (),
    **changes: str | tuple[str | None, str | None],
) -> Artifact:
    field_changes = []
    for field, change in sorted(changes.items()):
        before, after = change if isinstance(change, tuple) else (None, change)
        field_changes.append({"field": field, "from_value": before, "to_value": after})
    return _build(
        "OracleWritebackProposal",
        {
            "artifact_id": f"art:owp:{name}",
            "proposal_id": f"proposal:{name}",
            "target_domain": domain,
            "target_entity_ref": target,
            "proposed_change": {
                "operation": operation,
                "field_changes": field_changes,
                "merge_refs": merge,
            },
        },
    )


def commit(
    proposal: Artifact, proposal_bytes: bytes, topic: str, decision: str, minute: int = 0
) -> CommitRecord:
    """The commit record the gateway would write for ``proposal`` (encoded as given; pure tests
    pass the decoded proposal alongside and give no bytes, which are then one placeholder byte
    the contract asks for and nothing reads)."""
    return commit_record(
        proposal_family=proposal.FAMILY,
        proposal_id=str(getattr(proposal, "proposal_id")),  # noqa: B009
        proposal_topic=topic,
        proposal=proposal_bytes or b"\0",
        decision_id=decision,
        reviewer="human:sayan",
        decided_at_ms=int(at(minute).timestamp() * 1000),
    )


def raw_client_history(client_count: int, interactions_per_client: int = 4) -> list[Any]:
    """A realistic mix for many clients, in production order: each client's graph delta
    (a person, a duplicate, an opportunity and their links), interactions, QD signals, a
    merge of the duplicate, and an approved stage change. Commits are (proposal, decision,
    minute) tuples."""
    history: list[Any] = []
    for index in range(client_count):
        client = f"client:c{index:05d}"
        person, dup, opp = f"person:p{index}", f"person:p{index}-dup", f"opportunity:o{index}"
        history.append(
            delta(
                f"seed-{index}",
                upsert_node(client, "CLIENT"),
                upsert_node(
                    person, "PERSON", given_name=f"Given{index}", email=f"p{index}@x.example"
                ),
                upsert_node(dup, "PERSON", phone=f"+9100000{index:05d}"),
                upsert_node(opp, "OPPORTUNITY", title=f"Deal {index}", stage="QUALIFYING"),
                upsert_edge(person, client, "CONTACT_OF"),
                upsert_edge(dup, client, "CONTACT_OF"),
                upsert_edge(opp, client, "OPPORTUNITY_OF"),
                minute=index % 7,
            )
        )
        for n in range(interactions_per_client):
            history.append(interaction(client, n, minute=10 + n))
        history.append(signal(client, 1, minute=20, score_type="purchase_intent", value=0.6))
        history.append(
            signal(client, 2, minute=21, score_type="churn_risk", value=0.2 + (index % 8) / 10)
        )
        history.append(delta(f"merge-{index}", merge_nodes(person, dup), minute=30))
        stage = writeback(f"stage-{index}", opp, stage=("QUALIFYING", "SITE_VISITS"))
        history.append((stage, f"decision:stage-{index}", 40))
    return history


def raw_seeded_client(client: str) -> list[Any]:
    """One client with every snapshot section filled (the snapshot tests' story)."""
    graph = delta(
        "seed",
        upsert_node(client, "CLIENT"),
        upsert_node(
            "person:priya",
            "PERSON",
            given_name="Priya",
            family_name="Raman",
            email="priya@acme.example",
            phone="+919830012345",
        ),
        upsert_node(
            "organization:acme", "ORGANIZATION", name="Acme Holdings", email="info@acme.example"
        ),
        upsert_node("account:hubspot-1", "ACCOUNT", system="hubspot", external_ref="contact/88213"),
        upsert_node(
            "opportunity:3bhk",
            "OPPORTUNITY",
            title="3BHK near Salt Lake",
            stage="QUALIFYING",
            amount="15500000",
        ),
        upsert_node("opportunity:old", "OPPORTUNITY", title="Old deal", stage="CLOSED_LOST"),
        upsert_node("property:salt-lake-12b", "PROPERTY", name="12B"),
        upsert_node(
            "task:visits",
            "TASK",
            title="Schedule two site visits",
            due_at="2026-04-23T09:30:00+00:00",
        ),
        upsert_node("task:call", "TASK", title="Call back", status="DONE"),
        upsert_node("person:p-dup", "PERSON", phone="+910000000000"),
        *(
            upsert_edge(ref, client, rel)
            for ref, rel in [
                ("person:priya", "CONTACT_OF"),
                ("organization:acme", "IS"),
                ("account:hubspot-1", "ACCOUNT_OF"),
                ("opportunity:3bhk", "OPPORTUNITY_OF"),
                ("opportunity:old", "OPPORTUNITY_OF"),
                ("task:visits", "TASK_OF"),
                ("task:call", "TASK_OF"),
                ("person:p-dup", "CONTACT_OF"),
            ]
        ),
        upsert_edge(
            "property:salt-lake-12b",
            client,
            "INTERESTED_IN",
            interest_level="HIGH",
            note="wants two visits",
        ),
        minute=1,
    )
    merge = delta("merge", merge_nodes("person:priya", "person:p-dup"), minute=2)
    stage = writeback("w1", "opportunity:3bhk", stage=("QUALIFYING", "SITE_VISITS"))
    interactions = [interaction(client, n, minute=10 + n) for n in range(25)]
    signals = [
        signal(client, 1, minute=5, score_type="purchase_intent", value=0.4),
        signal(client, 2, minute=30, score_type="purchase_intent", value=0.74),
        signal(client, 3, minute=31, score_type="churn_risk", value=0.8),
        signal(client, 4, minute=32, score_type="budget_fit", value=0.9, evidence=False),
    ]
    return [graph, merge, (stage, "decision:w1", 40), *interactions, *signals]


def client_history(client_count: int, interactions_per_client: int = 4) -> list[Artifact]:
    """What the read model reads of :func:`raw_client_history`: every change applies."""
    committer = MemoryCommitter()
    made = committer.commit(raw_client_history(client_count, interactions_per_client))
    assert committer.refused == [], committer.refused
    return made


def seeded_client(client: str) -> list[Artifact]:
    """What the read model reads of :func:`raw_seeded_client`: every change applies."""
    committer = MemoryCommitter()
    made = committer.commit(raw_seeded_client(client))
    assert committer.refused == [], committer.refused
    return made


PROPOSAL_TOPIC = "velocity.proposal.v1"  # the committer does not read it


class MemoryCommitter:
    """The committer's store on SQLite in memory, applying raw items in the order given.

    Its clock reads each change's own time (the delta's ``created_at``, the decision's minute),
    so applied records get deterministic times; the store keeps them strictly increasing.
    """

    def __init__(self) -> None:
        self._now = T0
        self.store = GraphStore(open_engine("sqlite://"), "mem_", clock=self._clock)
        self.store.create()
        self.refused: list[str] = []
        self.results: list[Result] = []
        self._offsets = count()

    def _clock(self) -> float:
        return self._now.timestamp()

    def change_set(self, item: Any) -> tuple[ChangeSet, datetime] | None:
        """The change set of a raw item and its time; None for what the committer ignores."""
        if isinstance(item, tuple):
            proposal, decision, minute = item
            record = commit(proposal, b"", PROPOSAL_TOPIC, decision, minute)
            made = from_commit(record, proposal)
            assert made is not None
            return made, at(minute)
        if isinstance(item, ClientGraphDelta):
            return from_delta(item), item.created_at
        return None

    def commit(self, items: Sequence[Any]) -> list[Artifact]:
        """The read model's inputs for ``items``: interactions, signals and applied records."""
        found: list[Artifact] = []
        for item in items:
            made = self.change_set(item)
            if made is None:
                found.append(item)
                continue
            change_set, self._now = made
            message = InboundMessage("raw", 0, next(self._offsets), b"k", b"")
            [result] = self.store.apply([Incoming(message, change_set)], {})
            self.results.append(result)
            if result.verdict is Verdict.APPLIED:
                assert result.applied is not None
                found.append(result.applied)
            elif result.refusal is not None:
                self.refused.append(f"{result.change_id}: {result.refusal.code.value}")
        return found
