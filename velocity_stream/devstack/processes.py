"""Child processes of the dev stack: started tied to this process, stopped as a group.

Each child runs in its own process group, so Ctrl-C in the terminal reaches only the dev
command, which then stops the children in order (SIGTERM to the group, SIGKILL after a grace
period) instead of every process tearing down at once. On Linux each child also gets
PR_SET_PDEATHSIG: if the dev command is killed outright (kill -9), the kernel sends the child
SIGTERM, so nothing is left running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from velocity_stream.parent_death import die_with_parent

STOP_GRACE_S = 10.0


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """What to run: a name for people, the command, and environment overrides."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str]


class Child:
    """One running child process; its output goes to ``log_path``."""

    def __init__(self, spec: ChildSpec, log_path: Path) -> None:
        self.spec = spec
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, base_env: Mapping[str, str]) -> Child:
        # PR_SET_PDEATHSIG fires when the forking *thread* exits: spawn from the main thread.
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("dev stack children are started from the main thread")
        env = {**base_env, **self.spec.env}
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.spec.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent(),
                close_fds=True,
            )
        return self

    def exit_code(self) -> int | None:
        """None while running; the exit code once it has exited."""
        return None if self._process is None else self._process.poll()

    def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """SIGTERM the child's process group, SIGKILL it after ``grace_s``; reap the child."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            self._signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(grace_s)
            except subprocess.TimeoutExpired:
                # The leader is not reaped yet, so the group id still names its group only.
                self._signal_group(process.pid, signal.SIGKILL)
                process.wait(grace_s)
        return process.returncode

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def cli_child(name: str, args: Sequence[str], env: Mapping[str, str]) -> ChildSpec:
    """A child running ``velocity-stream <args>`` with this interpreter (this venv), whether
    or not the console script is on PATH."""
    return ChildSpec(name, (sys.executable, "-m", "velocity_stream.cli.main", *args), env)
