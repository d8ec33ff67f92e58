"""Stopping the processes integration tests start (workers, brokers), the same way everywhere."""

from __future__ import annotations

import subprocess


def terminate(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """SIGTERM, then up to ``timeout`` seconds to exit, else SIGKILL.

    True when the process was gone already or stopped on SIGTERM; False when it had to be
    killed (a test that expects a clean stop fails on that).
    """
    if process.poll() is not None:
        return True
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return False
    return True
