"""`velocity-stream dev` makes fresh decision keys per run and hands each part its own."""

from __future__ import annotations

from pathlib import Path

from tests import signing
from velocity_stream.devstack.stack import dev_settings, gateway_env
from velocity_stream.settings import Settings
from velocity_stream.trust import KeyRing
from velocity_stream.trust import config as trust_config


def test_each_run_gets_fresh_keys_the_gateway_trusts(tmp_path: Path):
    first = dev_settings(Settings(), tmp_path)
    second = dev_settings(Settings(), tmp_path)
    review = trust_config.review_signing_key(first)
    rule = trust_config.rule_signing_key(first)
    assert rule is not None and (review.signer, rule.signer) == ("review-app", "approval-rules")
    ring = trust_config.verify_keys(first)
    assert ring.trusts(review) and ring.trusts(rule) and len(ring) == 2
    assert trust_config.review_signing_key(second).key_id != review.key_id


def test_the_gateway_child_gets_the_verify_keys_and_the_rule_key_only(tmp_path: Path):
    settings = dev_settings(Settings(), tmp_path)
    env = gateway_env(settings)
    assert set(env) == {"VELOCITY_DECISION_VERIFY_KEYS", "VELOCITY_RULE_SIGNING_KEY"}
    assert KeyRing.parse(env["VELOCITY_DECISION_VERIFY_KEYS"], setting="V")
    assert settings.review_signing_key is not None
    assert settings.review_signing_key.get_secret_value() not in str(env)


def test_keys_the_user_set_are_kept(tmp_path: Path):
    given = Settings(
        review_signing_key=signing.REVIEW_KEY.text(),
        rule_signing_key=signing.RULE_KEY.text(),
        decision_verify_keys=signing.KEYRING.text(),
    )
    settings = dev_settings(given, tmp_path)
    assert trust_config.review_signing_key(settings).key_id == signing.REVIEW_KEY.key_id
    assert settings.decision_verify_keys == signing.KEYRING.text()
