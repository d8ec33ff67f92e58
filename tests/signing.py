"""The tests' decision keys: fixed seeds, so every harness signs and verifies the same way.

One place for every test that sends a decision to a gateway: ``sign`` (the headers for a
message), ``decision_headers`` (the key that matches a decision's ``source_system``),
``KEYRING`` (what the gateways under test trust) and ``env`` (the settings for processes).
"""

from __future__ import annotations

from collections.abc import Sequence

from velocity_stream.trust import REVIEW_APP_SIGNER, RULES_SIGNER, KeyRing, SigningKey

REVIEW_KEY = SigningKey.from_seed("test-review-1", REVIEW_APP_SIGNER, bytes(range(32)))
RULE_KEY = SigningKey.from_seed("test-rules-1", RULES_SIGNER, bytes(range(32, 64)))
# Known to nobody: signs for review-app under a key id no gateway trusts.
STRANGER_KEY = SigningKey.from_seed("test-stranger-1", REVIEW_APP_SIGNER, b"\x07" * 32)
KEYRING = KeyRing([REVIEW_KEY.verify_key, RULE_KEY.verify_key])
_BY_SIGNER = {REVIEW_APP_SIGNER: REVIEW_KEY, RULES_SIGNER: RULE_KEY}

Header = tuple[str, bytes]


def key_for(source_system: str) -> SigningKey:
    """The test key of a producer (the review app's for anything but the rules)."""
    return _BY_SIGNER.get(source_system, REVIEW_KEY)


def sign(
    topic: str, key: bytes | None, value: bytes | None, signer: SigningKey = REVIEW_KEY
) -> tuple[Header, Header]:
    """The signature headers of a message to ``topic``."""
    return signer.headers(topic, key, value)


def with_signature(
    headers: Sequence[Header], topic: str, key: bytes | None, value: bytes | None, source: str
) -> tuple[Header, ...]:
    """``headers`` plus the signature of the test key that signs for ``source``."""
    return (*headers, *sign(topic, key, value, key_for(source)))


def env() -> dict[str, str]:
    """The settings that give a process the test keys (gateway, review app)."""
    return {
        "VELOCITY_DECISION_VERIFY_KEYS": KEYRING.text(),
        "VELOCITY_RULE_SIGNING_KEY": RULE_KEY.text(),
        "VELOCITY_REVIEW_SIGNING_KEY": REVIEW_KEY.text(),
    }
