"""The records made once per message have hand-written ``__init__``s that fill their slots
directly (``protocol.records.slot_setters``): each must still set every field, in the order
and with the defaults the dataclass declares, and the record must stay frozen."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from velocity_stream.gateway.messages import OutboundMessage, Outcome
from velocity_stream.protocol.records import InboundMessage

RECORDS = (InboundMessage, OutboundMessage, Outcome)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.__name__)
def test_the_init_takes_the_fields_in_order_with_their_defaults(record: type) -> None:
    parameters = list(inspect.signature(record.__init__).parameters.values())[1:]
    fields = dataclasses.fields(record)
    assert [p.name for p in parameters] == [f.name for f in fields]
    for parameter, declared in zip(parameters, fields, strict=True):
        assert parameter.default == (
            inspect.Parameter.empty if declared.default is dataclasses.MISSING else declared.default
        ), declared.name


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.__name__)
def test_every_field_gets_its_own_value_and_stays_frozen(record: type) -> None:
    names = [f.name for f in dataclasses.fields(record)]
    values = [object() for _ in names]  # distinct: a value put in the wrong slot shows
    for made in (record(*values), record(**dict(zip(names, values, strict=True)))):
        assert [getattr(made, name) for name in names] == values
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, names[0], None)
