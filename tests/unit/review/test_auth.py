"""Tokens to reviewers: 401 for no or unknown token, 403 for a known non-reviewer, form tokens."""

from __future__ import annotations

import pytest

from velocity_stream.errors import ConfigError
from velocity_stream.review.auth import AuthCode, AuthError, ReviewerDirectory, bearer_token

TOKENS = {"tok-a": "human:sayan", "tok-b": "human:intern"}
ALLOWED = ("human:sayan", "human:sourik")


@pytest.fixture
def directory() -> ReviewerDirectory:
    return ReviewerDirectory(TOKENS, ALLOWED, form_key=b"x" * 32)


@pytest.mark.parametrize("token", [None, "", "   "])
def test_no_token_is_401_token_missing(directory, token):
    with pytest.raises(AuthError) as caught:
        directory.identify(token)
    assert (caught.value.status, caught.value.code) == (401, AuthCode.TOKEN_MISSING)


def test_unknown_token_is_401_token_unknown(directory):
    with pytest.raises(AuthError) as caught:
        directory.identify("tok-a-but-longer")
    assert (caught.value.status, caught.value.code) == (401, AuthCode.TOKEN_UNKNOWN)


def test_known_token_of_a_non_reviewer_is_403(directory):
    with pytest.raises(AuthError) as caught:
        directory.identify("tok-b")
    assert (caught.value.status, caught.value.code) == (403, AuthCode.NOT_REVIEWER)
    assert "human:intern" in caught.value.message


def test_reviewer_token_gives_its_ref(directory):
    reviewer = directory.identify(" tok-a ")
    assert reviewer.ref == "human:sayan"
    assert reviewer.display_name == "sayan"


def test_form_token_is_bound_to_the_login(directory):
    sayan = directory.identify("tok-a")
    token = directory.form_token(sayan)
    directory.check_form_token(sayan, token)
    other = ReviewerDirectory({"tok-c": "human:sourik"}, ALLOWED, form_key=b"x" * 32)
    sourik = other.identify("tok-c")
    for wrong in (None, "", token[:-1] + "0", other.form_token(sourik)):
        with pytest.raises(AuthError) as caught:
            directory.check_form_token(sayan, wrong)
        assert (caught.value.status, caught.value.code) == (403, AuthCode.FORM_TOKEN_INVALID)


def test_form_tokens_differ_between_keys():
    one = ReviewerDirectory(TOKENS, ALLOWED, form_key=b"1" * 32)
    two = ReviewerDirectory(TOKENS, ALLOWED, form_key=b"2" * 32)
    assert one.form_token(one.identify("tok-a")) != two.form_token(two.identify("tok-a"))


def test_empty_token_or_ref_in_settings_is_a_config_error():
    with pytest.raises(ConfigError):
        ReviewerDirectory({"": "human:sayan"}, ALLOWED)
    with pytest.raises(ConfigError):
        ReviewerDirectory({"tok": " "}, ALLOWED)


def test_no_tokens_configured_means_nobody_gets_in():
    directory = ReviewerDirectory({}, ALLOWED)
    assert not directory.configured
    with pytest.raises(AuthError):
        directory.identify("anything")


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_header_parsing(header, token):
    assert bearer_token(header) == token
