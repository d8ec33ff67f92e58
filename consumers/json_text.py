"""Compact JSON text for rows and snapshots, with an encoder made once.

``json.dumps`` with options builds a new encoder at every call, and ``JSONEncoder.encode``
still builds its C encoder per value; a refresh encodes several values per client, an apply
three per node. :func:`json_encoder` makes the C encoder once and returns a function with
``json.dumps``'s output for the same options (no spaces; NaN and infinities as
``json.dumps`` writes them). It does not look for circular values: what is encoded here are
trees built from rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as _encoder
from typing import Any


def json_encoder(*, sort_keys: bool, ensure_ascii: bool) -> Callable[[Any], str]:
    """``json.dumps(value, sort_keys=..., ensure_ascii=..., separators=(",", ":"))``."""
    plain = json.JSONEncoder(sort_keys=sort_keys, ensure_ascii=ensure_ascii, separators=(",", ":"))
    make: Callable[..., Callable[[Any, int], tuple[str, ...]]] | None = getattr(
        _encoder, "c_make_encoder", None
    )
    if make is None:  # no C accelerator in this interpreter
        return plain.encode
    quote = _encoder.encode_basestring_ascii if ensure_ascii else _encoder.encode_basestring
    native = make(None, plain.default, quote, None, ":", ",", sort_keys, False, True)

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return quote(value)
        return "".join(native(value, 0))

    return encode
