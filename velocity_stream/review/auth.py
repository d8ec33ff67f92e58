"""Who is calling the review app: a bearer token (API) or a login cookie (pages), mapped to a
reviewer ref by settings, and whether the catalog lets that reviewer decide.

Two answers, two status codes: no token or an unknown one is 401 (who are you?); a known token
of a ref the catalog does not list as a reviewer is 403 (we know you; you may not). This is
the first gate only: the gateway checks its own reviewer list again on every decision.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from velocity_stream.errors import ConfigError

COOKIE_NAME = "velocity_review"
# How long a login lasts in the browser; the token is checked again on every request anyway.
COOKIE_MAX_AGE_S = 12 * 3600


class AuthCode(StrEnum):
    """Why a request was turned away. ``auth.not_reviewer`` is the gateway's code too."""

    TOKEN_MISSING = "auth.token_missing"
    TOKEN_UNKNOWN = "auth.token_unknown"
    NOT_REVIEWER = "auth.not_reviewer"
    FORM_TOKEN_INVALID = "auth.form_token_invalid"


class AuthError(Exception):
    """A refused request: the HTTP status, a stable code and a sentence for people."""

    def __init__(self, status: int, code: AuthCode, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{code.value}: {message}")


@dataclass(frozen=True, slots=True)
class Reviewer:
    """An authenticated, authorized caller. ``token`` stays server-side (form-token key)."""

    ref: str
    token: str

    @property
    def display_name(self) -> str:
        """``human:sayan`` -> ``sayan``: refs are ``kind:name`` by convention."""
        return self.ref.split(":", 1)[-1]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class ReviewerDirectory:
    """Tokens to refs (settings), refs allowed to decide (catalog), and form tokens.

    Tokens are kept as SHA-256 digests and looked up by digest, so the time a lookup takes
    says nothing about how much of a guessed token was right.
    """

    def __init__(
        self,
        tokens: Mapping[str, str],
        allowed: Iterable[str],
        *,
        form_key: bytes | None = None,
    ) -> None:
        for token, ref in tokens.items():
            if not token.strip() or not ref.strip():
                raise ConfigError("VELOCITY_REVIEWER_TOKENS: tokens and refs must be non-empty")
        self._refs = {_digest(token): ref for token, ref in tokens.items()}
        self.allowed = frozenset(allowed)
        self._form_key = form_key or secrets.token_bytes(32)

    @property
    def configured(self) -> bool:
        """False when no token is configured: then nobody can log in (the app says so)."""
        return bool(self._refs)

    def identify(self, token: str | None) -> Reviewer:
        """The reviewer a token belongs to; AuthError 401 (unknown) or 403 (not a reviewer)."""
        if token is None or not token.strip():
            raise AuthError(401, AuthCode.TOKEN_MISSING, "log in with a reviewer token")
        token = token.strip()
        ref = self._refs.get(_digest(token))
        if ref is None:
            raise AuthError(401, AuthCode.TOKEN_UNKNOWN, "this token is not a reviewer token")
        if ref not in self.allowed:
            raise AuthError(
                403,
                AuthCode.NOT_REVIEWER,
                f"{ref} is not one of the catalog's reviewers and may not review proposals",
            )
        return Reviewer(ref, token)

    def form_token(self, reviewer: Reviewer) -> str:
        """The hidden field every page form carries (CSRF): an HMAC of the login token.

        A page on another site can make the browser send our cookie, but cannot read our
        pages, so it cannot know this value.
        """
        mac = hmac.new(self._form_key, reviewer.token.encode("utf-8"), hashlib.sha256)
        return mac.hexdigest()

    def check_form_token(self, reviewer: Reviewer, form_token: str | None) -> None:
        if form_token is None or not hmac.compare_digest(form_token, self.form_token(reviewer)):
            raise AuthError(
                403,
                AuthCode.FORM_TOKEN_INVALID,
                "the form is stale or did not come from this app: reload the page and retry",
            )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None
