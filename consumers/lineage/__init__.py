"""Lineage: where a Client360 field, a committed node or any artifact came from, read from the
stores (pure SQL reads, no Kafka). See tracer.py and trail.py."""

from consumers.lineage.tracer import Lineage
from consumers.lineage.trail import Hop, HopKind, Trail, UnknownRef, render_text

__all__ = ["Hop", "HopKind", "Lineage", "Trail", "UnknownRef", "render_text"]
