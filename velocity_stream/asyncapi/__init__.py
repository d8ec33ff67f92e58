"""An AsyncAPI 3 document of every topic, message, schema, owner and consumer in the catalog."""

from __future__ import annotations

from velocity_stream.asyncapi.document import build_document

__all__ = ["build_document"]
