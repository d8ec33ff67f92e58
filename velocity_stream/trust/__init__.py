"""Signed decisions: who may say "approved" is proven by a key, not by a field in the body.

Pure (no Kafka client): Ed25519 keys from ``cryptography``, the canonical bytes a signature
covers, the two headers that carry it, and the verification the gateway runs on every record of
the catalog's decision family. docs/security.md has the trust model and key handling.
"""

from velocity_stream.trust.keys import (
    REVIEW_APP_SIGNER,
    RULES_SIGNER,
    KeyRing,
    SigningKey,
    VerifyKey,
    new_key_id,
)
from velocity_stream.trust.signature import (
    SIGNATURE_HEADER,
    SIGNATURE_KEY_HEADER,
    Refusal,
    signed_bytes,
)

__all__ = [
    "REVIEW_APP_SIGNER",
    "RULES_SIGNER",
    "SIGNATURE_HEADER",
    "SIGNATURE_KEY_HEADER",
    "KeyRing",
    "Refusal",
    "SigningKey",
    "VerifyKey",
    "new_key_id",
    "signed_bytes",
]
