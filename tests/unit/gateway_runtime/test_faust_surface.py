"""faust_app.py's use of faust, mode and aiokafka internals still matches the installed versions.

One test per entry of ``FAUST_INTERNALS``: what faust_app.py overrides, calls, reads or passes
is still there, with the parameters it relies on, and faust's ``_drain_messages`` is still the
version the adapter's copy mirrors. pyproject.toml pins the three packages to the range these
tests passed on; run them against a new version before widening it.

The packages are imported by name (importlib) so that faust_app.py stays the only module that
imports faust in the source.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from velocity_stream.gateway.faust_internals import FAUST_INTERNALS, FaustInternal

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"
PINNED = ("faust-streaming", "aiokafka", "mode-streaming")
KINDS = {"override", "call", "attribute", "mirror"}


def _resolve(target: str) -> tuple[Any, str]:
    """``module:Class.attribute`` -> (the class, or the module, and the attribute name)."""
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    return owner, name


def _params(function: Any) -> list[inspect.Parameter]:
    return list(inspect.signature(function).parameters.values())


def _faust_app() -> Any:
    faust = importlib.import_module("faust")
    # Nothing connects: the transport, the consumer and the tables are only built.
    return faust.App(
        "velocity-surface-test",
        broker="kafka://127.0.0.1:9",
        store="memory://",
        web_enabled=False,
    )


def _aiokafka_consumer() -> Any:
    aiokafka = importlib.import_module("aiokafka")

    async def build() -> Any:
        consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers="127.0.0.1:9")
        await consumer.stop()  # never started: only closes what __init__ opened
        return consumer

    return asyncio.run(build())


def _partition_state() -> Any:
    subscription_state = importlib.import_module("aiokafka.consumer.subscription_state")
    structs = importlib.import_module("aiokafka.structs")

    async def build() -> Any:  # its futures need a running loop
        assignment = subscription_state.Assignment([structs.TopicPartition("topic", 0)])
        return assignment.state_value(structs.TopicPartition("topic", 0))

    return asyncio.run(build())


@pytest.fixture(scope="module")
def samples() -> dict[str, Any]:
    """An instance of each class whose instance attributes FAUST_INTERNALS lists, by class."""
    app = _faust_app()
    return {
        "faust.transport.drivers.aiokafka:Consumer": app.consumer,
        "aiokafka:AIOKafkaConsumer": _aiokafka_consumer(),
        "faust.tables.manager:TableManager": app.tables,
        "faust.tables.recovery:Recovery": app.tables.recovery,
        "aiokafka.consumer.subscription_state:TopicPartitionState": _partition_state(),
    }


def test_the_inventory_is_well_formed():
    targets = [entry.target for entry in FAUST_INTERNALS]
    assert len(targets) == len(set(targets)), "an entry is listed twice"
    for entry in FAUST_INTERNALS:
        assert entry.kind in KINDS, entry
        assert entry.use, entry
        if entry.kind in {"override", "call"}:
            assert entry.params, f"{entry.target}: record the parameters faust's method takes"
        if entry.kind == "override":
            assert entry.ours, f"{entry.target}: name our override"
        if entry.kind == "mirror":
            assert entry.source_sha256, f"{entry.target}: pin the version our code mirrors"


@pytest.mark.parametrize("entry", FAUST_INTERNALS, ids=lambda e: e.target)
def test_faust_still_has_it(entry: FaustInternal, samples):
    owner, name = _resolve(entry.target)
    upgraded = f"{entry.target} ({entry.kind}: {entry.use})"
    if entry.kind == "mirror":
        assert callable(getattr(owner, name, None)), f"{upgraded} is gone: re-read faust_app.py"
    elif entry.kind in {"override", "call"}:
        method = getattr(owner, name, None)
        assert callable(method), f"{upgraded} is gone: update faust_app.py and FAUST_INTERNALS"
        names = tuple(p.name for p in _params(method))
        assert names == entry.params, (
            f"{upgraded}: faust's method now takes {names}, faust_app.py was written for "
            f"{entry.params}: re-read it, update faust_app.py and FAUST_INTERNALS"
        )
    else:
        module_name, _, path = entry.target.partition(":")
        owner_key = f"{module_name}:{path.rsplit('.', 1)[0]}"
        holder = samples.get(owner_key, owner)
        if holder is owner and not hasattr(owner, name):
            pytest.fail(f"{upgraded}: not on the class; add a sample {owner_key} to this test")
        assert hasattr(holder, name), f"{upgraded} is gone: update faust_app.py and FAUST_INTERNALS"


@pytest.mark.parametrize(
    "entry", [e for e in FAUST_INTERNALS if e.kind == "override"], ids=lambda e: e.target
)
def test_our_override_takes_what_faust_passes(entry: FaustInternal):
    owner, name = _resolve(entry.target)
    our_class, our_name = _resolve(entry.ours)
    assert our_name == name, entry
    assert issubclass(our_class, owner), f"{entry.ours} no longer subclasses {entry.target}"
    assert name in vars(our_class), f"{entry.ours} is not defined on {our_class.__qualname__}"
    theirs, ours = _params(getattr(owner, name)), _params(getattr(our_class, name))
    # faust and mode call these positionally (_schedule_shutdown's parameter is ``sig`` here),
    # so the count and kinds of the parameters are what must agree.
    assert [p.kind for p in ours] == [p.kind for p in theirs], (
        f"{entry.ours} takes {[str(p) for p in ours]}, faust passes {[str(p) for p in theirs]}"
    )
    assert inspect.iscoroutinefunction(getattr(our_class, name)) == (
        inspect.iscoroutinefunction(getattr(owner, name))
    ), f"{entry.ours} and faust's method differ in being async"


@pytest.mark.parametrize(
    "entry", [e for e in FAUST_INTERNALS if e.source_sha256], ids=lambda e: e.target
)
def test_the_copied_method_is_the_version_we_mirror(entry: FaustInternal):
    owner, name = _resolve(entry.target)
    digest = hashlib.sha256(inspect.getsource(getattr(owner, name)).encode()).hexdigest()
    assert digest == entry.source_sha256, (
        f"faust's {name} changed: re-read it and update the copy in faust_app.py "
        f"(then record source_sha256={digest!r} for {entry.target} in FAUST_INTERNALS)"
    )


def test_aiokafka_reads_the_fetch_wait_when_the_consumer_starts():
    # _FetchWaitConsumerThread replaces the attribute after __init__ and before start().
    aiokafka = importlib.import_module("aiokafka")
    start = inspect.getsource(aiokafka.AIOKafkaConsumer.start)
    assert "self._fetch_max_wait_ms" in start, (
        "aiokafka's AIOKafkaConsumer.start no longer reads _fetch_max_wait_ms: the fetch wait "
        "set by _FetchWaitConsumerThread would be ignored"
    )


def _requirements() -> dict[str, Requirement]:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    return {req.name: req for req in map(Requirement, dependencies)}


@pytest.mark.parametrize("name", PINNED)
def test_installed_version_is_inside_the_pinned_range(name: str):
    requirement = _requirements().get(name)
    assert requirement is not None, f"pyproject.toml does not pin {name}"
    assert any(spec.operator in {"<", "<=", "~=", "=="} for spec in requirement.specifier), (
        f"{requirement}: the range needs an upper bound (faust_app.py uses {name} internals)"
    )
    installed = version(name)
    assert requirement.specifier.contains(installed, prereleases=True), (
        f"{name} {installed} is installed, pyproject.toml pins {requirement.specifier}"
    )
