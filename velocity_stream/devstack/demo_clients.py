"""The demo's clients: the CRM graph each one starts from, interactions with transcripts, QD
signals, and the writeback proposals Oracle makes from them, which wait for a reviewer.

The CRM graph is self-consistent for the committer (every edge's ends exist, every writeback's
"from" value is the stored one). The contacts it knows are enriched by the lead import
(demo_intake.py); Acme's only known contact is an old duplicate record, which Priya's entity
proposal, once approved, merges into her. Pure: no Kafka here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from velocity_stream.contracts.graph_delta import (
    ClientGraphDelta,
    GraphEdge,
    GraphOperation,
    GraphOperationKind,
)
from velocity_stream.contracts.interaction import Attachment, InteractionBundle, InteractionChannel
from velocity_stream.contracts.metadata import Artifact, Provenance, ProvenanceOrigin
from velocity_stream.contracts.qd_signal import OperatorInput, QdSignalBundle, TimeWindow
from velocity_stream.contracts.transcript import SpeakerSegment, TranscriptBundle
from velocity_stream.contracts.writeback import (
    ChangeOperation,
    FieldChange,
    OracleWritebackProposal,
    ProposedChange,
    WritebackDomain,
)

UPSERT_NODE, UPSERT_EDGE = GraphOperationKind.UPSERT_NODE, GraphOperationKind.UPSERT_EDGE


@dataclass(frozen=True, slots=True)
class Opportunity:
    ref: str
    title: str
    stage: str
    amount: int
    extra: tuple[tuple[str, str], ...] = ()  # more attributes the CRM stores


@dataclass(frozen=True, slots=True)
class Call:
    """One interaction: a call (with a transcript) or another channel (summary only)."""

    channel: InteractionChannel
    hours_ago: int
    summary: str
    lines: tuple[tuple[str, str], ...] = ()  # (speaker, text) of a transcribed call


@dataclass(frozen=True, slots=True)
class Score:
    score_type: str
    value: float
    operator_note: str | None = None  # set: an operator's judgement, no machine evidence


@dataclass(frozen=True, slots=True)
class Proposal:
    """An Oracle writeback proposal on the client's opportunity."""

    changes: tuple[tuple[str, str, str], ...]  # (field, from, to)
    reasoning: str
    confidence: float


@dataclass(frozen=True, slots=True)
class DemoClient:
    slug: str
    organization: str
    contacts: tuple[tuple[str, dict[str, str]], ...]  # persons the CRM knows, with attributes
    account: tuple[str, str] | None
    opportunity: Opportunity
    property_ref: tuple[str, str] | None  # (ref, interest level)
    task: tuple[str, int] | None  # (title, due in days)
    calls: tuple[Call, ...]
    scores: tuple[Score, ...]
    proposal: Proposal | None

    @property
    def ref(self) -> str:
        return f"client:{self.slug}"


CLIENTS = (
    DemoClient(
        slug="acme-holdings",
        organization="Acme Holdings",
        contacts=(
            (
                "person:p-raman-2025",
                {"given_name": "P.", "family_name": "Raman", "email": "p.raman@mail.example"},
            ),
        ),
        account=("hubspot", "contact/88213"),
        opportunity=Opportunity(
            "opportunity:acme-3bhk",
            "3BHK near Salt Lake",
            "QUALIFYING",
            15_500_000,
            (("budget_confirmed", "false"),),
        ),
        property_ref=("property:salt-lake-sector-v-12b", "HIGH"),
        task=("Schedule two site visits", 3),
        calls=(
            Call(
                InteractionChannel.CALL,
                20,
                "Priya confirmed budget for a 3BHK near Salt Lake and asked for two site visits.",
                (
                    ("human:sagnik", "Hi Priya, thanks for making time today."),
                    ("person:priya-raman", "Happy to. The budget for the 3BHK is approved now."),
                    ("human:sagnik", "Great. Shall I line up two site visits next week?"),
                    ("person:priya-raman", "Yes, Tuesday and Thursday evenings work for me."),
                ),
            ),
            Call(InteractionChannel.EMAIL, 44, "Priya shared her preferred floor plans."),
        ),
        scores=(Score("purchase_intent", 0.74),),
        proposal=Proposal(
            (("stage", "QUALIFYING", "SITE_VISITS"), ("budget_confirmed", "false", "true")),
            "Priya confirmed the budget is approved and asked for two site visits on the call.",
            0.81,
        ),
    ),
    DemoClient(
        slug="sen-family-office",
        organization="Sen Family Office",
        contacts=(("person:arjun-sen", {"given_name": "Arjun", "family_name": "Sen"}),),
        account=("hubspot", "contact/90417"),
        opportunity=Opportunity(
            "opportunity:sen-office-floor", "Office floor, Sector V", "NEGOTIATION", 42_000_000
        ),
        property_ref=("property:sector-v-tower-b-9", "MEDIUM"),
        task=("Send the revised term sheet", 1),
        calls=(
            Call(
                InteractionChannel.CALL,
                6,
                "Arjun asked for a discount; the board would sign at 3.95 Cr.",
                (
                    ("human:sourik", "Arjun, did the board look at the term sheet?"),
                    ("person:arjun-sen", "They did. At 3.95 crore they would sign this month."),
                    ("human:sourik", "Understood, I will take that back and revert tomorrow."),
                ),
            ),
        ),
        scores=(Score("purchase_intent", 0.58), Score("payment_risk", 0.46)),
        proposal=Proposal(
            (("amount", "42000000", "39500000"),),
            "Arjun said on the call that the board would sign at 3.95 Cr, 6% below the ask.",
            0.67,
        ),
    ),
    DemoClient(
        slug="bose-logistics",
        organization="Bose Logistics",
        contacts=(("person:meera-bose", {"given_name": "Meera", "family_name": "Bose"}),),
        account=("zoho", "lead/5521"),
        opportunity=Opportunity(
            "opportunity:bose-warehouse", "Warehouse lease, Dankuni", "PROPOSAL", 8_400_000
        ),
        property_ref=None,
        task=("Share the Dankuni floor plans", 5),
        calls=(
            Call(
                InteractionChannel.EMAIL,
                30,
                "Meera wrote that the expansion is paused until the third quarter.",
            ),
        ),
        scores=(Score("churn_risk", 0.78),),
        proposal=Proposal(
            (("stage", "PROPOSAL", "ON_HOLD"),),
            "Meera wrote that the expansion is paused until Q3; the lease is not moving now.",
            0.58,
        ),
    ),
    DemoClient(
        slug="roy-constructions",
        organization="Roy Constructions",
        contacts=(("person:kabir-roy", {"given_name": "Kabir", "family_name": "Roy"}),),
        account=None,
        opportunity=Opportunity(
            "opportunity:roy-site-office", "Site office, New Town", "QUALIFYING", 2_600_000
        ),
        property_ref=None,
        task=None,
        calls=(Call(InteractionChannel.MEETING, 70, "Met Kabir at the site; callback in May."),),
        scores=(Score("purchase_intent", 0.31, "Met in person; interest is lukewarm for now."),),
        proposal=None,
    ),
)


class ClientsDemo:
    """Builds every client's artifacts, timed relative to ``now``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def ago(self, hours: float) -> datetime:
        return self.now - timedelta(hours=hours)

    def graph(self, client: DemoClient) -> ClientGraphDelta:
        """The client as the CRM sync knows it: no merge or delete, so no approval needed."""
        org = f"organization:{client.slug}"
        ops = [
            GraphOperation(op=UPSERT_NODE, node_ref=client.ref, node_type="CLIENT"),
            GraphOperation(
                op=UPSERT_NODE,
                node_ref=org,
                node_type="ORGANIZATION",
                attributes={"name": client.organization},
            ),
            _edge(org, client.ref, "ORGANIZATION_OF"),
        ]
        for ref, attributes in client.contacts:
            ops.append(
                GraphOperation(
                    op=UPSERT_NODE, node_ref=ref, node_type="PERSON", attributes=attributes
                )
            )
            ops.append(_edge(ref, client.ref, "CONTACT_OF", role="decision maker"))
        if client.account is not None:
            system, external = client.account
            account = f"account:{system}:{external}"
            ops.append(
                GraphOperation(
                    op=UPSERT_NODE,
                    node_ref=account,
                    node_type="ACCOUNT",
                    attributes={"system": system, "external_ref": external},
                )
            )
            ops.append(_edge(account, client.ref, "ACCOUNT_OF"))
        opp = client.opportunity
        ops.append(
            GraphOperation(
                op=UPSERT_NODE,
                node_ref=opp.ref,
                node_type="OPPORTUNITY",
                attributes={
                    "title": opp.title,
                    "stage": opp.stage,
                    "amount": str(opp.amount),
                    **dict(opp.extra),
                },
            )
        )
        ops.append(_edge(opp.ref, client.ref, "OPPORTUNITY_OF"))
        if client.property_ref is not None:
            ref, level = client.property_ref
            ops.append(GraphOperation(op=UPSERT_NODE, node_ref=ref, node_type="PROPERTY"))
            ops.append(_edge(client.ref, ref, "INTERESTED_IN", interest_level=level))
        if client.task is not None:
            title, due_days = client.task
            task = f"task:{client.slug}:next"
            due = (self.now + timedelta(days=due_days)).replace(minute=0, second=0, microsecond=0)
            ops.append(
                GraphOperation(
                    op=UPSERT_NODE,
                    node_ref=task,
                    node_type="TASK",
                    attributes={"title": title, "status": "OPEN", "due_at": due.isoformat()},
                )
            )
            ops.append(_edge(task, client.ref, "TASK_FOR"))
        return ClientGraphDelta(
            artifact_id=f"art:delta:crm-sync:{client.slug}",
            source_system="crm-sync",
            created_at=self.ago(72),
            created_by="system:crm-sync",
            confidence=1.0,
            provenance=Provenance(
                origin=ProvenanceOrigin.SYSTEM, source_refs=("crm:sync:initial",), method="crm-sync"
            ),
            delta_id=f"delta:crm-sync:{client.slug}",
            operations=tuple(ops),
        )

    def interactions(self, client: DemoClient) -> list[Artifact]:
        found: list[Artifact] = []
        for index, call in enumerate(client.calls, 1):
            bundle_id = f"bundle:{client.slug}:{index}"
            event = f"event:{call.channel.value.lower()}:{client.slug}-{index}"
            media = f"media:{client.slug}-{index}.opus" if call.lines else None
            found.append(
                InteractionBundle(
                    artifact_id=f"art:{bundle_id}",
                    source_system="interaction-hub",
                    created_at=self.ago(call.hours_ago),
                    created_by="system:interaction-hub",
                    confidence=0.9,
                    provenance=Provenance(
                        origin=ProvenanceOrigin.AI,
                        source_refs=(event,),
                        method="thread-clustering+summary",
                        model="summarizer-2026-04",
                    ),
                    bundle_id=bundle_id,
                    client_ref=client.ref,
                    channel=call.channel,
                    event_refs=(event,),
                    attachments=(Attachment(ref=media, media_type="audio/ogg"),) if media else (),
                    summary=call.summary,
                )
            )
            if media is not None:
                found.append(self._transcript(client, bundle_id, media, call))
        return found

    def _transcript(
        self, client: DemoClient, bundle_id: str, media: str, call: Call
    ) -> TranscriptBundle:
        segments, start = [], 0
        for speaker, text in call.lines:
            length = 800 + 60 * len(text)  # about the pace of speech
            segments.append(
                SpeakerSegment(speaker=speaker, start_ms=start, end_ms=start + length, text=text)
            )
            start += length + 400
        return TranscriptBundle(
            artifact_id=f"art:transcript:{bundle_id}",
            source_system="transcriber",
            created_at=self.ago(call.hours_ago - 0.1),
            created_by="system:transcriber",
            confidence=0.93,
            provenance=Provenance(
                origin=ProvenanceOrigin.AI,
                source_refs=(media,),
                method="asr+diarization",
                model="whisper-large-v3",
            ),
            transcript_id=transcript_ref(bundle_id),
            interaction_ref=bundle_id,
            media_ref=media,
            language="en-IN",
            duration_ms=start,
            text=" ".join(text for _, text in call.lines),
            speaker_segments=tuple(segments),
        )

    def signals(self, client: DemoClient) -> list[QdSignalBundle]:
        evidence = self.evidence(client)
        return [
            QdSignalBundle(
                artifact_id=f"art:{signal_ref(client, score)}",
                source_system="operator-console" if score.operator_note else "qd-engine",
                created_at=self.ago(2),
                created_by="human:sourik" if score.operator_note else "system:qd-engine",
                confidence=0.6 if score.operator_note else 0.77,
                provenance=Provenance(
                    origin=ProvenanceOrigin.HUMAN if score.operator_note else ProvenanceOrigin.AI,
                    source_refs=() if score.operator_note else evidence,
                    method=None if score.operator_note else "intent-scoring",
                    model=None if score.operator_note else "qd-scorer-2026-04",
                ),
                signal_id=signal_ref(client, score),
                client_ref=client.ref,
                source_ref=evidence[0],
                score_type=score.score_type,
                value=score.value,
                time_window=TimeWindow(start=self.ago(24 * 7), end=self.ago(1)),
                supporting_evidence_refs=() if score.operator_note else evidence,
                operator_input=OperatorInput(operator_ref="human:sourik", note=score.operator_note)
                if score.operator_note
                else None,
            )
            for score in client.scores
        ]

    def evidence(self, client: DemoClient) -> tuple[str, ...]:
        """Transcripts where there are any, else the interaction bundles."""
        refs = []
        for index, call in enumerate(client.calls, 1):
            bundle_id = f"bundle:{client.slug}:{index}"
            refs.append(transcript_ref(bundle_id) if call.lines else bundle_id)
        return tuple(refs)

    def writeback(self, client: DemoClient) -> OracleWritebackProposal | None:
        if client.proposal is None:
            return None
        proposal = client.proposal
        evidence = (*self.evidence(client), *(signal_ref(client, s) for s in client.scores))
        return OracleWritebackProposal(
            artifact_id=f"art:proposal:writeback:{client.slug}",
            source_system="oracle",
            created_at=self.ago(1),
            created_by="ai:oracle",
            confidence=proposal.confidence,
            provenance=Provenance(
                origin=ProvenanceOrigin.AI,
                source_refs=evidence,
                method="writeback-planner",
                model="oracle-2026-04",
            ),
            proposal_id=writeback_ref(client),
            target_domain=WritebackDomain.OPPORTUNITY,
            target_entity_ref=client.opportunity.ref,
            proposed_change=ProposedChange(
                operation=ChangeOperation.UPDATE,
                field_changes=tuple(
                    FieldChange(field=name, from_value=before, to_value=after)
                    for name, before, after in proposal.changes
                ),
            ),
            reasoning_summary=proposal.reasoning,
            evidence_refs=evidence,
            approval_required=True,
        )

    def misattributed_signal(self) -> QdSignalBundle:
        """A score sent by a system that does not own the family: the gateway refuses it."""
        client = CLIENTS[0]
        [signal] = self.signals(client)[:1]
        return signal.model_copy(
            update={
                "artifact_id": "art:signal:crm-sync:stray",
                "signal_id": "signal:crm-sync:stray",
                "source_system": "crm-sync",
                "created_by": "system:crm-sync",
            }
        )


def _edge(from_ref: str, to_ref: str, relation: str, **attributes: str) -> GraphOperation:
    return GraphOperation(
        op=UPSERT_EDGE,
        edge=GraphEdge(from_ref=from_ref, to_ref=to_ref, relation=relation),
        attributes=attributes,
    )


def transcript_ref(bundle_id: str) -> str:
    return f"transcript:{bundle_id.removeprefix('bundle:')}"


def signal_ref(client: DemoClient, score: Score) -> str:
    return f"signal:{client.slug}:{score.score_type}"


def writeback_ref(client: DemoClient) -> str:
    return f"proposal:writeback:{client.slug}"
