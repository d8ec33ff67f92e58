"""Velocity Stream: Avro contracts on Kafka, a validating producer, a Faust gateway, read models."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
