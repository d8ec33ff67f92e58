"""The keys named by the settings, parsed once, with errors that name the setting."""

from __future__ import annotations

from velocity_stream.errors import ConfigError
from velocity_stream.settings import Settings
from velocity_stream.trust.keys import REVIEW_APP_SIGNER, RULES_SIGNER, KeyRing, SigningKey

VERIFY_KEYS_SETTING = "VELOCITY_DECISION_VERIFY_KEYS"
RULE_KEY_SETTING = "VELOCITY_RULE_SIGNING_KEY"
REVIEW_KEY_SETTING = "VELOCITY_REVIEW_SIGNING_KEY"
_GENERATE = "make keys with `velocity-stream keys generate` (docs/security.md)"


def verify_keys(settings: Settings) -> KeyRing:
    """The gateway's trusted keys; an empty ring when the setting is unset."""
    text = settings.decision_verify_keys
    if text is None or not text.strip():
        return KeyRing()
    return KeyRing.parse(text, setting=VERIFY_KEYS_SETTING)


def rule_signing_key(settings: Settings) -> SigningKey | None:
    """The gateway's own key for auto-rule decisions, or None when unset."""
    secret = settings.rule_signing_key
    if secret is None or not secret.get_secret_value().strip():
        return None
    return SigningKey.parse(
        secret.get_secret_value(), signer=RULES_SIGNER, setting=RULE_KEY_SETTING
    )


def review_signing_key(settings: Settings) -> SigningKey:
    """The review app's key; ConfigError when unset (the app never publishes unsigned)."""
    secret = settings.review_signing_key
    if secret is None or not secret.get_secret_value().strip():
        raise ConfigError(
            f"{REVIEW_KEY_SETTING} is not set: the review app signs every decision it "
            f"publishes and the gateway refuses unsigned ones; {_GENERATE}"
        )
    return SigningKey.parse(
        secret.get_secret_value(), signer=REVIEW_APP_SIGNER, setting=REVIEW_KEY_SETTING
    )


def missing_verify_keys(decision_family: str) -> ConfigError:
    return ConfigError(
        f"{VERIFY_KEYS_SETTING} is not set: the catalog's decision family {decision_family} "
        f"only takes signed decisions, and no key is trusted; {_GENERATE}"
    )


def missing_rule_key(decision_family: str) -> ConfigError:
    return ConfigError(
        f"{RULE_KEY_SETTING} is not set: the catalog's auto-approve rules write signed "
        f"{decision_family}s; {_GENERATE} --signer {RULES_SIGNER}"
    )


def untrusted_rule_key(key: SigningKey) -> ConfigError:
    return ConfigError(
        f"{RULE_KEY_SETTING}: key {key.key_id!r} is not among {VERIFY_KEYS_SETTING} with signer "
        f"{RULES_SIGNER!r} and its public key, so every auto-rule decision would be refused; "
        "add the entry `velocity-stream keys generate` printed with it"
    )
