"""A writer that loses a claim to another process withdraws it and retries with a fresh view."""

from __future__ import annotations

import json

from velocity_stream.contracts.catalog import CompatibilityMode
from velocity_stream.registry.canonical import parse_avro
from velocity_stream.registry.records import SchemaRecord, SchemaTombstone, decode, encode
from velocity_stream.registry.service import RegistryService
from velocity_stream.registry.store import MemoryLog, RegistryStore


class RacedLog(MemoryLog):
    """Before the first schema claim lands, "another process" lands its own claim for the same
    id and version, as a concurrent writer on the same topic would."""

    def __init__(self, rival_schema: str) -> None:
        super().__init__()
        self.rival = parse_avro(rival_schema)
        self.raced = False
        self.appended: list[object] = []

    def append(self, key: bytes, value: bytes | None, timeout: float) -> int:
        record = decode(key, value)
        if isinstance(record, SchemaRecord) and not self.raced:
            self.raced = True
            rival = SchemaRecord(
                record.subject,
                record.version,
                record.schema_id,
                self.rival.fingerprint,
                self.rival.text,
            )
            self.appended.append(rival)
            super().append(*encode(rival), timeout)
        self.appended.append(record)
        return super().append(key, value, timeout)


def schema(name: str) -> str:
    return json.dumps({"type": "record", "name": name, "fields": []})


def test_a_lost_claim_is_withdrawn_and_retried_with_the_next_id_and_version() -> None:
    log = RacedLog(schema("Rival"))
    service = RegistryService(RegistryStore(log).start(), default_level=CompatibilityMode.NONE)
    mine = service.register("s-value", schema("Mine"))
    assert (mine.schema_id, mine.version) == (2, 2)
    rival = service.version("s-value", 1)
    assert json.loads(rival.schema)["name"] == "Rival" and rival.schema_id == 1
    kinds = [type(r).__name__ for r in log.appended if type(r).__name__ != "Marker"]
    assert kinds == ["SchemaRecord", "SchemaRecord", "SchemaTombstone", "SchemaRecord"]
    withdrawn = next(r for r in log.appended if isinstance(r, SchemaTombstone))
    assert (withdrawn.version, withdrawn.schema_id) == (1, 1)
    # The withdrawal touched nothing of the winner's.
    assert service.versions("s-value") == [1, 2]
