"""consumers.json_text writes what json.dumps writes with the same options."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from consumers.json_text import json_encoder

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=20,
)


@given(values)
def test_every_option_writes_what_json_dumps_writes(value: object) -> None:
    for sort_keys in (True, False):
        for ensure_ascii in (True, False):
            expected = json.dumps(
                value, sort_keys=sort_keys, ensure_ascii=ensure_ascii, separators=(",", ":")
            )
            assert json_encoder(sort_keys=sort_keys, ensure_ascii=ensure_ascii)(value) == expected


def test_non_finite_floats_and_non_ascii_text() -> None:
    canonical = json_encoder(sort_keys=True, ensure_ascii=False)
    assert canonical({"b": math.inf, "a": "é\n"}) == '{"a":"é\\n","b":Infinity}'
    assert json_encoder(sort_keys=True, ensure_ascii=True)("é") == '"\\u00e9"'
