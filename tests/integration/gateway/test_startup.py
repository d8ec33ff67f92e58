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
