"""Encode artifacts to Avro and decode them back, resolving writer to reader schema.

Parsed schemas, schema ids, writers and readers are cached per process: after the first
message of a schema the hot path is one dict lookup, then a writer compiled for the schema
(encoding) or a reader compiled for the writer schema, the reader schema and the contract
model (decoding to a model). A body the compiled reader does not vouch for goes the
validated way, fastavro's reader then pydantic, which gives the answer or the refusal.
"""

from __future__ import annotations

import functools
import io
import json
import re
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import fastavro
from fastavro.read import SchemaResolutionError

from velocity_stream.contracts.catalog import Catalog, Family, SchemaVersion
from velocity_stream.contracts.metadata import Artifact, validate_artifact
from velocity_stream.contracts.registry import model_for
from velocity_stream.errors import ReasonCode, SerdeError
from velocity_stream.serde.builders import ModelShaper
from velocity_stream.serde.compiled import Writer, compile_writer
from velocity_stream.serde.program import UnsupportedSchema
from velocity_stream.serde.read_program import Malformed
from velocity_stream.serde.reader import Reader, compile_reader
from velocity_stream.serde.resolver import SchemaResolver, canonical_text, subject_for
from velocity_stream.serde.wire import HEADER_SIZE, frame, unframe

ParsedSchema = Any  # fastavro's parsed form; opaque to us
ModelLookup = Callable[[str, int], type[Artifact]]

# What fastavro raises on bytes that do not match the writer schema.
_CORRUPT = (
    EOFError,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    UnicodeDecodeError,
    OverflowError,
    MemoryError,
)
# What a compiled writer raises on a model holding values of the wrong type (possible only
# for models built without validation).
_UNWRITABLE = (TypeError, AttributeError, KeyError, ValueError, OverflowError, struct.error)


@dataclass(frozen=True, slots=True)
class DecodedRecord:
    """A message decoded to the reader's schema, before the contract model is applied."""

    family: Family
    major: int
    schema_id: int
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Writer:
    """A writer schema known by id: its full name, parsed form and canonical text."""

    name: str
    parsed: ParsedSchema
    canonical: str


@dataclass(frozen=True, slots=True)
class _Encoder:
    """How one model class is encoded: its wire header (magic byte, schema id) and writer."""

    version: SchemaVersion
    header: bytes
    write: Writer


@dataclass(frozen=True, slots=True)
class _ReadPlan:
    """How to read one writer id as one family major: the writer, fastavro's reader, and
    the compiled reader of plain records (None where the pair is not compiled)."""

    writer: _Writer
    reader: ParsedSchema | None  # None when writer and reader are the same schema
    plain: Reader | None


class AvroSerde:
    """Confluent-framed Avro for every family of a catalog.

    Encoding writes with the schema version the model matches; decoding reads with the
    latest schema of the topic's major version (Avro resolution bridges minor versions;
    majors are bridged by reader mappings, not here). ``compiled=False`` decodes with
    fastavro and pydantic only, without the compiled readers (same results, slower).
    """

    def __init__(
        self,
        catalog: Catalog,
        resolver: SchemaResolver,
        topic_prefix: str,
        *,
        models: ModelLookup = model_for,
        compiled: bool = True,
    ) -> None:
        self.catalog = catalog
        self.resolver = resolver
        self.topic_prefix = topic_prefix
        self._lock = threading.Lock()
        self._writers: dict[int, _Writer] = {}
        self._ids: dict[tuple[str, str], int] = {}
        self._parsed: dict[tuple[str, str], ParsedSchema] = {}
        self._plans: dict[tuple[int, str, int], _ReadPlan] = {}
        self._readers: dict[tuple[int, str, int], Reader | None] = {}
        self._encoders: dict[type[Artifact], _Encoder] = {}
        self._model_lookup = models
        # False: fastavro and pydantic only, the path the compiled readers are held to
        # (tests and bench/serde.py compare against it).
        self.compiled = compiled
        self._models: dict[tuple[str, int], type[Artifact]] = {}

    # --- encoding ------------------------------------------------------------------------

    def encode(self, artifact: Artifact) -> bytes:
        """The artifact as a framed Avro message for its family's ingress topic."""
        encoder = self._encoders.get(type(artifact)) or self._encoder(type(artifact))
        try:
            return encoder.write(artifact, encoder.header)
        except _UNWRITABLE:
            # Only a model built without validation gets here; fastavro's generic writer
            # names the offending value in its error.
            return self._write_generic(encoder.version, artifact, encoder.header)

    def _encoder(self, model: type[Artifact]) -> _Encoder:
        version = self.catalog.family(model.FAMILY).version(model.SCHEMA_VERSION)
        write: Writer
        try:
            write = compile_writer(version.schema)
        except UnsupportedSchema:
            write = functools.partial(self._write_generic, version)
        encoder = _Encoder(version, frame(self.schema_id(version), b""), write)
        with self._lock:
            self._encoders[model] = encoder
        return encoder

    def _write_generic(self, version: SchemaVersion, artifact: object, head: bytes) -> bytes:
        assert isinstance(artifact, Artifact)
        buffer = io.BytesIO(head)
        buffer.seek(len(head))
        fastavro.schemaless_writer(buffer, self._parse(version), artifact.to_avro())
        return buffer.getvalue()

    def schema_id(self, version: SchemaVersion) -> int:
        """The registry id of a released schema version, registered on first use."""
        key = (version.family, str(version.version))
        schema_id = self._ids.get(key)
        if schema_id is None:
            family = self.catalog.family(version.family)
            topic = family.ingress_topic(self.topic_prefix, version.major)
            schema_id = self.resolver.register(subject_for(topic), version.canonical_json())
            self._ids[key] = schema_id
        return schema_id

    # --- decoding ------------------------------------------------------------------------

    def decode_record(
        self, payload: bytes | None, family: Family, major: int | None = None
    ) -> DecodedRecord:
        """Bytes to a plain record in the reader schema of ``family``'s ``major``: what
        fastavro's resolving reader returns (the compiled reader's when it vouches for the
        body, fastavro's own otherwise), except that a body the Avro specification forbids
        and fastavro would read anyway is refused (see ``Malformed``)."""
        schema_id, body = unframe(payload)
        major = major or family.latest.major
        plan = self._plan(schema_id, family, major)
        if plan.plain is not None:
            try:
                return DecodedRecord(family, major, schema_id, plan.plain(payload, HEADER_SIZE))
            except Malformed as error:
                raise _malformed(schema_id, error) from None
            except Exception:  # unproven: fastavro below decides
                pass
        buffer = io.BytesIO(body)
        try:
            record = fastavro.schemaless_reader(buffer, plan.writer.parsed, plan.reader)
        except SchemaResolutionError as error:
            raise SerdeError(ReasonCode.DECODE_UNRESOLVABLE, _stable(error)) from None
        except _CORRUPT as error:
            raise SerdeError(
                ReasonCode.DECODE_CORRUPT_BODY,
                f"Avro body does not match writer schema {schema_id}: "
                f"{type(error).__name__}: {_stable(error)}",
            ) from None
        if not isinstance(record, dict):
            raise SerdeError(ReasonCode.DECODE_CORRUPT_BODY, "the writer schema is not a record")
        if buffer.tell() != len(body):
            raise SerdeError(
                ReasonCode.DECODE_CORRUPT_BODY,
                f"{len(body) - buffer.tell()} bytes left over after the record",
            )
        return DecodedRecord(family, major, schema_id, record)

    def decode(self, payload: bytes | None, family: Family, major: int | None = None) -> Artifact:
        """Bytes to a validated contract model; ContractError when the record breaks a rule.

        The compiled reader builds the model when it can prove every step; otherwise (a
        broken body, a broken rule, a construct it does not cover) the validated path
        decides, so the model or the error is the same as fastavro's and pydantic's. The one
        exception is a body the Avro specification forbids: refused, as ``decode_record``.
        """
        schema_id, _ = unframe(payload)
        major = major or family.latest.major
        key = (schema_id, family.name, major)
        read = self._readers[key] if key in self._readers else self._reader(key, family)
        if read is not None:
            try:
                artifact: Artifact = read(cast(bytes, payload), HEADER_SIZE)
                return artifact
            except Malformed as error:
                raise _malformed(schema_id, error) from None
            except Exception:  # unproven: the validated path below decides
                pass
        decoded = self.decode_record(payload, family, major)
        return validate_artifact(self.model(family.name, decoded.major), decoded.record)

    def model(self, family: str, major: int) -> type[Artifact]:
        """The contract model for ``family``'s ``major``, looked up once."""
        model = self._models.get((family, major))
        if model is None:
            model = self._models[(family, major)] = self._model_lookup(family, major)
        return model

    # --- caches --------------------------------------------------------------------------

    def _parse(self, version: SchemaVersion) -> ParsedSchema:
        key = (version.family, str(version.version))
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = fastavro.parse_schema(version.schema, _write_hint=True, _force=True)
            self._parsed[key] = parsed
        return parsed

    def _plan(self, schema_id: int, family: Family, major: int) -> _ReadPlan:
        key = (schema_id, family.name, major)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        writer = self._writer(schema_id)
        if writer.name != family.avro_name:
            raise SerdeError(
                ReasonCode.DECODE_WRONG_FAMILY,
                f"schema id {schema_id} is {writer.name!r}, this topic carries "
                f"{family.avro_name!r}",
            )
        reader = family.latest_of_major(major)
        # Reading with writer == reader skips fastavro's resolution pass entirely.
        same = writer.canonical == reader.canonical_json()
        plain: Reader | None = None
        try:
            if self.compiled:
                plain = compile_reader(json.loads(writer.canonical), reader.schema)
        except Exception:  # a construct the programs do not cover: fastavro reads it
            plain = None
        plan = _ReadPlan(writer, None if same else self._parse(reader), plain)
        with self._lock:
            self._plans[key] = plan
        return plan

    def _reader(self, key: tuple[int, str, int], family: Family) -> Reader | None:
        """The compiled reader of a writer id as a family major's model (None: there is
        none, and every message goes the validated way)."""
        schema_id, _, major = key
        plan = self._plan(schema_id, family, major)  # refuses an unknown id or family first
        read: Reader | None = None
        try:
            if not self.compiled:
                raise UnsupportedSchema("compiled readers are off")
            shaper = ModelShaper(self.model(family.name, major))
            reader = family.latest_of_major(major).schema
            writer = json.loads(plan.writer.canonical)
            read = compile_reader(writer, reader, shaper=shaper, target=shaper.root)
        except Exception:  # a schema or model it does not cover, or no model at all
            read = None
        with self._lock:
            self._readers[key] = read
        return read

    def _writer(self, schema_id: int) -> _Writer:
        writer = self._writers.get(schema_id)
        if writer is not None:
            return writer
        text = self.resolver.schema_by_id(schema_id)
        try:
            schema = json.loads(text)
            parsed = fastavro.parse_schema(schema, _force=True)
        except (ValueError, fastavro.schema.SchemaParseException) as error:
            raise SerdeError(
                ReasonCode.DECODE_UNRESOLVABLE, f"schema id {schema_id} does not parse: {error}"
            ) from None
        name = schema.get("name", "") if isinstance(schema, dict) else ""
        if isinstance(schema, dict) and "." not in name and schema.get("namespace"):
            name = f"{schema['namespace']}.{name}"
        writer = _Writer(str(name), parsed, canonical_text(text))
        with self._lock:
            self._writers[schema_id] = writer
        return writer


_OBJECT_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _stable(error: Exception) -> str:
    """``error``'s message without object addresses (fastavro names its buffer in some,
    ``<_io.BytesIO object at 0x7f...>``): the same bad input gets the same dead letter."""
    return _OBJECT_ADDRESS.sub("", str(error))


def _malformed(schema_id: int, error: Malformed) -> SerdeError:
    """The final refusal of a body the Avro specification forbids (see Malformed)."""
    return SerdeError(
        ReasonCode.DECODE_CORRUPT_BODY,
        f"Avro body does not match writer schema {schema_id}: {error}",
    )
