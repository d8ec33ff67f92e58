"""Child processes that do not outlive this one: Linux's PR_SET_PDEATHSIG.

The kernel sends the child SIGTERM when the *thread* that forked it exits (not the whole
process): spawn children meant to live as long as the process from a thread that does.
Elsewhere than Linux there is no such signal, and children must be stopped explicitly.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its parent goes away; None
    where that cannot be asked (not Linux, no ``prctl``)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        # The parent may have died between fork and prctl; then no signal would ever come.
        if os.getppid() != parent:
            os._exit(1)

    return preexec
