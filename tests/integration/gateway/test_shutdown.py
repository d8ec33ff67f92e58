"""A gateway worker stops within its grace period after SIGTERM, also when its broker is gone.

Before the shutdown deadline, a worker whose broker vanished while its outputs were in flight
was still running 300 s after SIGTERM (it waited for librdkafka's message timeout and faust's
60 s thread stop) and needed SIGKILL; with an idle worker the stop took 62 s and exited 0.
Now the first stop signal arms ``VELOCITY_GATEWAY_SHUTDOWN_GRACE_S``: a clean stop exits 0
well within it, a stop that cannot finish exits 1 when it runs out. Uncommitted inputs are
read again by the next worker (tests/integration/gateway/test_crash.py shows that path).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from velocity_stream.contracts import example
from velocity_stream.kafka.broker import EmbeddedBroker

from .conftest import GatewayHarness

pytestmark = pytest.mark.integration

GRACE_S = 3.0
# Time from the deadline firing to the process being gone, plus the test's own polling.
MARGIN_S = 3.0


def _sigterm_and_time(gw: GatewayHarness, limit: float) -> tuple[int, float]:
    assert gw.process is not None
    started = time.monotonic()
    gw.process.send_signal(signal.SIGTERM)
    try:
        code = gw.process.wait(limit)
    except Exception:
        gw.process.kill()
        gw.process.wait(30)
        pytest.fail(f"the worker was still running {limit} s after SIGTERM:\n{gw.log()[-3000:]}")
    return code, time.monotonic() - started


@pytest.fixture
def private_broker() -> Iterator[EmbeddedBroker]:
    """A broker of this test's own, so the test can take it away."""
    broker = EmbeddedBroker().start()
    try:
        yield broker
    finally:
        broker.stop()


class _Pump:
    """Keeps inputs flowing to the worker, so outputs are in flight when the broker goes."""

    def __init__(self, gw: GatewayHarness, bootstrap: str) -> None:
        artifact = example("InteractionBundle")
        self.topic = gw.ingress("InteractionBundle")
        self.key, self.value = gw.key_of(artifact), gw.encode(artifact)
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "log_level": 0})
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pump", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        # ~500 inputs/s: enough to keep outputs in flight, little enough to leave the test's
        # reader (same process, same GIL) its share of the CPU.
        while not self._stop.is_set():
            for _ in range(5):
                try:
                    self.producer.produce(self.topic, value=self.value, key=self.key)
                    self.sent += 1
                except BufferError:
                    break
            self.producer.poll(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.producer.purge()


def test_a_worker_whose_broker_is_gone_exits_within_the_grace_period(
    private_broker: EmbeddedBroker, short_hold_schemas: Path, tmp_path: Path
):
    gw = GatewayHarness(private_broker.bootstrap_servers, short_hold_schemas, tmp_path)
    gw.extra_env["VELOCITY_GATEWAY_SHUTDOWN_GRACE_S"] = str(GRACE_S)
    pump = _Pump(gw, private_broker.bootstrap_servers)
    try:
        gw.start()
        pump.start()
        # The worker is doing its job: accepted outputs come out of it.
        gw.wait_for(lambda o: o.topic == gw.accepted("InteractionBundle"), count=20)

        private_broker.stop()  # the broker vanishes under a busy worker
        pump.stop()
        time.sleep(1.0)  # the worker notices: its fetches and deliveries fail
        assert gw.alive()

        code, took = _sigterm_and_time(gw, GRACE_S + MARGIN_S + 60)

        print(f"exit {code} {took:.2f} s after SIGTERM with the broker gone (grace {GRACE_S} s)")
        assert took < GRACE_S + MARGIN_S, gw.log()[-3000:]
        assert code != 0, "a worker that could not flush and commit must not exit 0"
        assert f"did not stop within {GRACE_S:.1f} s of signal SIGTERM" in gw.log()
    finally:
        pump.stop()
        for process in gw.started:
            if process.poll() is None:
                process.kill()
                process.wait(30)
        # Nothing to clean on the broker: it is gone, and its topics with it.
        gw.producer.purge()
        if gw._reader is not None:
            gw._reader.close()


def test_a_worker_with_its_broker_stops_cleanly_well_within_the_grace_period(fresh_gateway):
    gw = fresh_gateway
    gw.extra_env["VELOCITY_GATEWAY_SHUTDOWN_GRACE_S"] = str(GRACE_S * 3)
    gw.start()
    artifact = gw.variant(example("QdSignalBundle"), artifact_id="art:shutdown:clean")
    gw.publish(artifact)
    gw.wait_for(lambda o: o.text("velocity.artifact_id") == artifact.artifact_id)

    code, took = _sigterm_and_time(gw, GRACE_S * 3 + MARGIN_S + 60)

    print(f"exit {code} {took:.2f} s after SIGTERM with the broker up")
    assert code == 0, gw.log()[-3000:]
    assert took < GRACE_S * 3, gw.log()[-3000:]
    assert "did not stop within" not in gw.log()
