"""Logical types: which annotations are valid (invalid ones are ignored, as the specification
asks), and the findings beyond the specification: changes that still resolve byte-for-byte but
change what a value means to the reader (a decimal's scale, a timestamp's unit or zone)."""

from __future__ import annotations

from dataclasses import dataclass

from velocity_stream.compat.issues import JsonValue

# Which logical types are valid on which underlying type. Anything else is ignored, as the
# specification asks ("implementations must ignore unknown or invalid logical types").
_LOGICAL_BASES: dict[str, frozenset[str]] = {
    "decimal": frozenset({"bytes", "fixed"}),
    "uuid": frozenset({"string", "fixed"}),
    "date": frozenset({"int"}),
    "time-millis": frozenset({"int"}),
    "time-micros": frozenset({"long"}),
    "timestamp-millis": frozenset({"long"}),
    "timestamp-micros": frozenset({"long"}),
    "timestamp-nanos": frozenset({"long"}),
    "local-timestamp-millis": frozenset({"long"}),
    "local-timestamp-micros": frozenset({"long"}),
    "local-timestamp-nanos": frozenset({"long"}),
    "duration": frozenset({"fixed"}),
}


@dataclass(frozen=True, slots=True)
class LogicalType:
    """A valid logical-type annotation; precision and scale only for decimal."""

    name: str
    precision: int | None = None
    scale: int | None = None

    def describe(self) -> str:
        if self.name == "decimal":
            return f"decimal({self.precision},{self.scale})"
        return self.name


_SIMPLE_LOGICAL = {name: LogicalType(name) for name in _LOGICAL_BASES if name != "decimal"}


def parse_logical(
    raw: dict[str, JsonValue], base: str, size: int | None = None
) -> LogicalType | None:
    """The valid logical type annotating ``raw`` (of underlying type ``base``), else None."""
    name = raw.get("logicalType")
    if not isinstance(name, str):
        return None
    bases = _LOGICAL_BASES.get(name)
    if bases is None or base not in bases:
        return None
    if name == "decimal":
        precision, scale = raw.get("precision"), raw.get("scale", 0)
        if not isinstance(precision, int) or not isinstance(scale, int) or precision <= 0:
            return None
        if scale < 0 or scale > precision:
            return None
        return LogicalType(name, precision, scale)
    if name == "uuid" and base == "fixed" and size != 16:
        return None
    if name == "duration" and size != 12:
        return None
    return _SIMPLE_LOGICAL[name]


_UNIT_FACTOR = {"millis": 1_000, "micros": 1_000_000, "nanos": 1_000_000_000}


@dataclass(frozen=True, slots=True)
class LogicalFinding:
    message: str
    hint: str


def _time_parts(name: str) -> tuple[str, str] | None:
    """Split ``timestamp-millis`` into (``timestamp``, ``millis``); None for non-time types."""
    family, _, unit = name.rpartition("-")
    if unit in _UNIT_FACTOR and family in ("timestamp", "local-timestamp", "time"):
        return family, unit
    return None


def compare_logical(
    reader: LogicalType | None, writer: LogicalType | None
) -> LogicalFinding | None:
    """A finding when both sides carry a logical type and the reader would misread the value.

    Adding or dropping an annotation is not reported: the underlying value is unchanged and
    either side can still read it as the plain type.
    """
    if reader is None or writer is None or reader == writer:
        return None
    if reader.name == writer.name == "decimal":
        return _compare_decimal(reader, writer)
    reader_time, writer_time = _time_parts(reader.name), _time_parts(writer.name)
    if reader_time and writer_time:
        if reader_time[0] == writer_time[0]:
            ratio = _UNIT_FACTOR[reader_time[1]] / _UNIT_FACTOR[writer_time[1]]
            off = f"{ratio:g}x larger" if ratio > 1 else f"{1 / ratio:g}x smaller"
            return LogicalFinding(
                f"{writer.name} values would be read as {reader.name}: the unit changes "
                f"from {writer_time[1]} to {reader_time[1]}, every value is read {off}",
                f"keep logicalType `{writer.name}`; a new unit needs a new field",
            )
        return LogicalFinding(
            f"{writer.name} values would be read as {reader.name}: "
            "the time zone meaning of the value changes",
            f"keep logicalType `{writer.name}`; a new time meaning needs a new field",
        )
    return LogicalFinding(
        f"{writer.describe()} values would be read as {reader.describe()}",
        f"keep logicalType `{writer.name}` or add a new field for the new meaning",
    )


def _compare_decimal(reader: LogicalType, writer: LogicalType) -> LogicalFinding | None:
    if reader.scale != writer.scale:
        return LogicalFinding(
            f"decimal scale changes from {writer.scale} to {reader.scale}: the stored unscaled "
            f"integers would be read with a different decimal point",
            f"keep scale {writer.scale}; a different scale needs a new field",
        )
    assert reader.precision is not None and writer.precision is not None
    if reader.precision < writer.precision:
        return LogicalFinding(
            f"decimal precision narrows from {writer.precision} to {reader.precision}: "
            "written values may have more digits than the reader allows",
            f"keep precision at least {writer.precision}",
        )
    # A wider precision at the same scale reads every written value unchanged.
    return None
