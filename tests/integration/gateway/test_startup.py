"""A worker refuses to start on topics that do not exist (it would let the broker invent them)."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

pytestmark = pytest.mark.integration


def test_worker_without_its_topics_exits_with_a_pointer_to_topics_apply(fresh_gateway):
    env = fresh_gateway.env()
    env["VELOCITY_TOPIC_PREFIX"] = f"missing{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [sys.executable, "-m", "velocity_stream.cli.gateway_cmd"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "topics apply" in result.stderr and "--create-topics" in result.stderr


@pytest.mark.parametrize(
    ("drop", "says"),
    [
        ("VELOCITY_DECISION_VERIFY_KEYS", "VELOCITY_DECISION_VERIFY_KEYS is not set"),
        ("VELOCITY_RULE_SIGNING_KEY", "VELOCITY_RULE_SIGNING_KEY is not set"),
    ],
)
def test_worker_without_decision_keys_refuses_to_start_with_one_line(fresh_gateway, drop, says):
    env = fresh_gateway.env()
    del env[drop]
    result = subprocess.run(
        [sys.executable, "-m", "velocity_stream.cli.gateway_cmd"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    [line] = [text for text in result.stderr.splitlines() if text.strip()]
    assert line.startswith("velocity-stream gateway: ") and says in line
    assert "keys generate" in line
