"""The one consumed-record type every role uses, and the one header normalizer.

Whichever client read a record (confluent-kafka in the tools, the review app and the
consumers; aiokafka under faust in the gateway), it reaches the code above as an
:class:`InboundMessage`: bytes and coordinates only, nothing decoded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from velocity_stream.protocol.headers import header_map

Headers = tuple[tuple[str, bytes], ...]
# What Kafka clients hand back as a record's headers: pairs or a mapping, values bytes, text
# or missing (Kafka allows a header without a value).
RawHeaders = Iterable[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None] | None


def slot_setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot descriptors' setters of a slots dataclass's fields, in field order.

    For the hand-written ``__init__`` of a frozen record made once per message: a dataclass's
    own frozen ``__init__`` stores each field with ``object.__setattr__(self, name, value)``,
    about twice the cost of calling the field's slot descriptor directly, and the gateway
    makes three such records per input. The class stays frozen: its ``__setattr__`` still
    refuses every assignment after ``__init__``.
    """
    return tuple(cls.__dict__[f.name].__set__ for f in fields(cls))


@dataclass(frozen=True, slots=True, init=False)
class InboundMessage:
    """One consumed Kafka record, exactly as the broker returned it.

    ``timestamp_ms`` is 0 when the broker gave none.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None = field(repr=False)
    headers: Headers = ()
    timestamp_ms: int = 0

    def __init__(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        headers: Headers = (),
        timestamp_ms: int = 0,
    ) -> None:
        put = _INBOUND_SLOTS
        put[0](self, topic)
        put[1](self, partition)
        put[2](self, offset)
        put[3](self, key)
        put[4](self, value)
        put[5](self, headers)
        put[6](self, timestamp_ms)

    @property
    def coordinates(self) -> tuple[str, int, int]:
        return (self.topic, self.partition, self.offset)

    def header_text(self) -> dict[str, str]:
        """The headers as text by name (last value wins; bad UTF-8 is replaced)."""
        return header_map(self.headers)


_INBOUND_SLOTS = slot_setters(InboundMessage)


def normalize_headers(raw: RawHeaders) -> Headers:
    """A client's record headers as ``Headers``: text values encoded as UTF-8, a header
    without a value as empty bytes (so every dead letter can carry it on), order kept."""
    if not raw:
        return ()
    pairs = raw.items() if isinstance(raw, Mapping) else raw
    return tuple(
        (str(name), value.encode("utf-8") if isinstance(value, str) else bytes(value or b""))
        for name, value in pairs
    )
