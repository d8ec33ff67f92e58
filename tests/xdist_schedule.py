"""How the suite is split between pytest-xdist workers (``pytest -n 2 --dist loadfile``).

As xdist's ``loadfile``, each test module is one unit of work, run whole by one worker in its
own order, so a module-scoped fixture (a gateway worker, a browser) starts once. Besides:

- a directory whose modules share a costly session-scoped fixture is one unit:
  ``tests/integration/review`` shares one dev stack (gateway, consumers, review app), and its
  modules decide on different proposals of the same demo;
- units are handed out longest first, so no long one is left for the end: integration units
  (brokers, worker processes, a browser) before unit-test modules, each by number of tests.

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


class ModuleScheduling(LoadFileScheduling):
    """``loadfile`` with the shared directories as one unit and the longest units first."""

    def __init__(self, config: pytest.Config, log: Producer | None = None) -> None:
        super().__init__(config, log)
        self._ordered = False

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        for directory in SHARED:
            if path.startswith(directory):
                return directory
        return path

    def _assign_work_unit(self, node: WorkerController) -> None:
        if not self._ordered:  # the first assignment: the queue is complete now
            self._ordered = True
            self.workqueue = OrderedDict(sorted(self.workqueue.items(), key=_longest_first))
        super()._assign_work_unit(node)


def _longest_first(unit: tuple[str, dict[str, bool]]) -> tuple[bool, int]:
    scope, tests = unit
    return (not scope.startswith(INTEGRATION), -len(tests))


def make_scheduler(config: pytest.Config, log: Producer) -> ModuleScheduling | None:
    """Our scheduler for ``--dist loadfile``; xdist's own for any other mode."""
    if config.getvalue("dist") != "loadfile":
        return None
    return ModuleScheduling(config, log)
