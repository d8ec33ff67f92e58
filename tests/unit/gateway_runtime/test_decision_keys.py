"""The worker's start-up check of its decision keys against the catalog (no broker needed)."""

from __future__ import annotations

import pytest

from tests import signing
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.errors import ConfigError
from velocity_stream.gateway.runtime.worker import decision_keys
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR, Settings
from velocity_stream.trust import KeyRing, SigningKey

CATALOG = load_catalog(DEFAULT_SCHEMAS_DIR)


def _settings(**changes):
    values = {
        "decision_verify_keys": signing.KEYRING.text(),
        "rule_signing_key": signing.RULE_KEY.text(),
    }
    values.update(changes)
    return Settings(**{k: v for k, v in values.items() if v is not None})


def test_keys_that_fit_the_catalog_are_used():
    ring, rule = decision_keys(_settings(), CATALOG)
    assert len(ring) == 2 and rule is not None and rule.key_id == signing.RULE_KEY.key_id


def test_no_verify_keys_is_one_clear_line():
    with pytest.raises(ConfigError) as raised:
        decision_keys(_settings(decision_verify_keys=None), CATALOG)
    text = str(raised.value)
    assert text.startswith("VELOCITY_DECISION_VERIFY_KEYS is not set") and "\n" not in text


def test_auto_rules_need_the_rule_key():
    with pytest.raises(ConfigError, match="VELOCITY_RULE_SIGNING_KEY is not set"):
        decision_keys(_settings(rule_signing_key=None), CATALOG)


def test_a_rule_key_the_gateway_does_not_trust_is_refused():
    other = SigningKey.from_seed(signing.RULE_KEY.key_id, "approval-rules", b"\x08" * 32)
    with pytest.raises(ConfigError, match="is not among VELOCITY_DECISION_VERIFY_KEYS"):
        decision_keys(_settings(rule_signing_key=other.text()), CATALOG)


def test_a_verify_key_for_a_signer_that_is_no_producer_is_refused():
    stray = SigningKey.from_seed("oracle-1", "oracle", b"\x0a" * 32)
    ring = KeyRing([*signing.KEYRING, stray.verify_key])
    with pytest.raises(ConfigError, match="'oracle', which is not a producer of ApprovalDecision"):
        decision_keys(_settings(decision_verify_keys=ring.text()), CATALOG)


def test_a_malformed_setting_names_itself():
    with pytest.raises(ConfigError, match=r"^VELOCITY_DECISION_VERIFY_KEYS: not JSON"):
        decision_keys(_settings(decision_verify_keys="{oops"), CATALOG)
    with pytest.raises(ConfigError, match=r"^VELOCITY_RULE_SIGNING_KEY: expected"):
        decision_keys(_settings(rule_signing_key="oops"), CATALOG)
