"""Which topics hold a family's records: what producers sent (ingress) or what the gateway
accepted, every major of each family. The stream consumers read by these."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from velocity_stream.contracts.catalog import Catalog, Family


class TopicStage(StrEnum):
    """Which of a family's topics to read: what producers sent, or what the gateway accepted."""

    INGRESS = "ingress"
    ACCEPTED = "accepted"


def family_topics(
    catalog: Catalog,
    prefix: str,
    families: Iterable[str] | None = None,
    stage: TopicStage = TopicStage.INGRESS,
) -> dict[str, tuple[Family, int]]:
    """Topic name -> (family, major) for the named families (default: all), every major."""
    chosen = [catalog.family(name) for name in families] if families is not None else list(catalog)
    topics: dict[str, tuple[Family, int]] = {}
    for family in chosen:
        for major in family.majors():
            # An internal family has one topic, whatever the stage.
            name = (
                family.ingress_topic(prefix, major)
                if stage is TopicStage.INGRESS or family.internal
                else family.accepted_topic(prefix, major)
            )
            topics[name] = (family, major)
    return topics
