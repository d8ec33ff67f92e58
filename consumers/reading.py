"""Turning consumed bytes into the latest contract models, whatever version wrote them.

An older minor is bridged by Avro schema resolution inside the serde (writer schema by id,
read with the latest schema of the topic's major); an older major is bridged by the family's
registered reader mappings (``contracts/upgrades.py``). Consumers never look at fields to guess
a version: they read what this module gives them.
"""

from __future__ import annotations

from dataclasses import dataclass

from velocity_stream.contracts.catalog import Catalog, Family
from velocity_stream.contracts.metadata import Artifact, validate_artifact
from velocity_stream.contracts.registry import model_for
from velocity_stream.contracts.upgrades import upgraded_artifact
from velocity_stream.errors import ConfigError, ContractError, ReasonCode, SerdeError
from velocity_stream.gateway.commits import CommitRecord
from velocity_stream.serde.avro import AvroSerde


class UnreadableRecord(Exception):
    """A consumed record that cannot become an artifact: why, as a stable reason code."""

    def __init__(self, code: ReasonCode, message: str, field: str = "") -> None:
        self.code = code
        self.field = field
        super().__init__(message)


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
            decoded = self.serde.decode_record(payload, family, major)
            latest = family.latest.major
            if major == latest:
                return validate_artifact(model_for(family.name, major), decoded.record)
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

    def read_commit(self, payload: bytes | None) -> tuple[CommitRecord, Artifact]:
        """A commit record and its proposal (decoded with the writer schema in its frame)."""
        try:
            record = CommitRecord.from_bytes(payload or b"")
        except (ValueError, KeyError, TypeError) as error:
            raise UnreadableRecord(
                ReasonCode.PERSISTENCE_UNREADABLE_CHANGE,
                f"not a commit record: {type(error).__name__}: {error}",
            ) from None
        target = self._ingress.get(record.proposal_topic)
        if target is None:
            raise UnreadableRecord(
                ReasonCode.PERSISTENCE_UNREADABLE_CHANGE,
                f"commit names proposal topic {record.proposal_topic!r}, which is not an "
                "ingress topic of the catalog",
                "proposal_topic",
            )
        family, major = target
        return record, self.read(record.proposal, family, major)
