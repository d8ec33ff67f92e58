"""What a trace returns: a trail of hops, each one thing a store knows, and how they link.

A :class:`Trail` starts at the ref asked about and follows links *upstream* (a field to the
change that wrote it, the change to its decision and proposal, the proposal to its evidence
and raw import rows) and, from the starting hop only, *downstream* (a row to the proposals
made from it, a proposal to its decisions and changes, a change to the nodes it wrote). Each
hop names the hop it was reached from (``via``) and how (``relation``), so the trail is a tree
a page or the command line can print hop by hop. Everything is plain data: ``to_json`` is the
API's body and the CLI's ``--json`` output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Scalar = str | int | float | bool | None


class HopKind(StrEnum):
    FIELD = "field"  # one attribute of a node, as Client360 shows it
    NODE = "node"  # a graph node (a client, person, opportunity ...)
    CHANGE = "change"  # a change set the committer applied or refused
    DECISION = "decision"
    PROPOSAL = "proposal"
    IMPORT_ROW = "import_row"
    IMPORT_BATCH = "import_batch"
    MANIFEST = "manifest"
    INTERACTION = "interaction"
    TRANSCRIPT = "transcript"
    SIGNAL = "signal"
    MISSING = "missing"  # a ref a store names but no store holds (yet)


@dataclass(frozen=True)
class Hop:
    """One thing on the trail: what it is, its facts, and the rows under it (a transcript's
    segments, a row's raw values, a proposal's state history)."""

    kind: HopKind
    ref: str
    title: str
    facts: dict[str, Scalar] = field(default_factory=dict)
    items: tuple[dict[str, Scalar], ...] = ()
    via: str | None = None  # the id of the hop this one was reached from
    relation: str = ""  # how it relates to that hop, e.g. "written by"
    depth: int = 0

    @property
    def id(self) -> str:
        return hop_id(self.kind, self.ref)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "ref": self.ref,
            "title": self.title,
            "facts": dict(self.facts),
            "items": [dict(item) for item in self.items],
            "via": self.via,
            "relation": self.relation,
            "depth": self.depth,
        }


def hop_id(kind: HopKind, ref: str) -> str:
    return f"{kind.value}:{ref}"


@dataclass(frozen=True)
class Trail:
    """The hops of one trace as a tree in reading order: each hop, then the hops reached from
    it (``via``); the starting hop(s) have depth 0."""

    ref: str
    hops: tuple[Hop, ...]
    truncated: bool = False  # more hops were linked than a trail holds

    def of_kind(self, kind: HopKind) -> list[Hop]:
        return [hop for hop in self.hops if hop.kind is kind]

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "truncated": self.truncated,
            "hops": [hop.to_json() for hop in self.hops],
        }


class UnknownRef(LookupError):
    """No store knows the ref (or the field of a known node)."""

    def __init__(self, ref: str, detail: str = "") -> None:
        self.ref = ref
        super().__init__(detail or f"{ref!r} is not in any store")


def render_text(trail: Trail) -> str:
    """The trail for a terminal: one block per hop, indented by how far it is from the start."""
    blocks: list[str] = []
    for hop in trail.hops:
        pad = "  " * hop.depth
        head = f"{pad}{hop.kind.value.replace('_', ' ')} {hop.ref}"
        if hop.relation:
            head += f"  ({hop.relation})"
        lines = [head, f"{pad}  {hop.title}"]
        width = max((len(name) for name in hop.facts), default=0)
        lines += [
            f"{pad}  {name.ljust(width)}  {_text(value)}" for name, value in hop.facts.items()
        ]
        for item in hop.items:
            lines.append(f"{pad}  - " + ", ".join(f"{k}={_text(v)}" for k, v in item.items()))
        blocks.append("\n".join(lines))
    if trail.truncated:
        blocks.append("(more hops are linked than a trail holds; trace one of them)")
    return "\n\n".join(blocks) + "\n"


def _text(value: Scalar) -> str:
    return "-" if value is None else str(value)
