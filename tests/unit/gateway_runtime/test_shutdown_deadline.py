"""The shutdown deadline: armed once by the first stop request, it ends the process after the
grace period unless cancelled. The exit function is replaced, so nothing exits here."""

from __future__ import annotations

import logging
import threading

import pytest

from velocity_stream.gateway.runtime.shutdown import EXIT_DEADLINE, ShutdownDeadline


class _Exit:
    def __init__(self) -> None:
        self.codes: list[int] = []
        self.called = threading.Event()

    def __call__(self, code: int) -> None:
        self.codes.append(code)
        self.called.set()


def test_the_deadline_exits_non_zero_once_the_grace_has_passed(caplog):
    exit_ = _Exit()
    deadline = ShutdownDeadline(0.1, exit=exit_)
    assert not deadline.armed
    with caplog.at_level(logging.INFO, logger="velocity_stream.gateway.runtime.shutdown"):
        assert deadline.arm("signal SIGTERM")
        assert exit_.called.wait(5)
    assert exit_.codes == [EXIT_DEADLINE] and EXIT_DEADLINE != 0
    assert deadline.expired.is_set()
    assert "did not stop within 0.1 s of signal SIGTERM" in caplog.text


def test_only_the_first_stop_request_arms_it():
    exit_ = _Exit()
    deadline = ShutdownDeadline(0.2, exit=exit_)
    assert deadline.arm("signal SIGTERM")
    assert not deadline.arm("signal SIGINT")
    assert exit_.called.wait(5)
    threading.Event().wait(0.3)  # a second timer would have fired by now
    assert exit_.codes == [EXIT_DEADLINE]


def test_a_cancelled_deadline_never_exits():
    exit_ = _Exit()
    deadline = ShutdownDeadline(0.05, exit=exit_)
    deadline.arm("signal SIGTERM")
    deadline.cancel()
    assert not exit_.called.wait(0.3)
    assert not deadline.expired.is_set()


def test_an_unarmed_deadline_cancels_quietly_and_a_grace_must_be_positive():
    ShutdownDeadline(1.0, exit=_Exit()).cancel()
    with pytest.raises(ValueError, match="positive"):
        ShutdownDeadline(0)


def test_the_grace_comes_from_the_settings():
    from velocity_stream.settings import Settings

    assert Settings.model_fields["gateway_shutdown_grace_s"].default == 10.0
    assert Settings(VELOCITY_GATEWAY_SHUTDOWN_GRACE_S="2.5").gateway_shutdown_grace_s == 2.5
