"""The reader-mapping registry: registration, chaining across majors, and its refusals."""

from __future__ import annotations

from typing import Any

import pytest

from velocity_stream.contracts import upgrades
from velocity_stream.contracts.upgrades import mapping_for, register_upgrade, upgrade
from velocity_stream.errors import ConfigError


@pytest.fixture
def scratch_family(monkeypatch: pytest.MonkeyPatch) -> str:
    # Registrations are module state; give each test a fresh copy of it.
    monkeypatch.setattr(upgrades, "_MAPPINGS", dict(upgrades._MAPPINGS))
    name = "ScratchFamily"

    @register_upgrade(name, 1)
    def one_to_two(record: dict[str, Any]) -> dict[str, Any]:
        renamed = {k: v for k, v in record.items() if k != "name"}
        return {**renamed, "schema_version": "2.0.0", "title": record["name"]}

    @register_upgrade(name, 2)
    def two_to_three(record: dict[str, Any]) -> dict[str, Any]:
        return {**record, "schema_version": "3.0.0", "tags": []}

    return name


def test_upgrade_chains_mappings_one_major_at_a_time(scratch_family: str) -> None:
    record = {"schema_version": "1.2.0", "name": "A"}
    assert upgrade(scratch_family, record, 1, 3) == {
        "schema_version": "3.0.0",
        "title": "A",
        "tags": [],
    }
    assert record == {"schema_version": "1.2.0", "name": "A"}, "the input is left alone"


def test_upgrade_to_the_same_major_is_a_copy(scratch_family: str) -> None:
    record = {"schema_version": "2.0.0", "title": "A"}
    result = upgrade(scratch_family, record, 2, 2)
    assert result == record and result is not record


def test_a_missing_mapping_is_named(scratch_family: str) -> None:
    with pytest.raises(ConfigError, match="no reader mapping from major 3 to 4"):
        upgrade(scratch_family, {"name": "A"}, 1, 4)
    assert mapping_for(scratch_family, 3) is None
    mapping = mapping_for(scratch_family, 1)
    assert mapping is not None and mapping.to_major == 2


def test_downgrades_are_refused(scratch_family: str) -> None:
    with pytest.raises(ConfigError, match="never downgraded"):
        upgrade(scratch_family, {}, 3, 1)


def test_a_second_mapping_for_the_same_major_is_refused(scratch_family: str) -> None:
    with pytest.raises(ConfigError, match="already registered"):
        register_upgrade(scratch_family, 1)(lambda record: record)


def test_registered_upgrades_lists_the_scratch_mappings_in_order(scratch_family: str) -> None:
    mine = [m for m in upgrades.registered_upgrades() if m.family == scratch_family]
    assert [(m.from_major, m.to_major) for m in mine] == [(1, 2), (2, 3)]
