"""``Lineage(engine, prefix).trace(ref)``: read the stores (SQLAlchemy Core, reads only) and
follow a ref to where it came from.

The stores are the committer's graph tables, Client360's, and the import, governance and
intel stores, all named with one table prefix. A store that was never run has no tables; its
tables read as empty, so a trail over a partial deployment stops at the refs no store holds
(``missing`` hops) instead of failing.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, String, Table, bindparam, inspect

from consumers.client360.tables import client360_tables
from consumers.committer.tables import graph_tables
from consumers.governance.tables import governance_tables
from consumers.imports.tables import import_tables
from consumers.intel.tables import intel_tables
from consumers.lineage.rows import (
    BATCH_FACTS,
    CHANGE_FACTS,
    COLUMN_ITEMS,
    DECISION_FACTS,
    INTERACTION_FACTS,
    MANIFEST_FACTS,
    PROPOSAL_FACTS,
    ROW_FACTS,
    SEGMENT_ITEMS,
    SIGNAL_FACTS,
    STATE_ITEMS,
    TRANSCRIPT_FACTS,
    Lookups,
    Reader,
    parse_json,
    pick,
    scalar,
    when,
)
from consumers.lineage.trail import Hop, HopKind, Scalar, Trail, UnknownRef, hop_id

MAX_HOPS = 400
MAX_FANOUT = 50  # links of one kind from one hop (a client's interactions, a batch's proposals)
FIELD_SEPARATOR = "#"

Link = tuple[HopKind | None, str, str]  # kind (None: find out), ref, relation


@dataclass(frozen=True)
class Found:
    """A resolver's answer: the hop (without its place on the trail) and where it came from.
    What was made from it (downstream) is read only when the walk goes that way."""

    hop: Hop
    upstream: list[Link]


class Lineage:
    """Trails over the stores of one database and one table prefix."""

    def __init__(self, engine: Engine, prefix: str = "") -> None:
        self.engine = engine
        self.graph = graph_tables(prefix)
        self.c360 = client360_tables(prefix)
        self.gov = governance_tables(prefix)
        self.imports = import_tables(prefix)
        self.intel = intel_tables(prefix)
        self._resolvers: dict[HopKind, Callable[[Reader, str], Found | None]] = {
            HopKind.FIELD: self._field,
            HopKind.NODE: self._node,
            HopKind.CHANGE: self._change,
            HopKind.DECISION: self._decision,
            HopKind.PROPOSAL: self._proposal,
            HopKind.IMPORT_ROW: self._row,
            HopKind.IMPORT_BATCH: self._batch,
            HopKind.MANIFEST: self._manifest,
            HopKind.INTERACTION: self._interaction,
            HopKind.TRANSCRIPT: self._transcript,
            HopKind.SIGNAL: self._signal,
        }
        g, c, gov, imp, intel = self.graph, self.c360, self.gov, self.imports, self.intel
        # Where a ref can be found by its own id (a client ref has interactions and signals
        # before any node), and by an artifact id (then the domain id of that row).
        ref = bindparam("ref", type_=String)
        by_id: list[tuple[HopKind, Table, str]] = [
            (HopKind.NODE, g.nodes, "node_ref"),
            (HopKind.NODE, c.nodes, "node_ref"),
            (HopKind.NODE, c.clients, "client_ref"),
            (HopKind.NODE, intel.interactions, "client_ref"),
            (HopKind.NODE, intel.signals, "client_ref"),
            (HopKind.CHANGE, g.changes, "change_id"),
            (HopKind.CHANGE, gov.commits, "change_id"),
            (HopKind.DECISION, gov.decisions, "decision_id"),
            (HopKind.PROPOSAL, gov.proposals, "proposal_id"),
            (HopKind.IMPORT_ROW, imp.rows, "row_id"),
            (HopKind.IMPORT_BATCH, imp.batches, "batch_id"),
            (HopKind.MANIFEST, imp.manifests, "manifest_id"),
            (HopKind.INTERACTION, intel.interactions, "bundle_id"),
            (HopKind.INTERACTION, c.interactions, "bundle_ref"),
            (HopKind.TRANSCRIPT, intel.transcripts, "transcript_id"),
            (HopKind.SIGNAL, intel.signals, "signal_id"),
            (HopKind.SIGNAL, c.signals, "signal_ref"),
        ]
        by_artifact: list[tuple[HopKind, Table, str]] = [
            (HopKind.PROPOSAL, gov.proposals, "proposal_id"),
            (HopKind.DECISION, gov.decisions, "decision_id"),
            (HopKind.IMPORT_ROW, imp.rows, "row_id"),
            (HopKind.IMPORT_BATCH, imp.batches, "batch_id"),
            (HopKind.MANIFEST, imp.manifests, "manifest_id"),
            (HopKind.INTERACTION, intel.interactions, "bundle_id"),
            (HopKind.TRANSCRIPT, intel.transcripts, "transcript_id"),
            (HopKind.SIGNAL, intel.signals, "signal_id"),
            (HopKind.NODE, c.snapshots, "client_ref"),
        ]
        self._id_kinds = [kind for kind, _, _ in by_id]
        self._by_id = Lookups([(t, t.c[key], t.c[key] == ref) for _, t, key in by_id])
        applied = g.changes.c.change_id
        self._artifact_kinds = [kind for kind, _, _ in by_artifact] + [HopKind.CHANGE]
        self._by_artifact = Lookups(
            [(t, t.c[key], t.c.artifact_id == ref) for _, t, key in by_artifact]
            + [(g.changes, applied, applied == bindparam("change", type_=String))]
        )
        # What was made from a hop: read for the starting hop(s) and those reached from them
        # downstream only (the reads scan columns the stores do not index).
        self._followers: dict[HopKind, Callable[[Reader, str], list[Link]]] = {
            HopKind.CHANGE: self._change_down,
            HopKind.DECISION: self._decision_down,
            HopKind.PROPOSAL: self._proposal_down,
            HopKind.IMPORT_ROW: self._citing,
            HopKind.IMPORT_BATCH: self._batch_down,
            HopKind.INTERACTION: self._interaction_down,
            HopKind.TRANSCRIPT: self._citing,
            HopKind.SIGNAL: self._citing,
        }

    def trace(self, ref: str, field: str | None = None) -> Trail:
        """The trail of ``ref`` (``node#field`` or ``field`` names one field of a node);
        :class:`UnknownRef` when no store knows it."""
        ref = ref.strip()
        if field is None and FIELD_SEPARATOR in ref:
            head, _, tail = ref.rpartition(FIELD_SEPARATOR)
            ref, field = head, tail or None
        with self.engine.connect() as conn:
            reader = Reader(conn, set(inspect(conn).get_table_names()))
            if field is not None:
                starts = self._field_starts(reader, ref, field)
            else:
                starts = self.identify(reader, ref)
            if not starts:
                raise UnknownRef(ref)
            return self._walk(reader, ref, starts)

    # --- the walk ---------------------------------------------------------------------------

    def _walk(self, reader: Reader, ref: str, starts: list[tuple[HopKind, str]]) -> Trail:
        hops: dict[str, Hop] = {}
        # (kind, ref, via, relation, depth, upstream?, downstream?)
        queue: deque[tuple[HopKind | None, str, str | None, str, int, bool, bool]] = deque(
            (kind, key, None, "", 0, True, True) for kind, key in starts
        )
        truncated = False
        while queue:
            kind, key, via, relation, depth, up, down = queue.popleft()
            targets = [(kind, key)] if kind is not None else self._kinds_for_link(reader, key)
            for found_kind, key in targets:
                if hop_id(found_kind, key) in hops:
                    continue
                if len(hops) >= MAX_HOPS:
                    truncated = True
                    break
                found = self._resolve(reader, found_kind, key)
                hop = replace(found.hop, via=via, relation=relation, depth=depth)
                hops[hop.id] = hop
                follow = self._followers.get(hop.kind)
                downstream = follow(reader, key) if down and follow is not None else []
                for links, is_up in ((found.upstream if up else [], True), (downstream, False)):
                    for link_kind, link_ref, link_relation in _unique(links):
                        queue.append(
                            (
                                link_kind,
                                link_ref,
                                hop.id,
                                link_relation,
                                depth + 1,
                                is_up,
                                not is_up,
                            )
                        )
        return Trail(ref=ref, hops=_tree_order(list(hops.values())), truncated=truncated)

    def _resolve(self, reader: Reader, kind: HopKind, key: str) -> Found:
        resolver = self._resolvers.get(kind)
        found = resolver(reader, key) if resolver is not None else None
        if found is None and kind is HopKind.MISSING:
            return Found(Hop(HopKind.MISSING, key, "not in any store"), [])
        if found is None:
            return Found(
                Hop(
                    HopKind.MISSING,
                    key,
                    f"not in any store (expected: {kind.value.replace('_', ' ')})",
                    {"expected": kind.value},
                ),
                [],
            )
        return found

    def _kinds_for_link(self, reader: Reader, ref: str) -> list[tuple[HopKind, str]]:
        """What a ref another hop names is; a commit's change id is also its decision id,
        and the change is the hop that leads on to the decision."""
        found = self.identify(reader, ref)
        if (HopKind.CHANGE, ref) in found and (HopKind.DECISION, ref) in found:
            found.remove((HopKind.DECISION, ref))
        return found or [(HopKind.MISSING, ref)]

    # --- what a ref is ----------------------------------------------------------------------

    def identify(self, reader: Reader, ref: str) -> list[tuple[HopKind, str]]:
        """Every (kind, key) the stores know ``ref`` as: a domain id, or an artifact id."""
        found: list[tuple[HopKind, str]] = []
        values = self._by_id.first_values(reader, {"ref": ref})
        for kind, value in zip(self._id_kinds, values, strict=True):
            if value is not None and (kind, ref) not in found:
                found.append((kind, ref))
        if found:
            return found
        values = self._by_artifact.first_values(reader, {"ref": ref, "change": _applied(ref)})
        return [
            (kind, str(value))
            for kind, value in zip(self._artifact_kinds, values, strict=True)
            if value is not None
        ]

    def _field_starts(self, reader: Reader, ref: str, name: str) -> list[tuple[HopKind, str]]:
        """The field's own node when it has one, else the nodes next to it that do (a
        client's email is its person's)."""
        if self._field_value(reader, ref, name) is not None:
            return [(HopKind.FIELD, f"{ref}{FIELD_SEPARATOR}{name}")]
        neighbours: list[str] = []
        for edges in (self.graph.edges, self.c360.edges):
            for row in reader.rows(edges, edges.c.from_ref == ref, limit=MAX_FANOUT):
                neighbours.append(row["to_ref"])
            for row in reader.rows(edges, edges.c.to_ref == ref, limit=MAX_FANOUT):
                neighbours.append(row["from_ref"])
        starts = [
            (HopKind.FIELD, f"{node}{FIELD_SEPARATOR}{name}")
            for node in dict.fromkeys(neighbours)
            if self._field_value(reader, node, name) is not None
        ]
        if not starts and self.identify(reader, ref):
            raise UnknownRef(ref, f"{ref!r} has no field {name!r} (nor have the nodes next to it)")
        return starts

    def _field_value(self, reader: Reader, node: str, name: str) -> list[Any] | None:
        """[value, stamp, source] of a Client360 attribute, or [value, None, updated_by] of
        the committed node's when Client360 has not seen it."""
        row = reader.one(self.c360.nodes, self.c360.nodes.c.node_ref == node)
        if row is not None:
            known = parse_json(row["attributes"], {}).get(name)
            if isinstance(known, list) and len(known) == 3:
                return known
        graph = reader.one(self.graph.nodes, self.graph.nodes.c.node_ref == node)
        if graph is not None:
            value = parse_json(graph["attributes"], {}).get(name)
            if value is not None:
                return [value, None, graph["updated_by"]]
        return None

    # --- one resolver per kind --------------------------------------------------------------

    def _field(self, reader: Reader, key: str) -> Found | None:
        node, _, name = key.rpartition(FIELD_SEPARATOR)
        known = self._field_value(reader, node, name)
        if known is None:
            return None
        value, stamp, source = known
        graph = reader.one(self.graph.nodes, self.graph.nodes.c.node_ref == node)
        committed = parse_json(graph["attributes"], {}).get(name) if graph else None
        facts: dict[str, Scalar] = {
            "node": node,
            "field": name,
            "value": scalar(value),
            "committed value": scalar(committed),
            "source": scalar(source),
            "stamp": scalar(stamp),
        }
        hop = Hop(HopKind.FIELD, key, f"{name} of {node} = {value!r}", facts)
        up: list[Link] = [(HopKind.NODE, node, "field of")]
        if source:
            up.insert(0, (None, str(scalar(source)), "written by"))
        return Found(hop, up)

    def _node(self, reader: Reader, ref: str) -> Found | None:
        g, c = self.graph, self.c360
        graph = reader.one(g.nodes, g.nodes.c.node_ref == ref)
        shown = reader.one(c.nodes, c.nodes.c.node_ref == ref)
        snapshot = reader.one(c.snapshots, c.snapshots.c.client_ref == ref)
        interactions = reader.rows(
            self.intel.interactions,
            self.intel.interactions.c.client_ref == ref,
            order=[self.intel.interactions.c.occurred_at_ms.desc()],
            limit=MAX_FANOUT,
        )
        signals = reader.rows(
            self.intel.signals, self.intel.signals.c.client_ref == ref, limit=MAX_FANOUT
        )
        if not (graph or shown or snapshot or interactions or signals) and not reader.one(
            c.clients, c.clients.c.client_ref == ref
        ):
            return None
        facts: dict[str, Scalar] = {}
        up: list[Link] = []
        items: list[dict[str, Scalar]] = []
        if graph is not None:
            facts |= {
                "type": graph["node_type"],
                "status": graph["status"],
                "merged into": graph["merged_into"],
                "created by": graph["created_by"],
                "updated by": graph["updated_by"],
            }
            up += [(HopKind.CHANGE, graph["created_by"], "created by")]
            up += [(HopKind.CHANGE, graph["updated_by"], "last updated by")]
        if shown is not None:
            facts.setdefault("type", shown["node_type"])
            attributes = parse_json(shown["attributes"], {})
            for name in sorted(attributes):
                known = attributes[name]
                if not (isinstance(known, list) and len(known) == 3):
                    continue  # not what Client360 writes: nothing to show or follow
                value, _stamp, source = known
                items.append({"field": name, "value": scalar(value), "source": scalar(source)})
                if source:
                    up.append((None, str(scalar(source)), f"wrote {name}"))
        elif graph is not None:
            for name, value in sorted(parse_json(graph["attributes"], {}).items()):
                items.append({"field": name, "value": scalar(value), "source": graph["updated_by"]})
        if snapshot is not None:
            facts["snapshot as of"] = when(snapshot["as_of_us"] // 1000)
            facts["snapshot artifact"] = snapshot["artifact_id"]
        up += [(HopKind.INTERACTION, row["bundle_id"], "interaction") for row in interactions]
        up += [(HopKind.SIGNAL, row["signal_id"], "signal") for row in signals]
        kind = facts.get("type") or "node"
        hop = Hop(HopKind.NODE, ref, f"{str(kind).lower()} {ref}", facts, tuple(items))
        return Found(hop, up)

    def _change(self, reader: Reader, change_id: str) -> Found | None:
        g, gov = self.graph, self.gov
        change = reader.one(g.changes, g.changes.c.change_id == change_id)
        commit = reader.one(gov.commits, gov.commits.c.change_id == change_id)
        if change is None and commit is None:
            return None
        facts: dict[str, Scalar] = {}
        up: list[Link] = []
        if change is not None:
            facts |= pick(change, CHANGE_FACTS)
            facts["read from"] = f"{change['topic']}[{change['partition']}]@{change['offset']}"
            if change["decision_ref"]:
                up.append((HopKind.DECISION, change["decision_ref"], "approved by"))
            if change["proposal_ref"]:
                up.append((HopKind.PROPOSAL, change["proposal_ref"], "proposed in"))
        if commit is not None:
            facts.setdefault("outcome", commit["outcome"])
            facts.setdefault("reason", commit["reason"])
            facts["recorded by governance at"] = when(commit["at_ms"])
            if commit["decision_id"]:
                up.append((HopKind.DECISION, commit["decision_id"], "approved by"))
            up.append((HopKind.PROPOSAL, commit["proposal_id"], "proposed in"))
        title = f"change {facts.get('outcome', '')}".strip()
        return Found(Hop(HopKind.CHANGE, change_id, title, facts), up)

    def _change_down(self, reader: Reader, change_id: str) -> list[Link]:
        nodes = self.graph.nodes
        written = reader.rows(nodes, nodes.c.updated_by == change_id, limit=MAX_FANOUT)
        written += reader.rows(nodes, nodes.c.created_by == change_id, limit=MAX_FANOUT)
        return [(HopKind.NODE, row["node_ref"], "wrote") for row in written]

    def _decision(self, reader: Reader, decision_id: str) -> Found | None:
        gov = self.gov
        row = reader.one(gov.decisions, gov.decisions.c.decision_id == decision_id)
        if row is None:
            return None
        title = f"{row['outcome']} by {row['reviewer']}"
        hop = Hop(HopKind.DECISION, decision_id, title, pick(row, DECISION_FACTS))
        return Found(hop, [(HopKind.PROPOSAL, row["proposal_id"], "decides")])

    def _decision_down(self, reader: Reader, decision_id: str) -> list[Link]:
        commits, changes = self.gov.commits, self.graph.changes
        return self._changes(
            reader.rows(commits, commits.c.decision_id == decision_id)
            + reader.rows(changes, changes.c.decision_ref == decision_id)
        )

    @staticmethod
    def _changes(rows: list[dict[str, Any]]) -> list[Link]:
        return [(HopKind.CHANGE, row["change_id"], "committed as") for row in rows]

    def _proposal(self, reader: Reader, proposal_id: str) -> Found | None:
        gov = self.gov
        found = reader.with_items(
            gov.proposals, "proposal_id", proposal_id, gov.states, "at_ms", STATE_ITEMS
        )
        if found is None:
            return None
        row, items = found
        up: list[Link] = [
            (None, str(scalar(ref)), "evidence")
            for ref in parse_json(row["evidence_refs"], [])
            if ref
        ]
        if row["batch_id"]:
            up.append((HopKind.IMPORT_BATCH, row["batch_id"], "imported in"))
        title = f"{row['operation']} {row['target_ref']} ({row['family']}, {row['state']})"
        hop = Hop(HopKind.PROPOSAL, proposal_id, title, pick(row, PROPOSAL_FACTS), items)
        return Found(hop, up)

    def _proposal_down(self, reader: Reader, proposal_id: str) -> list[Link]:
        decisions, commits, changes = self.gov.decisions, self.gov.commits, self.graph.changes
        down: list[Link] = [
            (HopKind.DECISION, d["decision_id"], "decided by")
            for d in reader.rows(decisions, decisions.c.proposal_id == proposal_id)
        ]
        return down + self._changes(
            reader.rows(commits, commits.c.proposal_id == proposal_id)
            + reader.rows(changes, changes.c.proposal_ref == proposal_id)
        )

    def _citing(self, reader: Reader, ref: str) -> list[Link]:
        """Proposals that name ``ref`` among their evidence."""
        proposals = self.gov.proposals
        quoted = json.dumps(ref)
        rows = reader.rows(
            proposals, proposals.c.evidence_refs.contains(quoted, autoescape=True), limit=MAX_FANOUT
        )
        return [
            (HopKind.PROPOSAL, r["proposal_id"], "evidence of")
            for r in rows
            if ref in parse_json(r["evidence_refs"], [])
        ]

    def _row(self, reader: Reader, row_id: str) -> Found | None:
        imp = self.imports
        row = reader.one(imp.rows, imp.rows.c.row_id == row_id)
        if row is None:
            return None
        fates = {
            c["source_column"]: c
            for c in reader.rows(
                imp.manifest_columns, imp.manifest_columns.c.batch_id == row["batch_id"]
            )
        }
        items = tuple(
            {
                "column": column,
                "value": scalar(value),
                "fate": fates[column]["fate"] if column in fates else None,
                "maps to": fates[column]["field_path"] if column in fates else None,
            }
            for column, value in parse_json(row["raw_values"], {}).items()
        )
        facts = pick(row, ROW_FACTS)
        title = f"row {row['row_number']} of {row['batch_id']}"
        up: list[Link] = [(HopKind.IMPORT_BATCH, row["batch_id"], "row of")]
        return Found(Hop(HopKind.IMPORT_ROW, row_id, title, facts, items), up)

    def _batch(self, reader: Reader, batch_id: str) -> Found | None:
        imp = self.imports
        row = reader.one(imp.batches, imp.batches.c.batch_id == batch_id)
        if row is None:
            return None
        title = f"{row['uploaded_filename']} from {row['source_system']}"
        return Found(Hop(HopKind.IMPORT_BATCH, batch_id, title, pick(row, BATCH_FACTS)), [])

    def _batch_down(self, reader: Reader, batch_id: str) -> list[Link]:
        manifests, proposals = self.imports.manifests, self.gov.proposals
        down: list[Link] = [
            (HopKind.MANIFEST, m["manifest_id"], "mapped by")
            for m in reader.rows(manifests, manifests.c.batch_id == batch_id)
        ]
        return down + [
            (HopKind.PROPOSAL, p["proposal_id"], "proposed from")
            for p in reader.rows(proposals, proposals.c.batch_id == batch_id, limit=MAX_FANOUT)
        ]

    def _manifest(self, reader: Reader, manifest_id: str) -> Found | None:
        imp = self.imports
        found = reader.with_items(
            imp.manifests,
            "manifest_id",
            manifest_id,
            imp.manifest_columns,
            "source_column",
            COLUMN_ITEMS,
        )
        if found is None:
            return None
        row, items = found
        facts = pick(row, MANIFEST_FACTS)
        up: list[Link] = [(HopKind.IMPORT_BATCH, row["batch_id"], "maps")]
        title = f"mapping of {row['batch_id']} ({len(items)} columns)"
        return Found(Hop(HopKind.MANIFEST, manifest_id, title, facts, items), up)

    def _interaction(self, reader: Reader, bundle_id: str) -> Found | None:
        intel, c = self.intel, self.c360
        row = reader.one(intel.interactions, intel.interactions.c.bundle_id == bundle_id)
        if row is None:
            shown = reader.one(c.interactions, c.interactions.c.bundle_ref == bundle_id)
            if shown is None:
                return None
            facts: dict[str, Scalar] = {
                "client": shown["client_ref"],
                "channel": shown["channel"],
                "occurred at": when(shown["occurred_us"] // 1000),
                "summary": shown["summary"],
                "from": "Client360 (the intel store has no copy)",
            }
            title = f"{shown['channel'].lower()} with {shown['client_ref']}"
            return Found(Hop(HopKind.INTERACTION, bundle_id, title, facts), [])
        facts = pick(row, INTERACTION_FACTS)
        facts["events"] = ", ".join(map(str, parse_json(row["event_refs"], []))) or None
        up: list[Link] = [
            (HopKind.TRANSCRIPT, t["transcript_id"], "transcript")
            for t in reader.rows(
                intel.transcripts,
                intel.transcripts.c.interaction_ref == bundle_id,
                limit=MAX_FANOUT,
            )
        ]
        title = f"{row['channel'].lower()} with {row['client_ref']}"
        return Found(Hop(HopKind.INTERACTION, bundle_id, title, facts), up)

    def _interaction_down(self, reader: Reader, bundle_id: str) -> list[Link]:
        evidence = self.intel.evidence
        down: list[Link] = [
            (HopKind.SIGNAL, e["signal_id"], "evidence of")
            for e in reader.rows(evidence, evidence.c.ref == bundle_id, limit=MAX_FANOUT)
        ]
        return down + self._citing(reader, bundle_id)

    def _transcript(self, reader: Reader, transcript_id: str) -> Found | None:
        intel = self.intel
        found = reader.with_items(
            intel.transcripts, "transcript_id", transcript_id, intel.segments, "seq", SEGMENT_ITEMS
        )
        if found is None:
            return None
        row, items = found
        facts = pick(row, TRANSCRIPT_FACTS)
        up: list[Link] = [(HopKind.INTERACTION, row["interaction_ref"], "transcript of")]
        title = f"transcript of {row['interaction_ref']} ({len(items)} segments)"
        hop = Hop(HopKind.TRANSCRIPT, transcript_id, title, facts, items)
        return Found(hop, up)

    def _signal(self, reader: Reader, signal_id: str) -> Found | None:
        intel, c = self.intel, self.c360
        row = reader.one(intel.signals, intel.signals.c.signal_id == signal_id)
        if row is None:
            shown = reader.one(c.signals, c.signals.c.signal_ref == signal_id)
            if shown is None:
                return None
            refs = [str(scalar(r)) for r in parse_json(shown["evidence_refs"], [])]
            facts: dict[str, Scalar] = {
                "client": shown["client_ref"],
                "score type": shown["score_type"],
                "value": shown["value"],
                "window end": when(shown["window_end_us"] // 1000),
                "from": "Client360 (the intel store has no copy)",
            }
            title = f"{shown['score_type']} = {shown['value']} for {shown['client_ref']}"
            up: list[Link] = [(None, ref, "evidence") for ref in refs]
            return Found(Hop(HopKind.SIGNAL, signal_id, title, facts), up)
        refs = [
            e["ref"]
            for e in reader.rows(
                intel.evidence,
                intel.evidence.c.signal_id == signal_id,
                order=[intel.evidence.c.ref],
            )
        ]
        facts = pick(row, SIGNAL_FACTS)
        up = [(None, ref, "evidence") for ref in refs]
        if row["source_ref"] and row["source_ref"] not in refs:
            up.append((None, row["source_ref"], "source"))
        title = f"{row['score_type']} = {row['value']} for {row['client_ref']}"
        return Found(Hop(HopKind.SIGNAL, signal_id, title, facts), up)


def _applied(ref: str) -> str | None:
    """The change id of an applied record's artifact id (``applied:<change id>``)."""
    change = ref.removeprefix("applied:")
    return change if change != ref else None


def _tree_order(hops: list[Hop]) -> tuple[Hop, ...]:
    """Each hop followed by the hops reached from it (depth first, in the order found), so a
    printed trail reads as a tree."""
    children: dict[str | None, list[Hop]] = {}
    for hop in hops:
        children.setdefault(hop.via, []).append(hop)
    ordered: list[Hop] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        hop = stack.pop()
        ordered.append(hop)
        stack.extend(reversed(children.get(hop.id, [])))
    return tuple(ordered)


def _unique(links: Iterable[Link]) -> list[Link]:
    seen: dict[tuple[HopKind | None, str], Link] = {}
    for link in links:
        seen.setdefault((link[0], link[1]), link)
    return list(seen.values())
