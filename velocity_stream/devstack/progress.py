"""Step-by-step progress for `velocity-stream dev`: one line per step, updated in place on a
terminal (counters while waiting), plain lines when the output is a file or a pipe."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

# On a non-terminal, in-place updates would be one line each: print at most this often.
PLAIN_UPDATE_EVERY_S = 2.0


class Step:
    """The running step: ``update`` shows what it waits for, ``done`` what it achieved."""

    def __init__(self, progress: Progress, label: str) -> None:
        self._progress = progress
        self.label = label
        self.result = ""
        # A quick step prints one line (its result); a slow one says what it waits for.
        self._last_plain = time.monotonic()

    def update(self, text: str) -> None:
        if self._progress.tty:
            self._progress.write(f"\r\x1b[2K{self.label} {text}")
        elif time.monotonic() - self._last_plain >= PLAIN_UPDATE_EVERY_S:
            self._last_plain = time.monotonic()
            self._progress.write(f"{self.label} {text}\n")

    def done(self, text: str) -> None:
        self.result = text


class Progress:
    def __init__(self, out: TextIO, total: int, *, tty: bool | None = None) -> None:
        self.out = out
        self.total = total
        self.tty = out.isatty() if tty is None else tty
        self._index = 0

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def line(self, text: str = "") -> None:
        self.write(text + "\n")

    @contextmanager
    def step(self, title: str) -> Iterator[Step]:
        self._index += 1
        label = f"  [{self._index}/{self.total}] {title:<34}"
        step = Step(self, label)
        started = time.monotonic()
        step.update("...")
        try:
            yield step
        except BaseException:
            self._finish(step, "failed", started)
            raise
        self._finish(step, f"ok  {step.result}".rstrip(), started)

    def _finish(self, step: Step, text: str, started: float) -> None:
        elapsed = f"({time.monotonic() - started:.1f} s)"
        prefix = "\r\x1b[2K" if self.tty else ""
        self.write(f"{prefix}{step.label} {text}  {elapsed}\n")
