"""The schema browser: the catalog's families, a diff between two versions, the
compatibility verdict under the family's mode, and the reader mapping across majors."""

from __future__ import annotations

from tests.unit.review.test_pages import log_in
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.review.schemas import major_mappings, verdict, version_diff


def test_a_minor_diff_names_the_added_field(catalog: Catalog):
    family = catalog.family("InteractionBundle")
    diff = version_diff(family, family.version("1.0.0"), family.version("1.1.0"))
    changes = {d.name: d.change for d in diff.fields}
    assert changes["thread_ref"] == "added"
    assert any(line.startswith("+") and "thread_ref" in line for line in diff.text)


def test_the_verdict_checks_the_earlier_versions_of_the_same_major(catalog: Catalog):
    family = catalog.family("InteractionBundle")
    minor = verdict(family, family.version("1.1.0"))
    assert (minor.compatible, minor.checked_against, minor.mode) == (
        True,
        ("1.0.0",),
        "BACKWARD_TRANSITIVE",
    )
    manifest = catalog.family("ImportMappingManifest")
    assert verdict(manifest, manifest.version("2.0.0")).checked_against == ()


def test_an_incompatible_version_is_shown_so(catalog: Catalog):
    import dataclasses

    family = catalog.family("InteractionBundle")
    old, new = family.version("1.0.0"), family.version("1.1.0")
    schema = dict(new.schema)
    schema["fields"] = [
        {"name": "must_have", "type": "string"},  # no default: new readers cannot read old data
        *schema["fields"],
    ]
    broken = dataclasses.replace(family, versions=(old, dataclasses.replace(new, schema=schema)))
    found = verdict(broken, broken.version("1.1.0"))
    assert not found.compatible
    assert any("must_have" in problem for problem in found.problems)


def test_the_reader_mapping_across_majors_is_named(catalog: Catalog):
    [mapping] = major_mappings(catalog.family("ImportMappingManifest"))
    assert (mapping.from_major, mapping.to_major) == (1, 2)
    assert mapping.function == "_import_mapping_manifest_1_to_2"
    assert major_mappings(catalog.family("InteractionBundle")) == []


def test_the_schema_pages(client):
    log_in(client)
    listing = client.get("/schemas").text
    assert 'href="/schemas/ImportMappingManifest"' in listing
    assert "FULL_TRANSITIVE" in listing
    page = client.get("/schemas/InteractionBundle?before=1.0.0&after=1.1.0")
    assert page.status_code == 200
    assert "thread_ref" in page.text and "compatible" in page.text
    assert client.get("/schemas/NoSuchFamily").status_code == 404
    assert client.get("/schemas/InteractionBundle?after=9.9.9").status_code == 404
