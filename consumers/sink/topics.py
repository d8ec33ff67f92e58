"""Which topics a mapper reads, from the catalog alone (pure: no Kafka client)."""

from __future__ import annotations

from collections.abc import Iterable

from velocity_stream.contracts.catalog import Catalog, Family


def accepted_topics(
    catalog: Catalog, prefix: str, families: Iterable[str]
) -> dict[str, tuple[Family, int]]:
    """Accepted topic -> (family, major) for every major of ``families`` (an internal
    family's one topic for an internal family)."""
    found: dict[str, tuple[Family, int]] = {}
    for name in families:
        family = catalog.family(name)
        for major in family.majors():
            topic = (
                family.ingress_topic(prefix, major)
                if family.internal
                else family.accepted_topic(prefix, major)
            )
            found[topic] = (family, major)
    return found
