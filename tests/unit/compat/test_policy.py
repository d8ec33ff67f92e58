"""The versioning policy: compatibility within a major, reader mappings for breaking majors,
immutability of released schemas against a ref, invalid schemas and model drift."""

from __future__ import annotations

from pathlib import Path

from velocity_stream.compat.issues import IncompatibilityCode
from velocity_stream.compat.modes import CompatibilityMode, Direction
from velocity_stream.compat.policy import ViolationKind, check_policy
from velocity_stream.compat.releases import FamilyReleases, released
from velocity_stream.contracts.catalog import Version

Kind = ViolationKind
Mode = CompatibilityMode


def schema(*fields, name="Thing"):
    return {"type": "record", "name": name, "namespace": "t", "fields": list(fields)}


def f(name, type_="string", **extra):
    return {"name": name, "type": type_, **extra}


def family(versions, mode=Mode.BACKWARD_TRANSITIVE, name="Thing"):
    return FamilyReleases(
        name,
        name.lower(),
        mode,
        tuple(
            released(name, Version.parse(v), Path(f"schemas/{name.lower()}/{v}.avsc"), s)
            for v, s in sorted(versions.items(), key=lambda item: Version.parse(item[0]))
        ),
    )


def no_mappings(family_name, from_major):
    return None


def check(*families, mappings=no_mappings, **kwargs):
    return check_policy(list(families), mappings, **kwargs)


V1 = schema(f("id"))
V1_1 = schema(f("id"), f("note", ["null", "string"], default=None))


def test_additive_minor_version_holds():
    report = check(family({"1.0.0": V1, "1.1.0": V1_1}))
    assert report.ok
    assert report.pairs_checked == 1
    assert (report.families, report.versions) == (1, 2)


def test_minor_version_with_required_new_field_is_a_violation_naming_everything():
    bad = schema(f("id"), f("owner"))
    [violation] = check(family({"1.0.0": V1, "1.1.0": bad})).violations
    assert violation.kind is Kind.INCOMPATIBLE_VERSION
    assert violation.code is IncompatibilityCode.READER_FIELD_MISSING_DEFAULT_VALUE
    assert (violation.family, violation.version, violation.against) == ("Thing", "1.1.0", "1.0.0")
    assert violation.location == "/fields/1"
    assert violation.field_path == ("owner",)
    assert violation.file == Path("schemas/thing/1.1.0.avsc")
    assert "Thing 1.1.0 cannot read data written with 1.0.0" in violation.message
    assert "/fields/1 (field `owner`)" in violation.message
    assert violation.hint == "give field `owner` a default"


def test_every_version_is_checked_against_all_earlier_ones_of_its_major():
    # 1.2.0 reads 1.1.0 data (note exists there) but not 1.0.0 data, even in plain BACKWARD.
    v1_2 = schema(f("id"), f("note", ["null", "string"]))
    report = check(family({"1.0.0": V1, "1.1.0": V1_1, "1.2.0": v1_2}, mode=Mode.BACKWARD))
    assert [(v.version, v.against) for v in report.violations] == [("1.2.0", "1.0.0")]


def test_forward_mode_means_released_readers_read_new_data():
    dropped = schema(f("note", ["null", "string"], default=None))
    [violation] = check(family({"1.0.0": V1, "1.1.0": dropped}, mode=Mode.FORWARD)).violations
    assert violation.direction is Direction.OLD_READS_NEW
    assert violation.location_version == "1.0.0"
    assert violation.hint == (
        "keep writing field `id` in 1.1.0: 1.0.0 readers require it (it has no default there)"
    )


def test_full_mode_reports_both_directions():
    swapped = schema(f("other"))
    report = check(family({"1.0.0": V1, "1.1.0": swapped}, mode=Mode.FULL_TRANSITIVE))
    assert {v.direction for v in report.violations} == {
        Direction.NEW_READS_OLD,
        Direction.OLD_READS_NEW,
    }


def test_none_mode_checks_nothing_within_a_major():
    assert check(family({"1.0.0": V1, "1.1.0": schema(f("id", "int"))}, mode=Mode.NONE)).ok


V2 = schema(f("id"), f("owner"))  # breaks 1.x: new readers need `owner`


def test_breaking_major_without_reader_mapping_is_a_violation():
    [violation] = check(family({"1.0.0": V1, "2.0.0": V2})).violations
    assert violation.kind is Kind.BREAKING_MAJOR_WITHOUT_MAPPING
    assert (violation.version, violation.against) == ("2.0.0", "1.0.0")
    assert "no reader mapping is registered for major 1 -> 2" in violation.message
    assert violation.hint.startswith('register one with @register_upgrade("Thing", 1)')


def test_breaking_major_with_a_registered_mapping_holds():
    def mappings(family_name, from_major):
        return object() if (family_name, from_major) == ("Thing", 1) else None

    assert check(family({"1.0.0": V1, "2.0.0": V2}), mappings=mappings).ok


def test_registered_mapping_is_probed_and_a_failing_one_is_a_violation():
    calls = []

    def probe(family_name, from_major, to_major):
        calls.append((family_name, from_major, to_major))
        return "KeyError: 'owner'"

    report = check(family({"1.0.0": V1, "2.0.0": V2}), mappings=lambda *_: 1, probe_mapping=probe)
    [violation] = report.violations
    assert calls == [("Thing", 1, 2)]
    assert violation.kind is Kind.READER_MAPPING_FAILS
    assert "fails on a sample artifact: KeyError: 'owner'" in violation.message


def test_compatible_new_major_needs_no_mapping():
    assert check(family({"1.0.0": V1, "2.0.0": V1_1})).ok


def test_skipped_major_needs_a_mapping_for_every_step():
    def only_first(family_name, from_major):
        return object() if from_major == 1 else None

    [violation] = check(family({"1.0.0": V1, "3.0.0": V2}), mappings=only_first).violations
    assert "major 2 -> 3" in violation.message


def test_majors_are_checked_independently_within():
    v2_1 = schema(f("id"), f("owner"), f("extra", "int"))
    report = check(family({"1.0.0": V1, "2.0.0": V2, "2.1.0": v2_1}), mappings=lambda *_: 1)
    [violation] = report.violations
    assert (violation.version, violation.against) == ("2.1.0", "2.0.0")


def test_invalid_schema_is_reported_not_raised():
    broken = {"type": "record", "name": "Thing", "fields": [{"name": "a", "type": "Nope"}]}
    [violation] = check(family({"1.0.0": V1, "1.1.0": broken})).violations
    assert violation.kind is Kind.INVALID_SCHEMA
    assert "unknown type 'Nope'" in violation.message


def test_drift_problems_become_violations():
    def drift(fam):
        return [(fam.versions[-1], "Thing vs Thing 1.1.0: note: missing from the model")]

    [violation] = check(family({"1.0.0": V1, "1.1.0": V1_1}), drift=drift).violations
    assert violation.kind is Kind.MODEL_DRIFT
    assert violation.version == "1.1.0"


# --- against what a git ref released ------------------------------------------------------


def test_unchanged_release_against_ref_holds():
    at_ref = family({"1.0.0": V1})
    assert check(family({"1.0.0": V1, "1.1.0": V1_1}), released_at_ref=[at_ref], ref="main").ok


def test_released_version_edited_in_place_is_a_violation():
    edited = schema(f("id", "long"))
    report = check(family({"1.0.0": edited}), released_at_ref=[family({"1.0.0": V1})], ref="main")
    [violation] = report.violations
    assert violation.kind is Kind.RELEASED_SCHEMA_EDITED
    assert "released at main and has been edited in place" in violation.message
    assert "(first difference at /fields/0/type)" in violation.message
    assert report.against_ref == "main"


def test_released_version_deleted_is_a_violation():
    report = check(family({"1.1.0": V1_1}), released_at_ref=[family({"1.0.0": V1})], ref="main")
    kinds = [v.kind for v in report.violations]
    assert kinds == [Kind.RELEASED_SCHEMA_DELETED]


def test_removed_family_counts_as_deleted_releases():
    gone = family({"1.0.0": schema(f("x"), name="Gone")}, name="Gone")
    report = check(family({"1.0.0": V1}), released_at_ref=[gone], ref="main")
    [violation] = report.violations
    assert (violation.kind, violation.family) == (Kind.RELEASED_SCHEMA_DELETED, "Gone")


def test_new_version_is_checked_against_what_the_ref_released_not_local_edits():
    # Someone edits 1.0.0 in place to add `owner`, then releases 1.1.0 requiring it: locally
    # consistent, but data written with the real 1.0.0 has no `owner`.
    with_owner = schema(f("id"), f("owner"))
    current = family({"1.0.0": with_owner, "1.1.0": with_owner})
    report = check(current, released_at_ref=[family({"1.0.0": V1})], ref="main")
    kinds = sorted(v.kind for v in report.violations)
    assert kinds == [Kind.INCOMPATIBLE_VERSION, Kind.RELEASED_SCHEMA_EDITED]
    [incompatible] = [v for v in report.violations if v.kind is Kind.INCOMPATIBLE_VERSION]
    assert (incompatible.version, incompatible.against) == ("1.1.0", "1.0.0")
