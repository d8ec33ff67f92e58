"""Signing and verifying decision messages: the round trip, every refusal, tampering."""

from __future__ import annotations

import pytest

from velocity_stream.errors import ReasonCode
from velocity_stream.trust import (
    REVIEW_APP_SIGNER,
    RULES_SIGNER,
    SIGNATURE_HEADER,
    SIGNATURE_KEY_HEADER,
    KeyRing,
    SigningKey,
    signed_bytes,
)

TOPIC = "velocity.approval_decisions.v1"
KEY = b"proposal:writeback:acme-stage"
VALUE = b"\x00\x00\x00\x00\x07avro bytes of a decision"

REVIEW = SigningKey.from_seed("review-1", REVIEW_APP_SIGNER, b"\x01" * 32)
RULES = SigningKey.from_seed("rules-1", RULES_SIGNER, b"\x02" * 32)
RING = KeyRing([REVIEW.verify_key, RULES.verify_key])


def _verify(headers, *, topic=TOPIC, key=KEY, value=VALUE, source=REVIEW_APP_SIGNER, ring=RING):
    return ring.verify(topic, key, value, headers, source)


def test_a_signed_message_verifies():
    headers = REVIEW.headers(TOPIC, KEY, VALUE)
    assert [name for name, _ in headers] == [SIGNATURE_HEADER, SIGNATURE_KEY_HEADER]
    assert len(headers[0][1]) == 64 and headers[1][1] == b"review-1"
    assert _verify(headers) is None


def test_signatures_are_deterministic():
    assert REVIEW.sign(TOPIC, KEY, VALUE) == REVIEW.sign(TOPIC, KEY, VALUE)


def test_other_headers_do_not_matter():
    headers = (("velocity.trace_id", b"x"), *REVIEW.headers(TOPIC, KEY, VALUE), ("a", b"b"))
    assert _verify(headers) is None


@pytest.mark.parametrize(
    "headers",
    [(), ((SIGNATURE_KEY_HEADER, b"review-1"),), ((SIGNATURE_HEADER, b"\x00" * 64),)],
    ids=["none", "no signature", "no key id"],
)
def test_unsigned(headers):
    refusal = _verify(headers)
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_UNSIGNED


def test_unknown_key():
    stranger = SigningKey.from_seed("stranger", REVIEW_APP_SIGNER, b"\x03" * 32)
    refusal = _verify(stranger.headers(TOPIC, KEY, VALUE))
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_UNKNOWN_KEY
    assert "stranger" in refusal.message


def test_a_retired_key_is_unknown():
    ring = KeyRing([RULES.verify_key])
    refusal = _verify(REVIEW.headers(TOPIC, KEY, VALUE), ring=ring)
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_UNKNOWN_KEY


def test_a_wrong_private_key_under_a_known_key_id_is_a_bad_signature():
    impostor = SigningKey.from_seed("review-1", REVIEW_APP_SIGNER, b"\x04" * 32)
    refusal = _verify(impostor.headers(TOPIC, KEY, VALUE))
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_BAD_SIGNATURE


@pytest.mark.parametrize(
    "changes",
    [
        {"topic": "velocity.approval_decisions.v2"},
        {"key": b"proposal:writeback:other"},
        {"key": None},
        {"value": VALUE + b"!"},
        {"value": VALUE[:-1]},
        {"value": None},
    ],
    ids=["topic", "key", "no key", "value appended", "value cut", "no value"],
)
def test_tampering_with_any_covered_part_breaks_the_signature(changes):
    refusal = _verify(REVIEW.headers(TOPIC, KEY, VALUE), **changes)
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_BAD_SIGNATURE


def test_the_key_id_is_covered():
    # Two keys of one signer: a signature made under one id does not verify under the other.
    second = SigningKey(
        "review-2", REVIEW_APP_SIGNER, REVIEW.private_key
    )  # same private key, other id
    ring = KeyRing([REVIEW.verify_key, second.verify_key])
    signature, _ = REVIEW.headers(TOPIC, KEY, VALUE)
    relabelled = (signature, (SIGNATURE_KEY_HEADER, b"review-2"))
    refusal = _verify(relabelled, ring=ring)
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_BAD_SIGNATURE


def test_a_tampered_signature_or_a_short_one_is_bad():
    (name, signature), key_id = REVIEW.headers(TOPIC, KEY, VALUE)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    for bad in (flipped, signature[:32], b""):
        refusal = _verify(((name, bad), key_id))
        assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_BAD_SIGNATURE


def test_a_signature_copied_onto_another_message_is_bad():
    headers = REVIEW.headers(TOPIC, KEY, VALUE)
    other_value = VALUE.replace(b"decision", b"approval")
    refusal = _verify(headers, key=b"proposal:other", value=other_value)
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_BAD_SIGNATURE


def test_two_signatures_are_refused():
    headers = (*REVIEW.headers(TOPIC, KEY, VALUE), *RULES.headers(TOPIC, KEY, VALUE))
    refusal = _verify(headers)
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_BAD_SIGNATURE


def test_wrong_signer():
    refusal = _verify(REVIEW.headers(TOPIC, KEY, VALUE), source=RULES_SIGNER)
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_WRONG_SIGNER
    assert "review-app" in refusal.message and "approval-rules" in refusal.message
    refusal = _verify(RULES.headers(TOPIC, KEY, VALUE), source=REVIEW_APP_SIGNER)
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_WRONG_SIGNER


def test_a_forged_signature_with_the_wrong_signer_is_reported_as_forged():
    impostor = SigningKey.from_seed("rules-1", RULES_SIGNER, b"\x05" * 32)
    refusal = _verify(impostor.headers(TOPIC, KEY, VALUE), source=REVIEW_APP_SIGNER)
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_BAD_SIGNATURE


def test_rotation_two_verify_keys_of_one_signer():
    old = SigningKey.from_seed("review-old", REVIEW_APP_SIGNER, b"\x06" * 32)
    new = SigningKey.from_seed("review-new", REVIEW_APP_SIGNER, b"\x07" * 32)
    both = KeyRing([old.verify_key, new.verify_key])
    assert _verify(old.headers(TOPIC, KEY, VALUE), ring=both) is None
    assert _verify(new.headers(TOPIC, KEY, VALUE), ring=both) is None
    retired = KeyRing([new.verify_key])
    refusal = _verify(old.headers(TOPIC, KEY, VALUE), ring=retired)
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_UNKNOWN_KEY


def test_the_encoding_is_length_prefixed():
    # Moving a byte from one part to the next gives other signed bytes.
    assert signed_bytes("k", "ab", b"c", b"d") != signed_bytes("k", "a", b"bc", b"d")
    assert signed_bytes("k", "t", b"", b"v") != signed_bytes("k", "t", None, b"v")
    assert signed_bytes("k", "t", b"x", b"") != signed_bytes("k", "t", b"x", None)


def test_junk_headers_are_ignored_not_fatal():
    junk = [("velocity.signature", "text"), ("x",), None, ("velocity.signature.key", 5)]
    refusal = _verify(junk)
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_UNSIGNED
    refusal = _verify("not headers at all")
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_UNSIGNED


def test_a_key_id_that_is_not_utf8_is_unknown():
    signature, _ = REVIEW.headers(TOPIC, KEY, VALUE)
    refusal = _verify((signature, (SIGNATURE_KEY_HEADER, b"\xff\xfe")))
    assert refusal is not None and refusal.code is ReasonCode.AUTH_DECISION_UNKNOWN_KEY
