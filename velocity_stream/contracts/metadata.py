"""The envelope every artifact carries (the blueprint's eight metadata fields) and the base model.

Field-level problems are reported by pydantic; cross-field rules live in each family's
``rules()`` and come out as :class:`~velocity_stream.errors.Violation` values with stable
reason codes. :func:`validate_artifact` turns both into one :class:`ContractError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self, TypeVar

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

from velocity_stream.errors import ContractError, ReasonCode, Violation

_RULE_ERROR = "contract_rule"
A = TypeVar("A", bound="Artifact")
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")

# pydantic's own error types that have a more precise reason code of ours
_PYDANTIC_CODES: dict[str, ReasonCode] = {
    "timezone_aware": ReasonCode.CONTRACT_NAIVE_TIMESTAMP,
}


def _to_millis(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


# Avro's timestamp-millis holds milliseconds: truncating at construction makes an artifact
# equal to itself after a round trip through Kafka, instead of losing microseconds silently.
Timestamp = Annotated[AwareDatetime, AfterValidator(_to_millis)]


class ContractModel(BaseModel):
    """Base of every contract model and nested record: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


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
    """The eight metadata fields of the blueprint, shared by every artifact family.

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
        match = _SEMVER.match(self.schema_version)
        if match is None or match.group(1) != self.SCHEMA_VERSION.split(".", 1)[0]:
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
        inferred = self.provenance.origin in (ProvenanceOrigin.AI, ProvenanceOrigin.DERIVED)
        if inferred and not self.provenance.source_refs:
            yield Violation(
                ReasonCode.CONTRACT_PROVENANCE_REFS_REQUIRED,
                "provenance.source_refs",
                f"{self.provenance.origin.value} content must name the sources it was made from",
            )

    @model_validator(mode="after")
    def _check_rules(self) -> Self:
        violations = [*self._envelope_rules(), *self.rules()]
        if violations:
            raise PydanticCustomError(
                _RULE_ERROR,
                "{summary}",
                {"summary": "; ".join(map(str, violations)), "violations": violations},
            )
        return self

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it (enums as their symbols, nested models as dicts)."""
        return self.model_dump(mode="python")


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


def validate_artifact(model: type[A], data: Mapping[str, Any]) -> A:
    """Build ``model`` from plain data; every broken rule is raised as one ContractError."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ContractError(model.FAMILY, violations_of(error)) from None
