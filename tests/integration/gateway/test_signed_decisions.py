"""Forged decisions on a real broker: none reaches the commits topic, each is dead-lettered
with its reason; a correctly signed one still commits, and so does a rule's (gateway-signed).

The worker trusts the test keys of tests/signing.py (the harness's environment)."""

from __future__ import annotations

import uuid

import pytest

from tests import signing
from velocity_stream.contracts import example
from velocity_stream.contracts.metadata import Provenance, ProvenanceOrigin
from velocity_stream.errors import ReasonCode
from velocity_stream.protocol import headers as h
from velocity_stream.trust import (
    REVIEW_APP_SIGNER,
    SIGNATURE_HEADER,
    SIGNATURE_KEY_HEADER,
    SigningKey,
)

pytestmark = pytest.mark.integration

WRITEBACK = "OracleWritebackProposal"
DECISION = "ApprovalDecision"
# The review app's key id with another private key: what someone who saw the id could make.
IMPOSTOR_KEY = SigningKey.from_seed(signing.REVIEW_KEY.key_id, REVIEW_APP_SIGNER, b"\x09" * 32)


def uid(label: str) -> str:
    return f"{label}:{uuid.uuid4().hex[:10]}"


def pending_proposal(gw):
    proposal_id = uid("proposal:signed")
    p = gw.variant(example(WRITEBACK), proposal_id=proposal_id, artifact_id=f"art:{proposal_id}")
    gw.publish(p)
    gw.wait_for(lambda o: o.text(h.ARTIFACT_ID) == p.artifact_id and o.topic == gw.approvals)
    return p


def review_decision(gw, p, **changes):
    """What the review app would publish for a catalog reviewer (the body claims review-app)."""
    fields = {
        "proposal_ref": p.proposal_id,
        "proposal_family": WRITEBACK,
        "decision_id": uid("decision"),
        "artifact_id": uid("art:decision"),
        "proposal_digest": gw.digest_of(p),
        "source_system": "review-app",
        "reviewer_ref": "human:sayan",
        "created_by": "human:sayan",
    }
    fields.update(changes)
    return gw.variant(example(DECISION), **fields)


def rule_decision(gw, p):
    return review_decision(
        gw,
        p,
        source_system="approval-rules",
        reviewer_ref="rule:low-risk-entity",
        created_by="rule:low-risk-entity",
        provenance={"origin": "SYSTEM"},
        proposal_digest=None,
    )


def signed_by(gw, decision, key: SigningKey):
    topic, value = gw.ingress(DECISION), gw.encode(decision)
    return list(key.headers(topic, gw.key_of(decision), value))


def _forged_unsigned(gw, p):
    return review_decision(gw, p), {"signed": False}


def _ai_naming_a_human(gw, p):
    forged = gw.unchecked(
        review_decision(gw, p),
        created_by="ai:oracle",
        provenance=Provenance(
            origin=ProvenanceOrigin.AI, source_refs=(p.proposal_id,), model="oracle"
        ),
    )
    return forged, {}


def _unknown_key(gw, p):
    d = review_decision(gw, p)
    return d, {"signed": False, "headers": signed_by(gw, d, signing.STRANGER_KEY)}


def _wrong_private_key(gw, p):
    d = review_decision(gw, p)
    return d, {"signed": False, "headers": signed_by(gw, d, IMPOSTOR_KEY)}


def _copied_signature(gw, p):
    donor = review_decision(gw, p)  # validly signed, never sent
    d = review_decision(gw, p, decision="REJECTED", decision_notes="Not what was said.")
    return d, {"signed": False, "headers": signed_by(gw, donor, signing.REVIEW_KEY)}


def _review_key_on_a_rule_decision(gw, p):
    d = rule_decision(gw, p)
    return d, {"signed": False, "headers": signed_by(gw, d, signing.REVIEW_KEY)}


CASES = {
    "forged review-app decision, unsigned": (_forged_unsigned, ReasonCode.AUTH_DECISION_UNSIGNED),
    "AI decision naming a human": (_ai_naming_a_human, ReasonCode.CONTRACT_DECISION_ACTOR_MISMATCH),
    "signed with an unknown key": (_unknown_key, ReasonCode.AUTH_DECISION_UNKNOWN_KEY),
    "wrong private key, known key id": (_wrong_private_key, ReasonCode.AUTH_DECISION_BAD_SIGNATURE),
    "signature copied from another decision": (
        _copied_signature,
        ReasonCode.AUTH_DECISION_BAD_SIGNATURE,
    ),
    "review-app key on a rule decision": (
        _review_key_on_a_rule_decision,
        ReasonCode.AUTH_DECISION_WRONG_SIGNER,
    ),
}


def _commits_for(gw, p):
    return [o for o in gw.outputs if o.topic == gw.commits and o.key == p.proposal_id.encode()]


@pytest.mark.parametrize("case", list(CASES))
def test_a_forged_decision_is_dead_lettered_with_its_reason_and_never_commits(gateway, case):
    make, reason = CASES[case]
    p = pending_proposal(gateway)
    forged, options = make(gateway, p)
    sent = gateway.publish(forged, **options)
    [dead] = gateway.wait_for(
        lambda o: o.topic == gateway.dead_letters and o.key == p.proposal_id.encode()
    )
    assert dead.text(h.DLQ_REASON) == reason.value, dead.text(h.DLQ_MESSAGE)
    assert dead.value == sent  # the input's own bytes, for the audit
    gateway.settle(0.5)
    assert _commits_for(gateway, p) == []
    assert not [
        o for o in gateway.outputs if o.topic == gateway.accepted(DECISION) and o.value == sent
    ]


def test_after_every_forgery_a_correctly_signed_decision_still_commits(gateway):
    p = pending_proposal(gateway)
    for make, _ in CASES.values():
        forged, options = make(gateway, p)
        gateway.publish(forged, flush=False, **options)
    gateway.flush()
    key = p.proposal_id.encode()
    dead = gateway.wait_for(
        lambda o: o.topic == gateway.dead_letters and o.key == key, count=len(CASES)
    )
    assert sorted(o.text(h.DLQ_REASON) for o in dead) == sorted(r.value for _, r in CASES.values())
    assert _commits_for(gateway, p) == []

    good = review_decision(gateway, p)
    gateway.publish(good)
    [commit] = gateway.wait_for(lambda o: o.topic == gateway.commits and o.key == key)
    record = gateway.commit_record(commit.value)
    assert record.decision_id == good.decision_id and record.reviewer == "human:sayan"
    [accepted] = gateway.wait_for(
        lambda o: (
            o.topic == gateway.accepted(DECISION) and o.text(h.ARTIFACT_ID) == good.artifact_id
        )
    )
    # the signature stays on the accepted decision: anyone can check it again
    assert accepted.header(SIGNATURE_KEY_HEADER) == signing.REVIEW_KEY.key_id.encode()
    assert accepted.header(SIGNATURE_HEADER) is not None


def test_a_rule_approved_proposal_commits_with_the_gateways_signature(gateway):
    proposal_id = uid("proposal:entity")
    entity = gateway.variant(
        example("NormalizedEntityProposal"),
        proposal_id=proposal_id,
        artifact_id=f"art:{proposal_id}",
        review_required=False,
        merge_candidate_refs=(),
        confidence=0.95,
    )
    gateway.publish(entity)
    key = proposal_id.encode()
    [commit] = gateway.wait_for(lambda o: o.topic == gateway.commits and o.key == key)
    assert gateway.commit_record(commit.value).reviewer == "rule:low-risk-entity"
    [decided] = gateway.wait_for(lambda o: o.topic == gateway.accepted(DECISION) and o.key == key)
    assert decided.header(SIGNATURE_KEY_HEADER) == signing.RULE_KEY.key_id.encode()
    refusal = signing.KEYRING.verify(
        gateway.ingress(DECISION), decided.key, decided.value, decided.headers, "approval-rules"
    )
    assert refusal is None
