"""What a decision's signature covers, and the headers that carry it.

The signed bytes are a length-prefixed concatenation of five parts, so no two different
messages share an encoding (no part can run into the next):

    DOMAIN | key id | topic | Kafka key | value

each part as an 8-byte big-endian length and its bytes (a missing Kafka key or value as the
length 0xFFFFFFFFFFFFFFFF and nothing, so ``None`` and ``b""`` differ). The domain tag names
the purpose and the format's version: a signature made for anything else never verifies here.
Headers other than these two are not covered (the gateway never trusts a header).
"""

from __future__ import annotations

from dataclasses import dataclass

from velocity_stream.errors import ReasonCode

# The purpose and version of the encoding; a new encoding gets a new tag.
DOMAIN = b"velocity-stream/approval-decision-signature/v1"
SIGNATURE_HEADER = "velocity.signature"
SIGNATURE_KEY_HEADER = "velocity.signature.key"
SIGNATURE_BYTES = 64
_ABSENT = b"\xff" * 8


def _part(data: bytes | None) -> bytes:
    if data is None:
        return _ABSENT
    return len(data).to_bytes(8, "big") + data


def signed_bytes(key_id: str, topic: str, key: bytes | None, value: bytes | None) -> bytes:
    """The exact bytes an Ed25519 signature of a decision message is made over."""
    return b"".join(
        (
            _part(DOMAIN),
            _part(key_id.encode("utf-8")),
            _part(topic.encode("utf-8")),
            _part(key),
            _part(value),
        )
    )


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a message's signature is not accepted: a reason code and a sentence for people."""

    code: ReasonCode
    message: str


@dataclass(frozen=True, slots=True)
class SignatureHeaders:
    """The signature headers found on a message (each None when absent)."""

    signature: bytes | None
    key_id: bytes | None
    repeated: tuple[str, ...]


def find_signature(headers: object) -> SignatureHeaders:
    """The two signature headers of ``headers`` (pairs of name and bytes), read defensively:
    anything that is not a (str, bytes) pair is ignored; a header given twice is reported."""
    found: dict[str, list[bytes]] = {SIGNATURE_HEADER: [], SIGNATURE_KEY_HEADER: []}
    try:
        pairs = list(headers or ())  # type: ignore[call-overload]
    except TypeError:
        pairs = []
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            continue
        name, value = pair
        if name in found and isinstance(value, bytes):
            found[name].append(value)
    repeated = tuple(name for name, values in found.items() if len(values) > 1)
    signature = found[SIGNATURE_HEADER]
    key_id = found[SIGNATURE_KEY_HEADER]
    return SignatureHeaders(
        signature[0] if signature else None, key_id[0] if key_id else None, repeated
    )
