"""Key text forms for settings and the `keys generate` command."""

from __future__ import annotations

import base64
import json

import pytest

from velocity_stream.cli.main import main
from velocity_stream.errors import ConfigError
from velocity_stream.settings import Settings
from velocity_stream.trust import REVIEW_APP_SIGNER, RULES_SIGNER, KeyRing, SigningKey
from velocity_stream.trust import config as trust_config

SETTING = "VELOCITY_REVIEW_SIGNING_KEY"


def test_a_signing_key_round_trips_through_its_text():
    key = SigningKey.generate(REVIEW_APP_SIGNER, "review-1")
    again = SigningKey.parse(key.text(), signer=REVIEW_APP_SIGNER, setting=SETTING)
    assert again.key_id == "review-1"
    assert again.sign("t", b"k", b"v") == key.sign("t", b"k", b"v")


def test_the_repr_of_a_signing_key_holds_no_secret():
    key = SigningKey.generate(REVIEW_APP_SIGNER, "review-1")
    seed = key.text().split(":", 1)[1]
    assert seed not in repr(key) and seed not in str(key)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "expected '<key id>:<base64 32-byte seed>'"),
        ("no-colon", "expected"),
        ("id:", "expected"),
        ("bad id!:" + base64.b64encode(b"x" * 32).decode(), "key id"),
        ("id:not base64!!", "not valid base64"),
        ("id:" + base64.b64encode(b"x" * 16).decode(), "32 bytes"),
    ],
)
def test_bad_signing_keys_name_the_setting(text, says):
    with pytest.raises(ConfigError) as raised:
        SigningKey.parse(text, signer=REVIEW_APP_SIGNER, setting=SETTING)
    assert str(raised.value).startswith(SETTING) and says in str(raised.value)


def test_a_secret_is_never_quoted_in_an_error():
    secret = base64.b64encode(b"s" * 31).decode()
    with pytest.raises(ConfigError) as raised:
        SigningKey.parse(f"id:{secret}", signer=REVIEW_APP_SIGNER, setting=SETTING)
    assert secret not in str(raised.value)


def test_verify_keys_round_trip_through_json():
    a = SigningKey.generate(REVIEW_APP_SIGNER, "a")
    b = SigningKey.generate(RULES_SIGNER, "b")
    ring = KeyRing.parse(KeyRing([a.verify_key, b.verify_key]).text(), setting="V")
    assert {k.key_id: k.signer for k in ring} == {"a": REVIEW_APP_SIGNER, "b": RULES_SIGNER}
    assert ring.trusts(a) and ring.trusts(b)
    assert not ring.trusts(SigningKey.generate(RULES_SIGNER, "b"))  # same id, other key


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{", "not JSON"),
        ("[]", "expected a JSON object"),
        ('{"a": "x"}', "must be"),
        ('{"a": {"signer": "review-app"}}', "must be"),
        ('{"a": {"signer": "review-app", "public_key": "AAAA", "x": 1}}', "must be"),
        ('{"a": {"signer": "Review App", "public_key": "AAAA"}}', "signer"),
        ('{"a": {"signer": "review-app", "public_key": "AAAA"}}', "32 bytes"),
        ('{"a": {"signer": "review-app", "public_key": 5}}', "base64 string"),
        ('{"a b": {"signer": "review-app", "public_key": "AAAA"}}', "key id"),
    ],
)
def test_bad_verify_keys_name_the_setting(text, says):
    with pytest.raises(ConfigError) as raised:
        KeyRing.parse(text, setting="VELOCITY_DECISION_VERIFY_KEYS")
    assert str(raised.value).startswith("VELOCITY_DECISION_VERIFY_KEYS") and says in str(
        raised.value
    )


def test_settings_keep_the_signing_keys_secret():
    key = SigningKey.generate(RULES_SIGNER, "r")
    settings = Settings(rule_signing_key=key.text(), review_signing_key=key.text())
    assert key.text() not in repr(settings) and key.text() not in str(settings.model_dump())
    parsed = trust_config.rule_signing_key(settings)
    assert parsed is not None and parsed.signer == RULES_SIGNER and parsed.key_id == "r"


def test_the_review_key_is_required_with_one_clear_line():
    with pytest.raises(ConfigError) as raised:
        trust_config.review_signing_key(Settings())
    assert "VELOCITY_REVIEW_SIGNING_KEY is not set" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_keys_generate_prints_a_usable_pair(capsys):
    assert main(["keys", "generate", "--signer", "review-app", "--key-id", "rv-1"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    signing_text, entry = lines
    key = SigningKey.parse(signing_text, signer=REVIEW_APP_SIGNER, setting=SETTING)
    ring = KeyRing.parse(entry, setting="V")
    assert key.key_id == "rv-1" and ring.trusts(key)
    assert ring.verify("t", b"k", b"v", key.headers("t", b"k", b"v"), "review-app") is None


def test_keys_generate_json_and_a_default_key_id(capsys):
    assert main(["keys", "generate", "--signer", "approval-rules", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    key = SigningKey.parse(printed["signing_key"], signer=RULES_SIGNER, setting="S")
    assert key.key_id.startswith("approval-rules-")
    assert KeyRing.parse(json.dumps(printed["verify_key"]), setting="V").trusts(key)


def test_keys_generate_refuses_a_bad_signer(capsys):
    assert main(["keys", "generate", "--signer", "Review App"]) == 2
    assert "signer" in capsys.readouterr().err
