"""argparse types for the numbers options take.

A value out of range is refused where it is typed, as argparse's usage line naming the option
(exit 2), not met later as a client library's traceback (``--batch-size -5`` reached
librdkafka's ``consume``) or quietly read as something else (``--batch-size 0`` meant the
default).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """A whole number from ``low`` to ``high`` (no upper bound when None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            allowed = f"at least {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"{value} is out of range ({allowed})")
        return value

    return parse


def seconds(text: str) -> float:
    """A duration in seconds: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} is not a duration (a number of seconds above 0)")
    return value


# A port to listen on; 0 asks for any free one.
PORT = whole(0, 65535)
# librdkafka's consume() takes at most this many messages per call.
MAX_BATCH = 1_000_000
