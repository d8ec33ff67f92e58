"""A progress bar for long dead-letter runs, on stderr, for people only.

On a terminal it redraws one line; elsewhere (a CI log, when forced on with ``--progress``) it
prints a line at every tenth of the way, so logs stay short. Output never goes to stdout,
which carries the command's result.
"""

from __future__ import annotations

import time
from typing import TextIO

BAR_WIDTH = 30


class ProgressBar:
    """Call ``update(done, total)`` as work proceeds and ``finish()`` at the end."""

    def __init__(self, stream: TextIO, label: str, *, min_interval: float = 0.1) -> None:
        self._stream = stream
        self._label = label
        self._min_interval = min_interval
        self._tty = bool(getattr(stream, "isatty", lambda: False)())
        self._started = time.monotonic()
        self._last_draw = 0.0
        self._last_tenth = -1
        self._drawn = False

    def update(self, done: int, total: int | None = None) -> None:
        """``total`` None: the end is not known yet (a topic being read); only counts show."""
        if self._tty:
            now = time.monotonic()
            if now - self._last_draw >= self._min_interval or done == total:
                self._last_draw = now
                self._stream.write("\r" + self.render(done, total))
                self._stream.flush()
                self._drawn = True
            return
        if total is None:
            return  # an unknown end has no tenths: stay quiet in logs
        tenth = (10 * done // total) if total else 10
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self._stream.write(self.render(done, total) + "\n")
            self._stream.flush()

    def __call__(self, done: int, total: int | None = None) -> None:
        self.update(done, total)

    def render(self, done: int, total: int | None) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = f"{done / elapsed:,.0f}/s"
        if total is None:
            return f"{self._label} {done:,} records {rate}"
        fraction = done / total if total else 1.0
        filled = int(BAR_WIDTH * fraction)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        return f"{self._label} [{bar}] {done:,}/{total:,} {fraction:4.0%} {rate}"

    def finish(self) -> None:
        if self._tty and self._drawn:
            self._stream.write("\n")
            self._stream.flush()
