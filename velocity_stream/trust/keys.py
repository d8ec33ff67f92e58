"""Signing and verify keys, their text forms for settings, and verification.

- A :class:`SigningKey` belongs to one process and signs for one signer (the producer it
  speaks for: ``review-app`` or ``approval-rules``). Its text form, for an env var or a secret,
  is ``<key id>:<base64 of the 32-byte Ed25519 seed>``; the signer comes from the setting it is
  read from (each signing-key setting belongs to one signer).
- A :class:`KeyRing` holds every verify key the gateway trusts, by key id, each with its signer.
  Several at once is how keys rotate. Its text form is a JSON object:
  ``{"<key id>": {"signer": "review-app", "public_key": "<base64 of 32 bytes>"}}``.

Parsing errors are :class:`ConfigError` naming the setting and never quoting the secret.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from velocity_stream.errors import ConfigError, ReasonCode
from velocity_stream.trust.signature import (
    SIGNATURE_BYTES,
    SIGNATURE_HEADER,
    SIGNATURE_KEY_HEADER,
    Refusal,
    find_signature,
    signed_bytes,
)

REVIEW_APP_SIGNER = "review-app"
RULES_SIGNER = "approval-rules"
KEY_BYTES = 32
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SIGNER = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def new_key_id(signer: str, now: datetime | None = None) -> str:
    """A fresh key id: the signer, the day and a random suffix (``review-app-20260418-3f9a1c``)."""
    day = (now or datetime.now(UTC)).strftime("%Y%m%d")
    return f"{signer}-{day}-{secrets.token_hex(3)}"


def _check_key_id(key_id: str, setting: str) -> str:
    if not _KEY_ID.fullmatch(key_id):
        raise ConfigError(
            f"{setting}: key id {key_id[:70]!r} must be 1-64 characters of letters, digits, "
            "'.', '_' and '-', starting with a letter or digit"
        )
    return key_id


def _check_signer(signer: str, setting: str) -> str:
    if not isinstance(signer, str) or not _SIGNER.fullmatch(signer):
        raise ConfigError(
            f"{setting}: signer {str(signer)[:70]!r} must be a producer name such as "
            f"{REVIEW_APP_SIGNER!r} or {RULES_SIGNER!r}"
        )
    return signer


def _b64_32(text: object, setting: str, what: str) -> bytes:
    if not isinstance(text, str):
        raise ConfigError(f"{setting}: the {what} must be a base64 string")
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{setting}: the {what} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise ConfigError(
            f"{setting}: the {what} must be {KEY_BYTES} bytes of base64, got {len(raw)} bytes"
        )
    return raw


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True, slots=True)
class VerifyKey:
    """A public key the gateway trusts for one signer."""

    key_id: str
    signer: str
    public_key: Ed25519PublicKey

    def public_bytes(self) -> bytes:
        return self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    def entry(self) -> dict[str, dict[str, str]]:
        """This key as one entry of the verify-keys JSON object."""
        return {self.key_id: {"signer": self.signer, "public_key": _b64(self.public_bytes())}}


@dataclass(frozen=True, slots=True, repr=False)
class SigningKey:
    """One process's private key: signs decision messages for ``signer`` under ``key_id``."""

    key_id: str
    signer: str
    private_key: Ed25519PrivateKey

    def __repr__(self) -> str:  # never the key material
        return f"SigningKey(key_id={self.key_id!r}, signer={self.signer!r})"

    @classmethod
    def generate(cls, signer: str, key_id: str | None = None) -> SigningKey:
        _check_signer(signer, "signer")
        key_id = _check_key_id(key_id or new_key_id(signer), "key id")
        return cls(key_id, signer, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, key_id: str, signer: str, seed: bytes) -> SigningKey:
        """A key from its 32-byte seed (tests use fixed seeds for reproducible keys)."""
        _check_key_id(key_id, "key id")
        _check_signer(signer, "signer")
        return cls(key_id, signer, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def parse(cls, text: str, *, signer: str, setting: str) -> SigningKey:
        """``<key id>:<base64 seed>`` as read from ``setting``; ConfigError when malformed."""
        key_id, sep, seed = text.strip().partition(":")
        if not sep or not key_id or not seed:
            raise ConfigError(
                f"{setting}: expected '<key id>:<base64 32-byte seed>' "
                "(make one with `velocity-stream keys generate`)"
            )
        _check_key_id(key_id, setting)
        _check_signer(signer, setting)
        return cls(
            key_id, signer, Ed25519PrivateKey.from_private_bytes(_b64_32(seed, setting, "seed"))
        )

    def text(self) -> str:
        """The form :meth:`parse` reads: a secret, for an env var or a secret store only."""
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return f"{self.key_id}:{_b64(seed)}"

    @property
    def verify_key(self) -> VerifyKey:
        return VerifyKey(self.key_id, self.signer, self.private_key.public_key())

    def sign(self, topic: str, key: bytes | None, value: bytes | None) -> bytes:
        """The 64-byte signature of a message to ``topic`` (Ed25519 is deterministic)."""
        return self.private_key.sign(signed_bytes(self.key_id, topic, key, value))

    def headers(
        self, topic: str, key: bytes | None, value: bytes | None
    ) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
        """The two headers that carry this key's signature of the message."""
        return (
            (SIGNATURE_HEADER, self.sign(topic, key, value)),
            (SIGNATURE_KEY_HEADER, self.key_id.encode("utf-8")),
        )


class KeyRing:
    """Every verify key trusted, by key id; verifies decision messages."""

    def __init__(self, keys: Iterable[VerifyKey] = ()) -> None:
        self._keys: dict[str, VerifyKey] = {}
        for key in keys:
            if key.key_id in self._keys:
                raise ConfigError(f"key id {key.key_id!r} is given twice")
            self._keys[key.key_id] = key

    @classmethod
    def parse(cls, text: str, *, setting: str) -> KeyRing:
        """The JSON object of ``setting``: key id -> {"signer", "public_key"}."""
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ConfigError(
                f"{setting}: not JSON ({error.__class__.__name__} at {getattr(error, 'pos', '?')}"
                '); expected {"<key id>": {"signer": "review-app", "public_key": "<base64>"}}'
            ) from None
        if not isinstance(data, Mapping):
            raise ConfigError(
                f'{setting}: expected a JSON object {{"<key id>": {{"signer": ..., '
                '"public_key": ...}}}'
            )
        keys = []
        for key_id, entry in data.items():
            _check_key_id(key_id, setting)
            if not isinstance(entry, Mapping) or set(entry) != {"signer", "public_key"}:
                raise ConfigError(
                    f'{setting}: key {key_id!r} must be {{"signer": ..., "public_key": ...}} '
                    "and nothing else"
                )
            signer = _check_signer(entry["signer"], f"{setting}: key {key_id!r}")
            raw = _b64_32(entry["public_key"], setting, f"public_key of {key_id!r}")
            keys.append(VerifyKey(key_id, signer, Ed25519PublicKey.from_public_bytes(raw)))
        return cls(keys)

    def text(self) -> str:
        """The JSON form :meth:`parse` reads (public keys only: not a secret)."""
        merged: dict[str, dict[str, str]] = {}
        for key in self:
            merged.update(key.entry())
        return json.dumps(merged, sort_keys=True)

    def __iter__(self) -> Iterator[VerifyKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def get(self, key_id: str) -> VerifyKey | None:
        return self._keys.get(key_id)

    def signers(self) -> frozenset[str]:
        return frozenset(key.signer for key in self)

    def trusts(self, signing: SigningKey) -> bool:
        """Whether ``signing``'s own public key is here under its id and signer."""
        known = self._keys.get(signing.key_id)
        return (
            known is not None
            and known.signer == signing.signer
            and known.public_bytes() == signing.verify_key.public_bytes()
        )

    def verify(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: object,
        source_system: str,
    ) -> Refusal | None:
        """None when the message carries a valid signature by a key of ``source_system``;
        otherwise the refusal (unsigned, unknown key, bad signature, wrong signer)."""
        found = find_signature(headers)
        missing = [
            name
            for name, value_ in (
                (SIGNATURE_HEADER, found.signature),
                (SIGNATURE_KEY_HEADER, found.key_id),
            )
            if value_ is None
        ]
        if missing:
            return Refusal(
                ReasonCode.AUTH_DECISION_UNSIGNED,
                f"a decision must be signed by its producer: no {' or '.join(missing)} header",
            )
        assert found.signature is not None and found.key_id is not None
        if found.repeated:
            return Refusal(
                ReasonCode.AUTH_DECISION_BAD_SIGNATURE,
                f"{' and '.join(found.repeated)} given more than once: one signature only",
            )
        try:
            key_id = found.key_id.decode("utf-8")
        except UnicodeDecodeError:
            return Refusal(
                ReasonCode.AUTH_DECISION_UNKNOWN_KEY,
                f"the signing key id {found.key_id[:64]!r} is not UTF-8 and no known key",
            )
        verify_key = self._keys.get(key_id)
        if verify_key is None:
            return Refusal(
                ReasonCode.AUTH_DECISION_UNKNOWN_KEY,
                f"no verify key {key_id[:64]!r} is configured (never added, or retired)",
            )
        if len(found.signature) != SIGNATURE_BYTES:
            return Refusal(
                ReasonCode.AUTH_DECISION_BAD_SIGNATURE,
                f"a signature is {SIGNATURE_BYTES} bytes, this one {len(found.signature)}",
            )
        try:
            verify_key.public_key.verify(found.signature, signed_bytes(key_id, topic, key, value))
        except InvalidSignature:
            return Refusal(
                ReasonCode.AUTH_DECISION_BAD_SIGNATURE,
                f"the signature by key {key_id!r} does not match this message's topic, key and "
                "value: forged, altered after signing, or copied from another message",
            )
        if verify_key.signer != source_system:
            return Refusal(
                ReasonCode.AUTH_DECISION_WRONG_SIGNER,
                f"key {key_id!r} signs for {verify_key.signer!r}, but the decision's "
                f"source_system is {source_system!r}",
            )
        return None
