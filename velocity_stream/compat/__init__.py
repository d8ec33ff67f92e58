"""Avro schema compatibility: reader/writer resolution, compatibility modes, and the versioning
policy over the catalog. ``check_compatibility`` is the entry point.

May import contracts, errors and settings (and git, for a ref's schemas); the registry and the
CLI import it. Nothing here touches Kafka.
"""

from __future__ import annotations

from velocity_stream.compat.issues import (
    CompatibilityResult,
    Incompatibility,
    IncompatibilityCode,
)
from velocity_stream.compat.modes import CompatibilityMode, Direction, ModeResult, check_mode
from velocity_stream.compat.rules import check_compatibility
from velocity_stream.compat.schema_model import ParsedSchema, SchemaParseError, parse_schema

__all__ = [
    "CompatibilityMode",
    "CompatibilityResult",
    "Direction",
    "Incompatibility",
    "IncompatibilityCode",
    "ModeResult",
    "ParsedSchema",
    "SchemaParseError",
    "check_compatibility",
    "check_mode",
    "parse_schema",
]
