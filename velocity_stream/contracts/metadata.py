"""The envelope every artifact carries (the eight metadata fields all families share) and
the base model.

Field-level problems are reported by pydantic; cross-field rules live in each family's
``rules()`` and come out as :class:`~velocity_stream.errors.Violation` values with stable
reason codes. :func:`validate_artifact` turns both into one :class:`ContractError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, ClassVar, NoReturn, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from velocity_stream.contracts.nul_check import holds_nul
from velocity_stream.contracts.nul_walk import nul_paths
from velocity_stream.errors import ContractError, ReasonCode, Violation

_RULE_ERROR = "contract_rule"
A = TypeVar("A", bound="Artifact")
_K = TypeVar("_K")
_V = TypeVar("_V")
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")

# pydantic's own error types that have a more precise reason code of ours
_PYDANTIC_CODES: dict[str, ReasonCode] = {
    "timezone_aware": ReasonCode.CONTRACT_NAIVE_TIMESTAMP,
}


def _to_millis(value: datetime) -> datetime:
    micro = value.microsecond
    # A value read from Avro's timestamp-millis is whole milliseconds already: kept as it is.
    return value if micro % 1000 == 0 else value.replace(microsecond=micro - micro % 1000)


@lru_cache(maxsize=256)
def _major_of(version: str) -> str | None:
    """The major of a semantic version, None when ``version`` is not one. Every record names
    its schema version and they repeat, so the answers are kept (a bounded few)."""
    match = _SEMVER.match(version)
    return match.group(1) if match else None


# Avro's timestamp-millis holds milliseconds: truncating at construction makes an artifact
# equal to itself after a round trip through Kafka, instead of losing microseconds silently.
Timestamp = Annotated[AwareDatetime, AfterValidator(_to_millis)]


class FrozenMap(dict[_K, _V]):
    """A dict that refuses changes, so an Avro map field cannot change after validation."""

    __slots__ = ()

    def _refuse(self) -> NoReturn:
        raise TypeError("a contract map is immutable: build a new artifact instead")

    def __setitem__(self, key: _K, value: _V) -> NoReturn:
        self._refuse()

    def __delitem__(self, key: _K) -> NoReturn:
        self._refuse()

    def __ior__(self, other: object) -> NoReturn:  # type: ignore[misc]
        self._refuse()

    def clear(self) -> NoReturn:
        self._refuse()

    def pop(self, *args: object) -> NoReturn:
        self._refuse()

    def popitem(self) -> NoReturn:
        self._refuse()

    def setdefault(self, *args: object) -> NoReturn:
        self._refuse()

    def update(self, *args: object, **kwargs: object) -> NoReturn:
        self._refuse()

    def __reduce__(self) -> tuple[type[FrozenMap[_K, _V]], tuple[dict[_K, _V]]]:
        return type(self), (dict(self),)


# An Avro map of strings, as contract models hold it: validated like a dict, then frozen.
StrMap = Annotated[dict[str, str], AfterValidator(FrozenMap)]


class ContractModel(BaseModel):
    """Base of every contract model and nested record: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    def __eq__(self, other: object) -> bool:
        # Field values only: private bookkeeping (whether an instance went through
        # validation) must not make two equal artifacts differ.
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    __hash__ = BaseModel.__hash__


class ProvenanceOrigin(StrEnum):
    """Where an artifact's content came from."""

    UPLOAD = "UPLOAD"
    AI = "AI"
    HUMAN = "HUMAN"
    SYSTEM = "SYSTEM"
    DERIVED = "DERIVED"


class Provenance(ContractModel):
    """Structured provenance: the origin, what it was made from, and how, when inferred."""

    origin: ProvenanceOrigin
    source_refs: tuple[str, ...] = ()
    method: str | None = None
    model: str | None = None


class Artifact(ContractModel):
    """The eight metadata fields shared by every artifact family.

    Subclasses set ``FAMILY`` (the artifact type) and ``SCHEMA_VERSION`` (the released
    schema version the model matches) and may override :meth:`rules`.
    """

    FAMILY: ClassVar[str]
    SCHEMA_VERSION: ClassVar[str]

    artifact_id: str = Field(min_length=1)
    artifact_type: str
    schema_version: str
    source_system: str = Field(min_length=1)
    created_at: Timestamp
    created_by: str = Field(min_length=1)
    confidence: float
    provenance: Provenance

    # Whether validation built the instance lives in ``__pydantic_private__`` as
    # ``{"_validated": True}``, set by validation and cleared by model_copy(update=...);
    # model_construct leaves it None. It is not declared as a pydantic ``PrivateAttr``: a
    # model with one runs pydantic's private-attribute set-up (two Python calls per level of
    # subclassing) on every instance, a seventh of what a validated publish costs.

    @property
    def validated(self) -> bool:
        """True when this instance was built by validation and not changed since.

        Artifacts are deeply immutable (frozen models, tuples, frozen maps), so a validated
        instance stays valid; ``model_construct`` and ``model_copy(update=...)`` skip
        validation and give instances that are not marked.
        """
        # Read and written in pydantic's private-attribute dict directly: attribute access
        # goes through BaseModel.__getattr__, which costs more than the rest of a publish check.
        private = self.__pydantic_private__
        return bool(private and private.get("_validated"))

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copy = super().model_copy(update=update, deep=deep)
        if update:
            _set_private(copy, None)
        return copy

    def rules(self) -> Iterator[Violation]:
        """Cross-field rules of the family; yields every violation, not just the first."""
        return iter(())

    def _envelope_rules(self) -> Iterator[Violation]:
        if self.artifact_type != self.FAMILY:
            yield Violation(
                ReasonCode.CONTRACT_ARTIFACT_TYPE_MISMATCH,
                "artifact_type",
                f"is {self.artifact_type!r}, this contract is {self.FAMILY!r}",
            )
        major = _major_of(self.schema_version)
        if major is None or major != self.SCHEMA_VERSION.split(".", 1)[0]:
            yield Violation(
                ReasonCode.CONTRACT_SCHEMA_VERSION_MISMATCH,
                "schema_version",
                f"is {self.schema_version!r}, expected a semantic version of major "
                f"{self.SCHEMA_VERSION.split('.', 1)[0]} (model {self.SCHEMA_VERSION})",
            )
        if not 0.0 <= self.confidence <= 1.0:
            yield Violation(
                ReasonCode.CONTRACT_CONFIDENCE_RANGE,
                "confidence",
                f"is {self.confidence}, must lie within [0, 1]",
            )
        if self.provenance.origin in _INFERRED and not self.provenance.source_refs:
            yield Violation(
                ReasonCode.CONTRACT_PROVENANCE_REFS_REQUIRED,
                "provenance.source_refs",
                f"{self.provenance.origin.value} content must name the sources it was made from",
            )

    def _nul_violations(self) -> Iterator[Violation]:
        """One violation per string holding U+0000; walked only when the fast check found one."""
        for path in nul_paths(self, ""):
            yield Violation(
                ReasonCode.CONTRACT_INVALID_FIELD,
                path,
                "holds a NUL character (U+0000), which no string of a contract may hold",
            )

    def _envelope_holds(self) -> bool:
        """True exactly when ``_envelope_rules`` yields nothing: the same tests in one
        expression, without a generator, for the artifacts that pass (most of them). Fields
        are read from ``__dict__``: attribute access on a pydantic model goes through its
        ``__getattr__`` hook, which costs more than the tests."""
        fields = self.__dict__
        provenance = fields["provenance"].__dict__
        return (
            fields["artifact_type"] == self.FAMILY
            and _major_of(fields["schema_version"]) == self.SCHEMA_VERSION.split(".", 1)[0]
            and 0.0 <= fields["confidence"] <= 1.0
            and (provenance["origin"] not in _INFERRED or bool(provenance["source_refs"]))
        )

    @model_validator(mode="after")
    def _check_rules(self) -> Self:
        # The envelope's, the NUL rule's, then the family's violations, in that order.
        violations = [] if self._envelope_holds() else [*self._envelope_rules()]
        if _holds_nul(self):
            violations += self._nul_violations()
        violations += self.rules()
        return self._passed(violations)

    def _check_read_rules(self) -> Self:
        """``_check_rules`` for an instance the compiled reader built: it refuses every string
        holding U+0000 as it reads it, so only the walk for them is left out."""
        violations = [] if self._envelope_holds() else [*self._envelope_rules()]
        violations += self.rules()
        return self._passed(violations)

    def _passed(self, violations: list[Violation]) -> Self:
        if violations:
            raise PydanticCustomError(
                _RULE_ERROR,
                "{summary}",
                {"summary": "; ".join(map(str, violations)), "violations": violations},
            )
        _set_private(self, {"_validated": True})
        return self

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it (enums as their symbols, nested models as dicts)."""
        return self.model_dump(mode="python")


# What the compiled reader's model builder runs instead (velocity_stream.serde.builders).
Artifact._check_rules.__after_read__ = Artifact._check_read_rules  # type: ignore[attr-defined]


_INFERRED = (ProvenanceOrigin.AI, ProvenanceOrigin.DERIVED)
# ``object.__setattr__(model, "__pydantic_private__", value)`` without its lookups: the slot's
# own setter (BaseModel declares ``__pydantic_private__`` in its ``__slots__``).
_set_private: Callable[[BaseModel, dict[str, Any] | None], None] = BaseModel.__dict__[
    "__pydantic_private__"
].__set__


# Whether a string of an artifact holds U+0000. Avro strings may; PostgreSQL text and JSON
# cannot store it, and C-string tools cut the text there. Asked of the fast check
# (contracts/nul_check.py), which answers exactly as the walk for the paths (nul_paths) would
# at a fraction of its cost; the walk runs only for an artifact that holds one. A name of its
# own (not a wrapper: a call less per validation) so that tests and bench/nul_rule.py can swap it.
_holds_nul: Callable[[BaseModel], bool] = holds_nul


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def violations_of(error: ValidationError) -> list[Violation]:
    """Translate a pydantic error into our violations, keeping field paths."""
    found: list[Violation] = []
    for item in error.errors(include_url=False):
        ctx = item.get("ctx") or {}
        if item["type"] == _RULE_ERROR:
            found.extend(ctx["violations"])
            continue
        code = _PYDANTIC_CODES.get(item["type"], ReasonCode.CONTRACT_INVALID_FIELD)
        found.append(Violation(code, _path(item["loc"]), item["msg"]))
    return found


def ensure_valid(artifact: A) -> A:
    """``artifact`` itself when it was validated, else a validated rebuild of its data.

    The service-layer check before anything leaves the process: an artifact made with
    ``model_construct`` or changed with ``model_copy(update=...)`` cannot slip through.
    """
    if artifact.validated:
        return artifact
    return validate_artifact(type(artifact), artifact.to_avro())


def validate_artifact(model: type[A], data: Mapping[str, Any]) -> A:
    """Build ``model`` from plain data; every broken rule is raised as one ContractError."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ContractError(model.FAMILY, violations_of(error)) from None


def validate_json_artifact(model: type[A], text: str | bytes) -> A:
    """Build ``model`` from a JSON document, strictly: JSON types must be the contract's (no
    ``"0.5"`` or ``true`` for a number, no ``2.0`` for an int, no number for a timestamp, which
    is an ISO 8601 string with an offset, as ``example`` prints it). For what people write by
    hand (``validate``); Avro-decoded records are typed already and go through
    :func:`validate_artifact`."""
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as error:
        raise ContractError(model.FAMILY, violations_of(error)) from None
