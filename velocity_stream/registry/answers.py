"""What the registry answers: a subject version in Confluent's shape, a compatibility verdict,
and our engine's findings as the lines a 409 and ``verbose=true`` carry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from velocity_stream.compat import Direction, ModeResult
from velocity_stream.registry.records import Json
from velocity_stream.registry.references import Reference


@dataclass(frozen=True, slots=True)
class RegisteredVersion:
    subject: str
    version: int
    schema_id: int
    schema: str
    metadata: Json = None
    rule_set: Json = None
    references: tuple[Reference, ...] = ()

    def to_json(self) -> dict[str, object]:
        """Confluent's shape; ``references``, ``metadata`` and ``ruleSet`` only when the schema
        has them."""
        answer: dict[str, object] = {
            "subject": self.subject,
            "version": self.version,
            "id": self.schema_id,
            "schema": self.schema,
        }
        return answer | contract_fields(self.metadata, self.rule_set, self.references)


def contract_fields(
    metadata: Json, rule_set: Json, references: Sequence[Reference] = ()
) -> dict[str, object]:
    """The members of an answer beyond the schema text: only those the schema has."""
    fields: dict[str, object] = {}
    if references:
        fields["references"] = [r.to_json() for r in references]
    if metadata is not None:
        fields["metadata"] = metadata
    if rule_set is not None:
        fields["ruleSet"] = rule_set
    return fields


@dataclass(frozen=True, slots=True)
class CompatibilityAnswer:
    is_compatible: bool
    messages: tuple[str, ...]


def describe_failures(result: ModeResult, versions: Sequence[int]) -> tuple[str, ...]:
    """Our engine's issues as one line each, saying which version and which direction failed."""
    lines: list[str] = []
    for check in result.failures:
        version = versions[check.previous_index]
        if check.direction is Direction.NEW_READS_OLD:
            who = f"the new schema cannot read data written with version {version}"
        else:
            who = f"readers on version {version} cannot read data written with the new schema"
        for issue in check.result.issues:
            where = issue.location or "/"
            lines.append(
                f"{result.mode.value}: {who}: {issue.code.value} at {where}: {issue.message}"
                + (f" (hint: {issue.hint})" if issue.hint else "")
            )
    return tuple(lines)
