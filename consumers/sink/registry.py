"""The table of sink consumers: one entry each, read by `velocity-stream consume NAME`, by
`velocity-stream dev` (which starts every one) and by the tests.

Light on purpose (the CLI builds its parser from it): an entry names its factory as
``module:function``, imported only when that consumer runs; the function takes the table
prefix and returns the consumer's :class:`~consumers.sink.parts.Sink`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from consumers.sink.parts import Sink


@dataclass(frozen=True)
class SinkEntry:
    name: str  # `consume NAME`; the worker's name in its logs, metrics and client id
    help: str  # one line for `consume --help`
    description: str  # the paragraph of `consume NAME --help`
    factory: str  # "module:function"; function(table_prefix) -> Sink
    batch_size: int = 1000  # records per transaction unless --batch-size says otherwise

    def load(self, table_prefix: str = "") -> Sink:
        module, _, function = self.factory.partition(":")
        sink: Sink = getattr(importlib.import_module(module), function)(table_prefix)
        return sink


SINKS: tuple[SinkEntry, ...] = (
    SinkEntry(
        "intel",
        "store interactions, transcripts and QD signals in the intel tables",
        "Store accepted InteractionBundle, TranscriptBundle and QdSignalBundle records (every "
        "major) in the intel tables of VELOCITY_STORE_URL: interactions, transcripts with "
        "their speaker segments, QD signals with their evidence refs; the newest copy of "
        "each wins.",
        "consumers.intel.sink:intel_sink",
    ),
    SinkEntry(
        "governance",
        "store proposals, their states, decisions and commits in the gov tables",
        "Store every proposal (approvals topic), every decision (the decision family's "
        "accepted topics), what the committer applied (AppliedGraphChange) or refused (its "
        "dead letters of commit records) in the gov tables of VELOCITY_STORE_URL; a "
        "proposal's state is derived from all its states by precedence, never by arrival.",
        "consumers.governance.sink:governance_sink",
    ),
    SinkEntry(
        "imports",
        "store import batches, rows and mapping manifests in the imports tables",
        "Store accepted RawImportBatch, ImportRowRecord and ImportMappingManifest records "
        "(every major) in the imports tables of VELOCITY_STORE_URL: the earliest copy of each "
        "id is kept, every other copy that differs recorded as a conflict; every cell indexed "
        "by batch and column, every manifest column with its fate (mapped, ignored, "
        "unresolved).",
        "consumers.imports.sink:imports_sink",
    ),
)


def sink_entry(name: str) -> SinkEntry:
    """The entry named ``name`` (KeyError if there is none)."""
    for entry in SINKS:
        if entry.name == name:
            return entry
    raise KeyError(name)
