"""The gateway's state: named tables of bytes, and the compact records stored in them.

The Faust adapter passes one changelog-backed faust Table per name (dict-like, values bytes);
the in-memory runner passes dicts. Records are length-prefixed byte strings rather than JSON:
they are read and written on the hot path and a restarted worker replays every one of them.

Co-partitioning: every key written while processing a message lives on that message's
partition, because every table key is built from the message's own Kafka key (a proposal id,
a batch id, a delta id), so every table is partitioned like the ingress topics and no worker
needs another worker's partitions.

Records written by older versions still decode: a proposal record that carries a trailing
part (the licence older versions stored with it) reads as the same proposal. A table older
versions kept (``approved_decisions``) is simply not one of :meth:`GatewayState.table_names`
any more, so no worker subscribes its changelog.
"""

from __future__ import annotations

import struct
from collections.abc import Collection, Iterable, Mapping, MutableMapping
from dataclasses import dataclass

from velocity_stream.protocol.records import InboundMessage

Table = MutableMapping[str, bytes]

_LEN = struct.Struct(">I")
_FORMAT = b"\x01"  # first byte of every record: lets the layout change without a migration


def pack(parts: Iterable[bytes]) -> bytes:
    """Length-prefixed concatenation; the inverse is :func:`unpack`."""
    out = bytearray(_FORMAT)
    for part in parts:
        out += _LEN.pack(len(part))
        out += part
    return bytes(out)


def unpack(data: bytes) -> list[bytes]:
    if data[:1] != _FORMAT:
        raise ValueError(f"state record has unknown format byte {data[:1]!r}")
    parts: list[bytes] = []
    view = memoryview(data)
    position, end = 1, len(data)
    while position < end:
        if position + _LEN.size > end:
            raise ValueError("state record is truncated")
        (size,) = _LEN.unpack_from(view, position)
        position += _LEN.size
        if position + size > end:
            raise ValueError("state record is truncated")
        parts.append(bytes(view[position : position + size]))
        position += size
    return parts


def _int(value: bytes) -> int:
    return int(value.decode("ascii"))


def _text(value: bytes) -> str:
    return value.decode("utf-8")


def _enc(value: str | int) -> bytes:
    return str(value).encode("utf-8")


Origin = tuple[str, int, int]
"""(topic, partition, offset) of the input that created a state record."""


def _origin_parts(origin: Origin) -> list[bytes]:
    return [_enc(origin[0]), _enc(origin[1]), _enc(origin[2])]


def _origin_of(parts: list[bytes]) -> Origin:
    return (_text(parts[0]), _int(parts[1]), _int(parts[2]))


# --- records ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KnownArtifact:
    """An artifact of an immutable or parent family: its content digest and child count."""

    digest: bytes
    count: int | None
    origin: Origin

    def encode(self) -> bytes:
        count = b"" if self.count is None else _enc(self.count)
        return pack([self.digest, count, *_origin_parts(self.origin)])

    @classmethod
    def decode(cls, data: bytes) -> KnownArtifact:
        p = unpack(data)
        return cls(p[0], _int(p[1]) if p[1] else None, _origin_of(p[2:5]))


@dataclass(frozen=True, slots=True)
class ProposalRecord:
    """A proposal the gateway has routed; ``rule`` is set when an auto rule approved it.

    The original bytes are kept so a commit record can carry them when the decision arrives.
    Older versions appended a tenth part (a licence no rule reads any more); decoding ignores it.
    """

    family: str
    proposal_id: str
    created_by: str
    rule: str | None
    digest: bytes
    origin: Origin
    value: bytes

    def encode(self) -> bytes:
        return pack(
            [
                _enc(self.family),
                _enc(self.proposal_id),
                _enc(self.created_by),
                _enc(self.rule or ""),
                self.digest,
                *_origin_parts(self.origin),
                self.value,
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> ProposalRecord:
        p = unpack(data)
        return cls(
            _text(p[0]),
            _text(p[1]),
            _text(p[2]),
            _text(p[3]) or None,
            p[4],
            _origin_of(p[5:8]),
            p[8],
        )


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """The one decision applied to a proposal (keyed like the proposal)."""

    decision_id: str
    approved: bool
    reviewer: str
    digest: bytes
    origin: Origin

    def encode(self) -> bytes:
        return pack(
            [
                _enc(self.decision_id),
                b"1" if self.approved else b"0",
                _enc(self.reviewer),
                self.digest,
                *_origin_parts(self.origin),
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> DecisionRecord:
        p = unpack(data)
        return cls(_text(p[0]), p[1] == b"1", _text(p[2]), p[3], _origin_of(p[4:7]))


@dataclass(frozen=True, slots=True)
class HeldMessage:
    """An input waiting for something (its parent batch, its proposal).

    ``awaits`` is the id it waits for; ``reason`` the code it is dead-lettered with when
    ``deadline_ms`` passes first.
    """

    message: InboundMessage
    deadline_ms: int
    reason: str
    awaits: str
    artifact_id: str = ""

    def encode(self) -> bytes:
        m = self.message
        headers = pack(part for name, value in m.headers for part in (_enc(name), value))
        return pack(
            [
                _enc(m.topic),
                _enc(m.partition),
                _enc(m.offset),
                b"" if m.key is None else b"\x01" + m.key,
                b"" if m.value is None else b"\x01" + m.value,
                headers,
                _enc(m.timestamp_ms),
                _enc(self.deadline_ms),
                _enc(self.reason),
                _enc(self.awaits),
                _enc(self.artifact_id),
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> HeldMessage:
        p = unpack(data)
        flat = unpack(p[5])
        headers = tuple((_text(flat[i]), flat[i + 1]) for i in range(0, len(flat), 2))
        message = InboundMessage(
            topic=_text(p[0]),
            partition=_int(p[1]),
            offset=_int(p[2]),
            key=p[3][1:] if p[3] else None,
            value=p[4][1:] if p[4] else None,
            headers=headers,
            timestamp_ms=_int(p[6]),
        )
        return cls(message, _int(p[7]), _text(p[8]), _text(p[9]), _text(p[10]))


@dataclass(frozen=True, slots=True)
class HeldGroup:
    """Everything held under one wait key: ``count`` entry slots, and whether released.

    Entries live under their own keys (one write per held message, however many wait for
    the same parent). ``released`` groups stay until their deadlines pass: if the input that
    released them is redelivered after a crash, they are released again, so that input's
    outputs come out identical the second time.
    """

    count: int
    released: bool = False

    def encode(self) -> bytes:
        return pack([_enc(self.count), b"1" if self.released else b"0"])

    @classmethod
    def decode(cls, data: bytes) -> HeldGroup:
        p = unpack(data)
        return cls(_int(p[0]), p[1] == b"1")


# --- keys ---------------------------------------------------------------------------------
# Every key starts with the family whose Kafka key it embeds, so ids of different families
# never collide and each key is the message's own key (or its proposal/parent ref, which the
# catalog makes the same value) and so lives on the message's partition.


def artifact_key(family: str, key: str) -> str:
    return f"{family}:{key}"


def proposal_key(family: str, proposal_id: str) -> str:
    return f"{family}:{proposal_id}"


def held_for_parent(parent_family: str, ref: str) -> str:
    return f"parent:{parent_family}:{ref}"


def held_for_proposal(proposal_family: str, proposal_id: str) -> str:
    return f"proposal:{proposal_family}:{proposal_id}"


# --- the state object ---------------------------------------------------------------------


class GatewayState:
    """The named tables the pipeline reads and writes, with typed accessors over their bytes."""

    ARTIFACTS = "artifacts"
    PROPOSALS = "proposals"
    DECISIONS = "decisions"
    HELD = "held"

    __slots__ = ("artifacts", "decisions", "held", "proposals")

    def __init__(self, tables: Mapping[str, Table] | None = None) -> None:
        given = dict(tables or {})
        unknown = set(given) - set(self.table_names())
        if unknown:
            raise ValueError(f"unknown gateway tables: {sorted(unknown)}")
        self.artifacts: Table = given.get(self.ARTIFACTS, {})
        self.proposals: Table = given.get(self.PROPOSALS, {})
        self.decisions: Table = given.get(self.DECISIONS, {})
        self.held: Table = given.get(self.HELD, {})

    @classmethod
    def table_names(cls) -> tuple[str, ...]:
        """Every table, for adapters that create them generically."""
        return (cls.ARTIFACTS, cls.PROPOSALS, cls.DECISIONS, cls.HELD)

    def tables(self) -> dict[str, Table]:
        return {name: getattr(self, name) for name in self.table_names()}

    # artifacts
    def known_artifact(self, key: str) -> KnownArtifact | None:
        data = self.artifacts.get(key)
        return None if data is None else KnownArtifact.decode(data)

    def remember_artifact(self, key: str, record: KnownArtifact) -> None:
        self.artifacts[key] = record.encode()

    # proposals and decisions
    def proposal(self, key: str) -> ProposalRecord | None:
        data = self.proposals.get(key)
        return None if data is None else ProposalRecord.decode(data)

    def remember_proposal(self, key: str, record: ProposalRecord) -> None:
        self.proposals[key] = record.encode()

    def decision(self, key: str) -> DecisionRecord | None:
        data = self.decisions.get(key)
        return None if data is None else DecisionRecord.decode(data)

    def remember_decision(self, key: str, record: DecisionRecord) -> None:
        self.decisions[key] = record.encode()

    def pending_proposals(
        self, partitions: Collection[int] | None = None
    ) -> list[tuple[bytes, int]]:
        """(Kafka key, partition) of every proposal routed to review and still undecided.

        ``partitions`` keeps only proposals read from those partition numbers: a faust table
        also holds standby copies of partitions other workers own, which those workers count.
        A proposal's Kafka key is its proposal id (the gateway checks this for stateful
        families), and its decisions are keyed by the same id. This is what the
        pending-approvals gauge is resynchronised from (observability's ``PendingApprovals``).
        """
        found: list[tuple[bytes, int]] = []
        for table_key, data in list(self.proposals.items()):
            try:
                record = ProposalRecord.decode(data)
            except (ValueError, IndexError, UnicodeDecodeError):
                continue  # a corrupt record is the pipeline's to report; a gauge must not crash
            if partitions is not None and record.origin[1] not in partitions:
                continue
            if record.rule is None and table_key not in self.decisions:
                found.append((record.proposal_id.encode("utf-8"), record.origin[1]))
        return found

    # held messages: "g|<wait key>" -> HeldGroup, "e|<wait key>|<slot>" -> HeldMessage
    def held_group(self, wait_key: str) -> HeldGroup | None:
        data = self.held.get(_GROUP + wait_key)
        return None if data is None else HeldGroup.decode(data)

    def hold(self, wait_key: str, entry: HeldMessage) -> None:
        group = self.held_group(wait_key) or HeldGroup(0)
        self.held[f"{_ENTRY}{wait_key}|{group.count}"] = entry.encode()
        self.held[_GROUP + wait_key] = HeldGroup(group.count + 1, group.released).encode()

    def held_entries(self, wait_key: str) -> list[tuple[int, HeldMessage]]:
        """(slot, entry) of every entry still held under ``wait_key``, oldest first."""
        group = self.held_group(wait_key)
        if group is None:
            return []
        found: list[tuple[int, HeldMessage]] = []
        for slot in range(group.count):
            data = self.held.get(f"{_ENTRY}{wait_key}|{slot}")
            if data is not None:
                found.append((slot, HeldMessage.decode(data)))
        return found

    def mark_released(self, wait_key: str) -> None:
        group = self.held_group(wait_key)
        if group is not None and not group.released:
            self.held[_GROUP + wait_key] = HeldGroup(group.count, True).encode()

    def drop_held(self, wait_key: str, slots: Iterable[int]) -> None:
        """Forget some entries; the group goes with its last entry."""
        for slot in slots:
            entry_key = f"{_ENTRY}{wait_key}|{slot}"
            if entry_key in self.held:
                del self.held[entry_key]
        if not self.held_entries(wait_key) and _GROUP + wait_key in self.held:
            del self.held[_GROUP + wait_key]

    def held_wait_keys(self) -> list[str]:
        """Every wait key with a group; a snapshot, as callers change the table meanwhile."""
        return [key[len(_GROUP) :] for key in list(self.held.keys()) if key.startswith(_GROUP)]


_GROUP = "g|"
_ENTRY = "e|"
