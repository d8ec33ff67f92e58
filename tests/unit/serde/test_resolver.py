from __future__ import annotations

import pytest

from velocity_stream.errors import ReasonCode, SerdeError
from velocity_stream.serde.resolver import InMemorySchemaResolver, subject_for

SCHEMA = '{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}'


def test_same_schema_gets_one_id_whatever_its_formatting() -> None:
    resolver = InMemorySchemaResolver()
    first = resolver.register("t-value", SCHEMA)
    again = resolver.register("t-value", SCHEMA.replace(" ", ""))
    assert first == again == 1


def test_different_schemas_get_different_ids_and_subjects_keep_their_versions() -> None:
    resolver = InMemorySchemaResolver()
    one = resolver.register("a-value", SCHEMA)
    two = resolver.register("a-value", SCHEMA.replace('"int"', '"long"'))
    assert one != two
    assert resolver.subjects() == {"a-value": [one, two]}


def test_unknown_id_is_a_decode_error() -> None:
    with pytest.raises(SerdeError) as raised:
        InMemorySchemaResolver().schema_by_id(7)
    assert raised.value.code is ReasonCode.DECODE_UNKNOWN_SCHEMA_ID


def test_topic_name_strategy() -> None:
    assert subject_for("velocity.qd-signal-bundle.v1") == "velocity.qd-signal-bundle.v1-value"
