"""Where the worker's schema ids come from: the registry when configured, else a local table.

Every process that encodes or decodes must agree on ids. With a registry they do by
construction. Without one, :func:`preregistered_resolver` registers every released schema of the
catalog in one fixed order (catalog order, internal families last, then version order), so
every process that calls it
with the same catalog and prefix gets the same ids: what tests and the embedded setup rely on.
"""

from __future__ import annotations

from velocity_stream.contracts.catalog import Catalog
from velocity_stream.serde.resolver import InMemorySchemaResolver, SchemaResolver, subject_for
from velocity_stream.settings import Settings


def preregistered_resolver(catalog: Catalog, topic_prefix: str) -> InMemorySchemaResolver:
    """An in-memory resolver holding every schema of the catalog, ids in a deterministic order."""
    resolver = InMemorySchemaResolver()
    for family in catalog.all_families():
        for version in family.versions:
            topic = family.ingress_topic(topic_prefix, version.major)
            resolver.register(subject_for(topic), version.canonical_json())
    return resolver


def resolver_for(settings: Settings, catalog: Catalog) -> SchemaResolver:
    """The registry-backed resolver when ``SCHEMA_REGISTRY_URL`` is set, else the local one."""
    if settings.schema_registry_url:
        from velocity_stream.registry.client import RegistryClient, RegistrySchemaResolver

        return RegistrySchemaResolver(RegistryClient.from_settings(settings))
    return preregistered_resolver(catalog, settings.topic_prefix)
