"""The model registry: which pydantic model reads each family's records, per major version.

A family keeps one model per major it has released, so old data stays readable while a
new major rolls out; within a major, the model matches the latest minor version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from velocity_stream.contracts.applied_graph_change import AppliedGraphChange
from velocity_stream.contracts.approval import ApprovalDecision
from velocity_stream.contracts.client360 import Client360Snapshot
from velocity_stream.contracts.commit_record import CommitRecord
from velocity_stream.contracts.entity_proposal import NormalizedEntityProposal
from velocity_stream.contracts.graph_delta import ClientGraphDelta
from velocity_stream.contracts.import_manifest import ImportMappingManifest, ImportMappingManifestV1
from velocity_stream.contracts.imports import ImportRowRecord, RawImportBatch
from velocity_stream.contracts.interaction import InteractionBundle
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.contracts.qd_signal import QdSignalBundle
from velocity_stream.contracts.replay_audit import DlqReplayAudit
from velocity_stream.contracts.transcript import TranscriptBundle
from velocity_stream.contracts.writeback import OracleWritebackProposal
from velocity_stream.errors import ConfigError


def _majors(*models: type[Artifact]) -> Mapping[int, type[Artifact]]:
    return MappingProxyType({int(m.SCHEMA_VERSION.split(".", 1)[0]): m for m in models})


# Family name -> major -> model. A new major adds its model here (and a reader mapping
# in upgrades.py); the old major's model stays until its topic is retired. Families that
# live outside this package (a deployment's own artifacts) join through register_model().
_MODELS: dict[str, Mapping[int, type[Artifact]]] = dict(
    {
        "RawImportBatch": _majors(RawImportBatch),
        "ImportRowRecord": _majors(ImportRowRecord),
        "ImportMappingManifest": _majors(ImportMappingManifestV1, ImportMappingManifest),
        "NormalizedEntityProposal": _majors(NormalizedEntityProposal),
        "ClientGraphDelta": _majors(ClientGraphDelta),
        "InteractionBundle": _majors(InteractionBundle),
        "TranscriptBundle": _majors(TranscriptBundle),
        "QdSignalBundle": _majors(QdSignalBundle),
        "OracleWritebackProposal": _majors(OracleWritebackProposal),
        "ApprovalDecision": _majors(ApprovalDecision),
        "Client360Snapshot": _majors(Client360Snapshot),
        # internal families (route "internal" in the catalog)
        "CommitRecord": _majors(CommitRecord),
        "AppliedGraphChange": _majors(AppliedGraphChange),
        "DlqReplayAudit": _majors(DlqReplayAudit),
    }
)
MODELS: Mapping[str, Mapping[int, type[Artifact]]] = MappingProxyType(_MODELS)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_BY_KEY = {_key(name): name for name in MODELS}


def family_name(name: str) -> str:
    """A family's artifact name from any form of it (``qd-signal-bundle``, ``QdSignalBundle``)."""
    found = _BY_KEY.get(_key(name))
    if found is None:
        raise ConfigError(f"no contract model for family {name!r}; known: {', '.join(MODELS)}")
    return found


def majors_of(family: str) -> tuple[int, ...]:
    """The majors of ``family`` that have a model, oldest first."""
    return tuple(sorted(MODELS[family_name(family)]))


def model_for(family: str, major: int | None = None) -> type[Artifact]:
    """The model reading ``family`` records of ``major`` (default: the latest major)."""
    name = family_name(family)
    by_major = MODELS[name]
    chosen = max(by_major) if major is None else major
    model = by_major.get(chosen)
    if model is None:
        known = ", ".join(str(m) for m in sorted(by_major))
        raise ConfigError(f"{name} has no contract model for major {chosen}; majors: {known}")
    return model


def register_model(model: type[Artifact]) -> None:
    """Add the model of a family (or of a new major of one) defined outside this package.

    The catalog and the gateway need nothing else: a new family is a schema folder, a
    catalog entry and a model registered here.
    """
    major = int(model.SCHEMA_VERSION.split(".", 1)[0])
    known = _MODELS.get(model.FAMILY, {})
    if known.get(major, model) is not model:
        raise ConfigError(f"{model.FAMILY} already has a model for major {major}")
    _MODELS[model.FAMILY] = MappingProxyType({**known, major: model})
    _BY_KEY[_key(model.FAMILY)] = model.FAMILY


def all_models() -> list[type[Artifact]]:
    """Every registered model, each family's majors oldest first."""
    return [MODELS[name][major] for name in MODELS for major in sorted(MODELS[name])]
