"""One dev stack for the review app's integration tests: the real gateway worker and both
consumers as child processes, the review app in this process, seeded with the demo, on the
session's Kafka under a topic prefix of its own."""

from __future__ import annotations

import io
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from tests.integration.ports import free_port_run
from velocity_stream.devstack.stack import DEMO_REVIEWER, METRICS_WORKERS, DevOptions, DevStack
from velocity_stream.kafka.broker import free_port
from velocity_stream.settings import load_settings

T = TypeVar("T")

# Tokens of the stack: the demo reviewer, another reviewer, and someone who is not one.
TOKENS = {
    "it-demo": DEMO_REVIEWER,
    "it-sourik": "human:sourik",
    "it-intern": "human:intern",
}


@pytest.fixture(scope="session")
def dev_stack(kafka_bootstrap: str) -> Iterator[DevStack]:
    settings = load_settings().model_copy(
        update={
            "kafka_bootstrap_servers": kafka_bootstrap,
            "topic_prefix": f"itreview{uuid.uuid4().hex[:8]}",
            "reviewer_tokens": TOKENS,
            "fetch_wait_max_ms": 10,
            # its workers' metrics ports: free ones, not the default 9400 and up, which
            # another stack on the machine (or another xdist worker) may hold
            "metrics_port": free_port_run(len(METRICS_WORKERS)),
        }
    )
    out = io.StringIO()
    stack = DevStack(settings, DevOptions(port=free_port(), ready_timeout_s=180), out)
    try:
        stack.start()
    except BaseException as error:
        stack.stop()
        raise RuntimeError(
            f"the dev stack did not start ({type(error).__name__}: {error}):\n{out.getvalue()}"
        ) from None
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def api(dev_stack: DevStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=dev_stack.review_url, timeout=15) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def eventually(check: Callable[[], T | None], timeout: float = 60.0, every: float = 0.25) -> T:
    """The first truthy result of ``check``; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s (last: {last!r})")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
