"""Only signed decisions reach a commit: the pipeline's signature stage (docs/security.md)."""

from __future__ import annotations

from tests import signing
from velocity_stream.contracts import example
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import GatewayState, MemoryRunner, Pipeline, RouteKind
from velocity_stream.protocol import headers as h
from velocity_stream.trust import SIGNATURE_HEADER, SIGNATURE_KEY_HEADER

PROPOSAL_ID = "proposal:writeback:acme-stage"


def _setup(gw):
    proposal = example("OracleWritebackProposal")
    gw.send(proposal)
    return gw.variant(example("ApprovalDecision"), proposal_digest=gw.digest_of(proposal))


def _coordinates(gw, decision):
    return gw.ingress("ApprovalDecision"), gw.key_of(decision), gw.serde.encode(decision)


def _refused(gw, outcome, code):
    assert outcome.route is RouteKind.DEAD_LETTER and outcome.reason is code
    assert gw.header(outcome.outputs[0], h.DLQ_REASON) == code.value.encode()
    assert gw.topic(gw.commits) == []


def test_a_signed_decision_commits(gw):
    decision = _setup(gw)
    assert gw.send(decision).route is RouteKind.DECISION_APPLIED
    assert len(gw.topic(gw.commits)) == 1


def test_an_unsigned_decision_is_dead_lettered(gw):
    _refused(gw, gw.send(_setup(gw), signed=False), ReasonCode.AUTH_DECISION_UNSIGNED)


def test_a_decision_signed_with_an_unknown_key_is_dead_lettered(gw):
    decision = _setup(gw)
    topic, key, value = _coordinates(gw, decision)
    headers = signing.sign(topic, key, value, signing.STRANGER_KEY)
    outcome = gw.send(decision, signed=False, headers=headers)
    _refused(gw, outcome, ReasonCode.AUTH_DECISION_UNKNOWN_KEY)


def test_a_signature_copied_from_another_decision_is_dead_lettered(gw):
    decision = _setup(gw)
    other = gw.variant(decision, decision_id="decision:other", artifact_id="art:other")
    donor = gw.message(other)  # signed, never sent
    copied = [(n, v) for n, v in donor.headers if n in (SIGNATURE_HEADER, SIGNATURE_KEY_HEADER)]
    outcome = gw.send(decision, signed=False, headers=tuple(copied))
    _refused(gw, outcome, ReasonCode.AUTH_DECISION_BAD_SIGNATURE)


def test_a_review_app_key_on_a_rule_decision_is_the_wrong_signer(gw):
    decision = gw.variant(
        _setup(gw),
        source_system="approval-rules",
        reviewer_ref="rule:low-risk-entity",
        created_by="rule:low-risk-entity",
        provenance={"origin": "SYSTEM"},
    )
    topic, key, value = _coordinates(gw, decision)
    outcome = gw.send(decision, signed=False, headers=signing.sign(topic, key, value))
    _refused(gw, outcome, ReasonCode.AUTH_DECISION_WRONG_SIGNER)
    assert gw.header(outcome.outputs[0], h.DLQ_FIELD) == b"source_system"


def test_other_families_need_no_signature(gw):
    assert gw.send(example("QdSignalBundle")).route is RouteKind.ACCEPTED


def _low_risk(gw):
    return gw.variant(
        example("NormalizedEntityProposal"),
        review_required=False,
        merge_candidate_refs=(),
        confidence=0.95,
    )


def test_the_rules_decision_is_signed_by_the_gateway_and_verifies(gw):
    outcome = gw.send(_low_risk(gw))
    _, decision = outcome.outputs
    assert gw.header(decision, SIGNATURE_KEY_HEADER) == signing.RULE_KEY.key_id.encode()
    refusal = signing.KEYRING.verify(
        decision.topic, decision.key, decision.value, decision.headers, "approval-rules"
    )
    assert refusal is None
    assert gw.runner.outcomes[-1].route is RouteKind.DECISION_APPLIED


def test_without_a_rule_key_the_rules_decision_is_refused_unsigned(catalog, serde, clock):
    pipeline = Pipeline(
        catalog, serde, "t", gateway_version="t", clock=clock, verify_keys=signing.KEYRING
    )
    runner = MemoryRunner(pipeline)
    proposal = _low_risk_example(serde)
    family = catalog.family("NormalizedEntityProposal")
    outcomes = runner.send(family.ingress_topic("t"), proposal[0], proposal[1])
    assert [o.route for o in outcomes] == [RouteKind.AUTO_APPROVED, RouteKind.DEAD_LETTER]
    assert outcomes[1].reason is ReasonCode.AUTH_DECISION_UNSIGNED
    assert runner.topic(catalog.commits_topic("t")) == []


def _low_risk_example(serde):
    artifact = example("NormalizedEntityProposal").model_validate(
        {
            **example("NormalizedEntityProposal").model_dump(),
            "review_required": False,
            "merge_candidate_refs": (),
            "confidence": 0.95,
        }
    )
    return str(artifact.proposal_id).encode(), serde.encode(artifact)


def test_without_verify_keys_every_decision_is_refused(catalog, serde, clock):
    pipeline = Pipeline(catalog, serde, "t", gateway_version="t", clock=clock)
    state = GatewayState()
    decision = example("ApprovalDecision")
    topic = catalog.family("ApprovalDecision").ingress_topic("t")
    value = serde.encode(decision)
    key = decision.proposal_ref.encode()
    runner = MemoryRunner(pipeline)
    message = runner.message(topic, key, value, signing.sign(topic, key, value))
    assert pipeline.process(message, state).reason is ReasonCode.AUTH_DECISION_UNKNOWN_KEY
