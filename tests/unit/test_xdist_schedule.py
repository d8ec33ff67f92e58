"""The split of the suite between pytest-xdist workers (tests/xdist_schedule.py)."""

from __future__ import annotations

from pathlib import Path

from tests.xdist_schedule import INTEGRATION, LONG, SHARED, _longest_first, unit_of

ROOT = Path(__file__).resolve().parents[2]


def test_every_named_module_and_directory_exists():
    # A renamed module left in LONG would silently go back to the end of the queue.
    for module in LONG:
        assert (ROOT / module).is_file(), f"{module} (tests/xdist_schedule.py LONG) is gone"
    for directory in SHARED:
        assert (ROOT / directory).is_dir(), f"{directory} (tests/xdist_schedule.py SHARED)"
    assert (ROOT / INTEGRATION).is_dir()


def test_a_shared_directory_is_one_unit_and_other_modules_their_own():
    review = "tests/integration/review/"
    assert unit_of(f"{review}test_browser.py::test_x") == review
    assert unit_of(f"{review}test_review_api.py::test_y[a::b]") == review
    plain = "tests/integration/gateway/test_crash.py"
    assert unit_of(f"{plain}::test_z[p]") == plain


def test_integration_and_long_units_come_first_then_by_number_of_tests():
    long_unit = next(iter(sorted(LONG)))
    units = {
        "tests/unit/a/test_many.py": dict.fromkeys(map(str, range(50)), False),
        long_unit: {"t": False},
        "tests/unit/a/test_one.py": {"t": False},
        "tests/integration/x/test_two.py": {"t": False, "u": False},
        "tests/integration/review/": dict.fromkeys(map(str, range(30)), False),
    }
    order = [scope for scope, _ in sorted(units.items(), key=_longest_first)]
    assert order == [
        "tests/integration/review/",
        "tests/integration/x/test_two.py",
        long_unit,
        "tests/unit/a/test_many.py",
        "tests/unit/a/test_one.py",
    ]
