"""State records round-trip, tables are named for adapters, keys partition like Kafka's."""

from __future__ import annotations

import pytest

from velocity_stream.gateway import GatewayState, InboundMessage, murmur2, partition_for
from velocity_stream.gateway.state import (
    DecisionRecord,
    HeldGroup,
    HeldMessage,
    KnownArtifact,
    ProposalRecord,
    pack,
    unpack,
)

ORIGIN = ("t.x.v1", 3, 41)


@pytest.mark.parametrize(
    "record",
    [
        KnownArtifact(b"\x01" * 32, 248, ORIGIN),
        KnownArtifact(b"\x02" * 32, None, ORIGIN),
        ProposalRecord("Fam", "p:1", "ai:oracle", "low-risk", b"d" * 32, ORIGIN, b"\x00bytes"),
        ProposalRecord("Fam", "p:ü", "human:x", None, b"d" * 32, ORIGIN, b""),
        DecisionRecord("d:1", True, "human:sayan", b"e" * 32, ORIGIN),
        DecisionRecord("d:2", False, "rule:x", b"f" * 32, ORIGIN),
        HeldGroup(7, released=True),
        HeldMessage(
            InboundMessage("t.y.v1", 2, 9, None, b"", (("a", b"1"), ("b", b"")), 123),
            999,
            "approval.unknown_proposal",
            "p:1",
            "art:1",
        ),
        HeldMessage(InboundMessage("t", 0, 0, b"", None, (), 0), 1, "x", ""),
    ],
)
def test_state_records_round_trip(record):
    assert type(record).decode(record.encode()) == record


def test_a_proposal_record_written_with_a_licence_still_decodes():
    # Older versions appended the licence an approval granted; a restored changelog has them.
    record = ProposalRecord("Fam", "p:1", "ai:oracle", None, b"d" * 32, ORIGIN, b"\x00bytes")
    older = pack([*unpack(record.encode()), b'[["MERGE_NODES","person:a",["person:b"]]]'])
    assert ProposalRecord.decode(older) == record


def test_pack_refuses_truncated_or_foreign_bytes():
    data = pack([b"abc", b""])
    assert unpack(data) == [b"abc", b""]
    with pytest.raises(ValueError):
        unpack(data[:-1])  # a length prefix cut short
    with pytest.raises(ValueError):
        unpack(pack([b"abc"])[:-1])  # a part shorter than its length
    with pytest.raises(ValueError):
        unpack(b"\x09whatever")


def test_state_names_its_tables_for_adapters():
    names = GatewayState.table_names()
    assert names == ("artifacts", "proposals", "decisions", "held")
    tables = {name: {} for name in names}
    state = GatewayState(tables)
    assert state.tables() == tables
    with pytest.raises(ValueError):
        GatewayState({"nonsense": {}})


def test_held_entries_are_one_key_each_and_the_group_goes_with_the_last():
    state = GatewayState()
    message = InboundMessage("t", 0, 1, b"k", b"v", (), 5)
    for offset in range(3):
        state.hold("parent:B:k", HeldMessage(message, 10 + offset, "r", "k"))
    assert [slot for slot, _ in state.held_entries("parent:B:k")] == [0, 1, 2]
    state.drop_held("parent:B:k", [0, 2])
    assert [slot for slot, _ in state.held_entries("parent:B:k")] == [1]
    state.drop_held("parent:B:k", [1])
    assert state.held == {}


def test_murmur2_matches_kafkas_reference_values():
    # From the Java client's partitioner tests (as signed 32-bit integers).
    vectors = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for data, signed in vectors.items():
        assert murmur2(data) == signed & 0xFFFFFFFF


def test_partition_for_spreads_keys_and_is_stable():
    keys = [f"proposal:{n}".encode() for n in range(100)]
    partitions = [partition_for(key, 6) for key in keys]
    assert set(partitions) == set(range(6))
    assert partitions == [partition_for(key, 6) for key in keys]
