from __future__ import annotations

import pytest

from velocity_stream.errors import ReasonCode, SerdeError
from velocity_stream.serde.wire import frame, unframe


def test_frame_then_unframe_gives_back_id_and_body() -> None:
    schema_id, body = unframe(frame(4242, b"avro-body"))
    assert schema_id == 4242
    assert bytes(body) == b"avro-body"


def test_header_is_magic_byte_then_big_endian_id() -> None:
    assert frame(1, b"")[:5] == b"\x00\x00\x00\x00\x01"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (None, ReasonCode.DECODE_EMPTY_PAYLOAD),
        (b"", ReasonCode.DECODE_EMPTY_PAYLOAD),
        (b"\x01\x00\x00\x00\x01body", ReasonCode.DECODE_BAD_MAGIC_BYTE),
        (b"{json}", ReasonCode.DECODE_BAD_MAGIC_BYTE),
        (b"\x00\x00\x01", ReasonCode.DECODE_CORRUPT_BODY),
    ],
)
def test_malformed_frames_raise_their_code(payload: bytes | None, code: ReasonCode) -> None:
    with pytest.raises(SerdeError) as raised:
        unframe(payload)
    assert raised.value.code is code
