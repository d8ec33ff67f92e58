"""docker-compose.yml as the tests read it: Compose's ``${VAR}`` substitution over the parsed
file, and the env file an operator writes from .env.example, with freshly made values."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from velocity_stream.trust import REVIEW_APP_SIGNER, RULES_SIGNER, KeyRing, SigningKey

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's variable substitution over a parsed file; a missing required one raises."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        given = env.get(name)
        unset = given is None or (given == "" and op is not None and op.startswith(":"))
        if op is not None and op.endswith("?") and unset:
            raise KeyError(f"{name}: {arg}")
        if op is not None and op.endswith("-") and unset:
            return str(arg)
        return given or ""

    return VARIABLE.sub(substitute, value)


def compose(env: Mapping[str, str]) -> dict[str, Any]:
    """The compose file with ``env`` substituted."""
    return dict(interpolate(yaml.safe_load(COMPOSE_FILE.read_text()), env))


def env_file(reviewers: tuple[str, ...] = ("human:sayan",)) -> dict[str, str]:
    """What an operator puts in the env file, made the way .env.example says: both decision
    key pairs, a token per reviewer, a database password."""
    review = SigningKey.generate(REVIEW_APP_SIGNER)
    rules = SigningKey.generate(RULES_SIGNER)
    return {
        "VELOCITY_REVIEW_SIGNING_KEY": review.text(),
        "VELOCITY_RULE_SIGNING_KEY": rules.text(),
        "VELOCITY_DECISION_VERIFY_KEYS": KeyRing([review.verify_key, rules.verify_key]).text(),
        "VELOCITY_REVIEWER_TOKENS": json.dumps(
            {secrets.token_urlsafe(32): reviewer for reviewer in reviewers}
        ),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
    }
