"""What a register, lookup or compatibility request proposes, before and after it is checked.

:class:`Submission` holds the fields of the request body as sent (nothing checked yet);
:class:`Candidate` is the checked schema with its data-contract fields and the fingerprint that
decides "same schema".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from velocity_stream.registry.canonical import CanonicalSchema, content_fingerprint
from velocity_stream.registry.records import Json
from velocity_stream.registry.references import Reference


@dataclass(frozen=True, slots=True)
class Submission:
    """The body of a schema request, unchecked: the service judges every field."""

    schema: object
    schema_type: object = None
    references: object = None
    metadata: object = None
    rule_set: object = None
    schema_id: object = None  # only honoured in IMPORT mode
    version: object = None  # only honoured in IMPORT mode

    @classmethod
    def from_body(cls, body: Mapping[str, object]) -> Submission:
        return cls(
            body.get("schema"),
            body.get("schemaType"),
            body.get("references"),
            body.get("metadata"),
            body.get("ruleSet"),
            body.get("id"),
            body.get("version"),
        )


@dataclass(frozen=True, slots=True)
class Candidate:
    """A checked schema with its references and data-contract fields; ``fingerprint`` covers
    all of them."""

    schema: CanonicalSchema
    references: tuple[Reference, ...]
    metadata: Json
    rule_set: Json
    fingerprint: str

    @classmethod
    def of(
        cls,
        schema: CanonicalSchema,
        references: tuple[Reference, ...],
        metadata: Json,
        rule_set: Json,
    ) -> Candidate:
        fingerprint = content_fingerprint(
            schema.identity,
            references=[r.to_json() for r in references],
            metadata=metadata,
            rule_set=rule_set,
        )
        return cls(schema, references, metadata, rule_set, fingerprint)

    def inheriting(self, metadata: Json, rule_set: Json) -> Candidate:
        """This candidate with the given fields where it has none (Confluent's inheritance)."""
        return Candidate.of(
            self.schema,
            self.references,
            self.metadata if self.metadata is not None else metadata,
            self.rule_set if self.rule_set is not None else rule_set,
        )
