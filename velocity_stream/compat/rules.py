"""Reader/writer schema resolution, following the "Schema Resolution" section of the Avro 1.12
specification: can data written with the writer's schema be read with the reader's schema?

Every failure is collected (not just the first), located by a JSON pointer into the reader schema.
"""

from __future__ import annotations

from velocity_stream.compat.defaults import default_conforms
from velocity_stream.compat.issues import (
    CompatibilityResult,
    Incompatibility,
    IncompatibilityCode,
    JsonValue,
)
from velocity_stream.compat.logical import compare_logical
from velocity_stream.compat.schema_model import (
    ArrayNode,
    EnumNode,
    FixedNode,
    MapNode,
    NamedNode,
    Node,
    PrimitiveNode,
    RecordNode,
    SchemaInput,
    UnionNode,
    describe,
    parse_schema,
    short_name,
)

# Writer type -> reader types it may be promoted to (specification, "Schema Resolution").
PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}
_NO_PROMOTION: frozenset[str] = frozenset()

Code = IncompatibilityCode


def check_compatibility(
    reader_schema: SchemaInput, writer_schema: SchemaInput
) -> CompatibilityResult:
    """Check whether data written with ``writer_schema`` can be read with ``reader_schema``.

    Both take JSON text, a decoded dict or list, or a ``ParsedSchema`` (parse once with
    ``parse_schema`` when checking one schema against many). Raises ``SchemaParseError`` when
    either is not a valid schema.
    """
    reader = parse_schema(reader_schema)
    writer = parse_schema(writer_schema)
    resolver = _Resolver()
    resolver.resolve(reader.root, writer.root, "")
    return CompatibilityResult(tuple(resolver.issues))


def names_match(reader: NamedNode, writer: NamedNode) -> bool:
    """Named types match on their unqualified names (Avro 1.12) or through a reader alias."""
    writer_short = short_name(writer.name)
    if short_name(reader.name) == writer_short or writer.name in reader.aliases:
        return True
    return any(short_name(alias) == writer_short for alias in reader.aliases)


def schemas_match(reader: Node, writer: Node) -> bool:
    """The specification's shallow "match", used to pick a union branch before resolving."""
    if isinstance(reader, UnionNode) or isinstance(writer, UnionNode):
        return True
    if isinstance(reader, PrimitiveNode):
        return isinstance(writer, PrimitiveNode) and (
            reader.type == writer.type or reader.type in PROMOTIONS.get(writer.type, _NO_PROMOTION)
        )
    if isinstance(reader, ArrayNode):
        return isinstance(writer, ArrayNode) and schemas_match(reader.items, writer.items)
    if isinstance(reader, MapNode):
        return isinstance(writer, MapNode) and schemas_match(reader.values, writer.values)
    if isinstance(reader, FixedNode):
        return (
            isinstance(writer, FixedNode)
            and reader.size == writer.size
            and names_match(reader, writer)
        )
    return type(reader) is type(writer) and names_match(reader, writer)


class _Resolver:
    """One walk over a reader/writer pair, collecting issues."""

    __slots__ = ("_seen", "issues")

    def __init__(self) -> None:
        self.issues: list[Incompatibility] = []
        # Record pairs already entered: recursive schemas revisit the same pair forever otherwise,
        # and issues inside a named type are located at its definition, so once is enough.
        self._seen: set[tuple[int, int]] = set()

    def resolve(self, reader: Node, writer: Node, location: str) -> None:
        if isinstance(writer, UnionNode):
            for branch in writer.branches:
                if isinstance(reader, UnionNode):
                    self._into_union(reader, branch, location)
                elif schemas_match(reader, branch):
                    self.resolve(reader, branch, location)
                else:
                    self._add(
                        Code.MISSING_UNION_BRANCH,
                        location,
                        reader.raw,
                        branch.raw,
                        f"the writer's union branch {describe(branch)} cannot be read "
                        f"as {describe(reader)}",
                        f"make the type a union that also has {_type_ref(branch)}",
                    )
        elif isinstance(reader, UnionNode):
            self._into_union(reader, writer, location)
        elif isinstance(reader, PrimitiveNode):
            self._primitive(reader, writer, location)
        elif isinstance(reader, RecordNode):
            if isinstance(writer, RecordNode) and self._named(reader, writer, location):
                self._record(reader, writer)
            elif not isinstance(writer, RecordNode):
                self._type_mismatch(reader, writer, location)
        elif isinstance(reader, EnumNode):
            if isinstance(writer, EnumNode) and self._named(reader, writer, location):
                self._enum(reader, writer, location)
            elif not isinstance(writer, EnumNode):
                self._type_mismatch(reader, writer, location)
        elif isinstance(reader, FixedNode):
            self._fixed(reader, writer, location)
        elif isinstance(reader, ArrayNode):
            if isinstance(writer, ArrayNode):
                self.resolve(reader.items, writer.items, reader.items_pointer)
            else:
                self._type_mismatch(reader, writer, location)
        elif isinstance(writer, MapNode):
            self.resolve(reader.values, writer.values, reader.values_pointer)
        else:
            self._type_mismatch(reader, writer, location)

    def _into_union(self, reader: UnionNode, writer: Node, location: str) -> None:
        # The first reader branch that matches is the one resolved; later ones are never tried.
        for branch, pointer in zip(reader.branches, reader.branch_pointers, strict=True):
            if schemas_match(branch, writer):
                self.resolve(branch, writer, pointer)
                return
        self._add(
            Code.MISSING_UNION_BRANCH,
            location,
            reader.raw,
            writer.raw,
            f"the reader's union has no branch for the writer's {describe(writer)}",
            f"add {_type_ref(writer)} to the union",
        )

    def _primitive(self, reader: PrimitiveNode, writer: Node, location: str) -> None:
        if not isinstance(writer, PrimitiveNode) or (
            reader.type != writer.type
            and reader.type not in PROMOTIONS.get(writer.type, _NO_PROMOTION)
        ):
            self._type_mismatch(reader, writer, location)
            return
        self._logical(reader, writer, location)

    def _fixed(self, reader: FixedNode, writer: Node, location: str) -> None:
        if not isinstance(writer, FixedNode):
            self._type_mismatch(reader, writer, location)
        elif self._named(reader, writer, location):
            if reader.size != writer.size:
                self._add(
                    Code.FIXED_SIZE_MISMATCH,
                    location,
                    reader.raw,
                    writer.raw,
                    f"fixed `{reader.name}` has size {reader.size} but the writer's has "
                    f"size {writer.size}",
                    f"keep size {writer.size}; a new size needs a new fixed type",
                )
            else:
                self._logical(reader, writer, location)

    def _logical(
        self, reader: PrimitiveNode | FixedNode, writer: PrimitiveNode | FixedNode, location: str
    ) -> None:
        finding = compare_logical(reader.logical, writer.logical)
        if finding is not None:
            self._add(
                Code.LOGICAL_TYPE_MISMATCH,
                location,
                reader.raw,
                writer.raw,
                finding.message,
                finding.hint,
            )

    def _named(self, reader: NamedNode, writer: NamedNode, location: str) -> bool:
        if names_match(reader, writer):
            return True
        self._add(
            Code.NAME_MISMATCH,
            location,
            reader.raw,
            writer.raw,
            f"{reader.type} `{reader.name}` does not match the writer's `{writer.name}` "
            "by name or alias",
            f'rename it back to `{writer.name}` or add "aliases": ["{writer.name}"]',
        )
        return False

    def _record(self, reader: RecordNode, writer: RecordNode) -> None:
        key = (id(reader), id(writer))
        if key in self._seen:
            return
        self._seen.add(key)
        writer_fields = writer.by_name
        for field in reader.fields:
            written = writer_fields.get(field.name)
            if written is None:
                for alias in field.aliases:
                    written = writer_fields.get(alias)
                    if written is not None:
                        break
            if written is not None:
                self.resolve(field.type, written.type, field.type_pointer)
            elif not field.has_default:
                self._add(
                    Code.READER_FIELD_MISSING_DEFAULT_VALUE,
                    field.pointer,
                    field.raw,
                    writer.raw,
                    f"field `{field.name}` of `{reader.name}` is not in the writer's "
                    "record and has no default",
                    f"give field `{field.name}` a default",
                )
            elif not default_conforms(field.type, field.default):
                self._add(
                    Code.INVALID_DEFAULT_VALUE,
                    field.pointer,
                    field.raw,
                    writer.raw,
                    f"field `{field.name}` of `{reader.name}` is filled from its default, "
                    f"but {field.default!r} is not a {describe(field.type)}",
                    f"make the default of `{field.name}` a value of its type",
                )

    def _enum(self, reader: EnumNode, writer: EnumNode, location: str) -> None:
        if reader.default is not None:
            return
        missing = [s for s in writer.symbols if s not in reader.symbol_set]
        if missing:
            listed = ", ".join(f"`{s}`" for s in missing)
            self._add(
                Code.MISSING_ENUM_SYMBOLS,
                location,
                reader.raw,
                writer.raw,
                f"enum `{reader.name}` lacks the writer's symbol(s) {listed} and has no default",
                f"add symbol(s) {listed} or an enum default",
            )

    def _type_mismatch(self, reader: Node, writer: Node, location: str) -> None:
        readable = sorted(PROMOTIONS.get(writer.type, _NO_PROMOTION))
        alternatives = f" (or {', '.join(readable)}, which it promotes to)" if readable else ""
        self._add(
            Code.TYPE_MISMATCH,
            location,
            reader.raw,
            writer.raw,
            f"the writer's {describe(writer)} cannot be read as {describe(reader)}",
            f"change the type back to {_type_ref(writer)}{alternatives}",
        )

    def _add(
        self,
        code: IncompatibilityCode,
        location: str,
        reader: JsonValue,
        writer: JsonValue,
        message: str,
        hint: str,
    ) -> None:
        self.issues.append(Incompatibility(code, location, reader, writer, message, hint))


def _type_ref(node: Node) -> str:
    if isinstance(node, RecordNode | EnumNode | FixedNode):
        return f"`{node.name}`"
    if isinstance(node, PrimitiveNode):
        return f"`{node.type}`"
    return f"an {node.type}" if node.type == "array" else f"a {node.type}"
