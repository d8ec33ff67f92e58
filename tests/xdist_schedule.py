"""How the suite is split between pytest-xdist workers (``pytest -n 2 --dist loadfile``).

As xdist's ``loadfile``, each test module is one unit of work, run whole by one worker in its
own order, so a module-scoped fixture (a gateway worker, a browser) starts once. Besides:

- a directory whose modules share a costly session-scoped fixture is one unit:
  ``tests/integration/review`` shares one dev stack (gateway, consumers, review app), and its
  modules decide on different proposals of the same demo;
- units are handed out longest first, so no long one is left for the end: integration units
  (brokers, worker processes, a browser) and the unit modules of ``LONG`` (tens of seconds of
  property tests or subprocesses each) before the other unit modules, each by number of
  tests. A unit module that comes to take tens of seconds belongs in ``LONG``: left to the
  end, it keeps one worker busy while the other has nothing left to do.

Every worker has its own session, so its own embedded broker; the names tests make (topic
prefixes, groups, table prefixes, PostgreSQL schemas, ports) are unique per test, so two
workers never meet.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadFileScheduling
from xdist.workermanage import WorkerController

# Directories whose tests go to one worker together.
SHARED = ("tests/integration/review/",)
INTEGRATION = "tests/integration/"
# Unit modules of tens of seconds (a run's --durations shows them).
LONG = frozenset(
    {
        "tests/unit/consumers/test_rebuild_order.py",
        "tests/unit/consumers/test_governance.py",
        "tests/unit/serde/test_compiled_reader.py",
        "tests/unit/serde/test_compiled_writer.py",
        "tests/unit/serde/test_read_resolution.py",
        "tests/unit/gateway/test_fuzz.py",
        "tests/unit/cli/test_unreachable_services.py",
        "tests/unit/cli/test_paths_and_catalog.py",
    }
)


class ModuleScheduling(LoadFileScheduling):
    """``loadfile`` with the shared directories as one unit and the longest units first."""

    def __init__(self, config: pytest.Config, log: Producer | None = None) -> None:
        super().__init__(config, log)
        self._ordered = False

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)

    def _assign_work_unit(self, node: WorkerController) -> None:
        if not self._ordered:  # the first assignment: the queue is complete now
            self._ordered = True
            self.workqueue = OrderedDict(sorted(self.workqueue.items(), key=_longest_first))
        super()._assign_work_unit(node)


def unit_of(nodeid: str) -> str:
    """The work unit of a test: its shared directory, else its module."""
    path = nodeid.split("::", 1)[0]
    for directory in SHARED:
        if path.startswith(directory):
            return directory
    return path


def _longest_first(unit: tuple[str, dict[str, bool]]) -> tuple[bool, int]:
    scope, tests = unit
    return (not (scope.startswith(INTEGRATION) or scope in LONG), -len(tests))


def make_scheduler(config: pytest.Config, log: Producer) -> ModuleScheduling | None:
    """Our scheduler for ``--dist loadfile``; xdist's own for any other mode."""
    if config.getvalue("dist") != "loadfile":
        return None
    return ModuleScheduling(config, log)
