"""Turning consumed bytes into the latest contract models, whatever version wrote them.

An older minor is bridged by Avro schema resolution inside the serde (writer schema by id,
read with the latest schema of the topic's major); an older major is bridged by the family's
registered reader mappings (``contracts/upgrades.py``). Consumers never look at fields to guess
a version: they read what this module gives them.
"""

from __future__ import annotations

from dataclasses import dataclass

from velocity_stream.contracts.catalog import Catalog, Family, Route
from velocity_stream.contracts.commit_record import CommitRecord
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.contracts.upgrades import upgraded_artifact
from velocity_stream.errors import ConfigError, ContractError, ReasonCode, SerdeError
from velocity_stream.serde.avro import AvroSerde


class UnreadableRecord(Exception):
    """A consumed record that cannot become an artifact: why, as a stable reason code.

    The message and field path may quote the record (a map key is part of a path), and the
    workers store them: any NUL character is spelled out, as PostgreSQL text cannot hold it."""

    def __init__(self, code: ReasonCode, message: str, field: str = "") -> None:
        self.code = code
        self.field = clean_text(field)
        super().__init__(clean_text(message))


def clean_text(value: str) -> str:
    """``value`` with every NUL character spelled ``\\x00`` (PostgreSQL text cannot hold it)."""
    return value.replace("\x00", "\\x00")


@dataclass(frozen=True, slots=True)
class TopicFamily:
    """What a family topic carries: the family and the major its writers used."""

    family: Family
    major: int


class ArtifactReader:
    """Decodes family records (any major, any minor) to the family's latest model."""

    def __init__(self, catalog: Catalog, serde: AvroSerde, topic_prefix: str) -> None:
        self.catalog = catalog
        self.serde = serde
        self.prefix = topic_prefix
        self._ingress = catalog.ingress_topics(topic_prefix)

    def read(self, payload: bytes | None, family: Family, major: int) -> Artifact:
        """Bytes of ``family`` written under ``major`` as the latest major's model."""
        try:
            latest = family.latest.major
            if major == latest:
                # The compiled reader builds the model in one pass (its refusals take the
                # validated path, so the error is the same as decode_record's then pydantic's).
                return self.serde.decode(payload, family, major)
            decoded = self.serde.decode_record(payload, family, major)
            return upgraded_artifact(family.name, decoded.record, major, latest)
        except SerdeError as error:
            raise UnreadableRecord(error.code, str(error)) from None
        except ContractError as error:
            first = error.violations[0] if error.violations else None
            raise UnreadableRecord(
                first.code if first else ReasonCode.CONTRACT_INVALID_FIELD,
                str(error),
                first.path if first else "",
            ) from None
        except ConfigError as error:  # no reader mapping registered for that major
            raise UnreadableRecord(ReasonCode.DECODE_UNRESOLVABLE, str(error)) from None

    def read_internal(
        self, key: bytes | None, payload: bytes | None, family: Family, major: int
    ) -> Artifact:
        """A record of an internal family, checked as the gateway checks the others: decoded
        with the contract, its key the family's key field, its author one of the producers.

        Nobody but the reader stands between the writer and this record, so a record that
        breaks its contract is refused here, with the code the gateway would give it.
        """
        artifact = self.read(payload, family, major)
        wanted = str(getattr(artifact, family.key_field))
        if key != wanted.encode("utf-8"):
            raise UnreadableRecord(
                ReasonCode.CONTRACT_KEY_MISMATCH,
                f"the message key must be the {family.key_field} ({wanted!r}) in UTF-8",
                family.key_field,
            )
        if not family.is_owned_by(artifact.source_system):
            raise UnreadableRecord(
                ReasonCode.AUTH_NOT_OWNER,
                f"{artifact.source_system!r} is not a producer of {family.name} "
                f"(producers: {', '.join(family.producers)})",
                "source_system",
            )
        return artifact

    def read_commit(
        self, key: bytes | None, payload: bytes | None
    ) -> tuple[CommitRecord, Artifact]:
        """A commit record and its proposal (decoded with the writer schema in its frame).

        The proposal must be a valid record of a proposal family arriving on the topic the
        commit names, and be the proposal the commit names (family and id): anything else is
        ``contract.commit_record.proposal_invalid`` or ``proposal_mismatch``.
        """
        commits = self.catalog.commits
        record = self.read_internal(key, payload, commits, commits.latest.major)
        assert isinstance(record, CommitRecord)
        target = self._ingress.get(record.proposal_topic)
        if target is None or target[0].route is not Route.PROPOSAL:
            raise UnreadableRecord(
                ReasonCode.CONTRACT_COMMIT_PROPOSAL_INVALID,
                f"commit names proposal topic {record.proposal_topic!r}, which is not an "
                "ingress topic of a proposal family of the catalog",
                "proposal_topic",
            )
        family, major = target
        try:
            proposal = self.read(record.proposal, family, major)
        except UnreadableRecord as error:
            raise UnreadableRecord(
                ReasonCode.CONTRACT_COMMIT_PROPOSAL_INVALID,
                f"the proposal bytes are not a valid {family.name}: {error.code.value}: {error}",
                "proposal",
            ) from None
        proposal_id = str(getattr(proposal, family.key_field))
        if (family.name, proposal_id) != (record.proposal_family, record.proposal_id):
            raise UnreadableRecord(
                ReasonCode.CONTRACT_COMMIT_PROPOSAL_MISMATCH,
                f"the commit is for {record.proposal_family} {record.proposal_id!r}, its "
                f"proposal bytes are {family.name} {proposal_id!r}",
                "proposal",
            )
        return record, proposal
