"""`topics apply` on a real broker: creates the catalog topics, is idempotent, finds drift."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from velocity_stream.contracts.catalog import Catalog, TopicSpec, load_catalog
from velocity_stream.kafka import topics
from velocity_stream.kafka.topics import TopicAdmin, TopicStatus
from velocity_stream.settings import Settings

pytestmark = pytest.mark.integration

_CLI = (
    "import argparse, sys\n"
    "from velocity_stream.cli import kafka_cmd\n"
    "parser = argparse.ArgumentParser()\n"
    "kafka_cmd.register(parser.add_subparsers())\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.handler(args))\n"
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(Settings().schemas_dir)


@pytest.fixture
def admin(kafka_settings: Settings, catalog: Catalog) -> Iterator[TopicAdmin]:
    admin = TopicAdmin(kafka_settings)
    yield admin
    # Tansu keeps everything in memory: give it back.
    mine = [n for n in admin.topic_names() if n.startswith(kafka_settings.topic_prefix + ".")]
    admin.delete(mine)


def test_apply_creates_every_catalog_topic_with_its_partitions_and_config(
    admin: TopicAdmin, catalog: Catalog, kafka_settings: Settings
):
    specs = catalog.topic_specs(kafka_settings.topic_prefix)
    report = topics.apply(admin, specs, 1)
    assert report.ok
    assert [o.status for o in report.outcomes] == [TopicStatus.CREATED] * len(specs)
    states = admin.describe(s.name for s in specs)
    assert set(states) == {s.name for s in specs}
    for spec in specs:
        assert states[spec.name].partitions == spec.partitions
        assert states[spec.name].configs is not None
        assert states[spec.name].configs.get("cleanup.policy") == spec.cleanup_policy
        assert states[spec.name].configs.get("retention.ms") == str(spec.retention_ms)


def test_apply_twice_changes_nothing_and_reports_everything_matched(
    admin: TopicAdmin, catalog: Catalog, kafka_settings: Settings
):
    specs = catalog.topic_specs(kafka_settings.topic_prefix)
    topics.apply(admin, specs, 1)
    before = admin.topic_names()
    again = topics.apply(admin, specs, 1)
    assert again.ok
    assert {o.status for o in again.outcomes} == {TopicStatus.MATCHED}
    assert all(o.notes == () for o in again.outcomes)
    assert admin.topic_names() == before


def test_dry_run_plans_without_creating(
    admin: TopicAdmin, catalog: Catalog, kafka_settings: Settings
):
    specs = catalog.topic_specs(kafka_settings.topic_prefix)
    report = topics.plan(admin, specs, 1)
    assert {o.status for o in report.outcomes} == {TopicStatus.MISSING}
    assert admin.describe(s.name for s in specs) == {}


def test_apply_reports_fewer_partitions_and_other_cleanup_policy_as_drift(
    admin: TopicAdmin, catalog: Catalog, kafka_settings: Settings
):
    specs = catalog.topic_specs(kafka_settings.topic_prefix)
    shrunk, recompacted = specs[0], specs[2]
    assert recompacted.cleanup_policy == "delete"
    admin.create([TopicSpec(shrunk.name, 2, shrunk.cleanup_policy, shrunk.retention_ms)], 1)
    admin.create(
        [TopicSpec(recompacted.name, recompacted.partitions, "compact", recompacted.retention_ms)],
        1,
    )
    report = topics.apply(admin, specs, 1)
    assert not report.ok
    by_name = {o.spec.name: o for o in report.outcomes}
    assert by_name[shrunk.name].status is TopicStatus.DRIFTED
    assert [(d.setting, d.expected, d.actual) for d in by_name[shrunk.name].drifts] == [
        ("partitions", str(shrunk.partitions), "2")
    ]
    assert [(d.setting, d.actual) for d in by_name[recompacted.name].drifts] == [
        ("cleanup.policy", "compact")
    ]
    # everything else was still created
    assert len(report.with_status(TopicStatus.CREATED)) == len(specs) - 2
    # existing topics are reported, never altered
    assert admin.describe([shrunk.name])[shrunk.name].partitions == 2


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["KAFKA_BOOTSTRAP_SERVERS"] = settings.kafka_bootstrap_servers or ""
    env["VELOCITY_TOPIC_PREFIX"] = settings.topic_prefix
    return subprocess.run(
        [sys.executable, "-c", _CLI, *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_cli_apply_is_idempotent_and_exits_1_on_drift(
    admin: TopicAdmin, catalog: Catalog, kafka_settings: Settings
):
    specs = catalog.topic_specs(kafka_settings.topic_prefix)
    dry = _cli(kafka_settings, "topics", "apply", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"{len(specs)} missing (dry run: nothing changed)" in dry.stdout
    assert admin.describe(s.name for s in specs) == {}

    first = _cli(kafka_settings, "topics", "apply")
    assert first.returncode == 0, first.stderr
    assert f"{len(specs)} created" in first.stdout
    second = _cli(kafka_settings, "topics", "apply")
    assert second.returncode == 0, second.stderr
    assert f"{len(specs)} matched" in second.stdout

    # A topic removed and re-created by hand with fewer partitions is drift: exit 1.
    admin.delete([specs[0].name])
    admin.create([TopicSpec(specs[0].name, 1, "delete", specs[0].retention_ms)], 1)
    drifted = _cli(kafka_settings, "topics", "apply")
    assert drifted.returncode == 1
    assert f"partitions: catalog {specs[0].partitions}, cluster 1" in drifted.stdout

    listing = _cli(kafka_settings, "topics", "list", "--format", "json")
    assert listing.returncode == 0
    assert '"status": "drifted"' in listing.stdout
