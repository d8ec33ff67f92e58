"""The templates and the stylesheet ship in the wheel (the container image installs a wheel:
without them `velocity-stream serve` cannot render a page)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
REVIEW = ROOT / "velocity_stream" / "review"


def test_every_template_and_static_file_is_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = config["tool"]["setuptools"].get("package-data", {})
    patterns = [*package_data.get("velocity_stream.review", []), *package_data.get("*", [])]
    # Data folders only: a subpackage (pages/) ships as code.
    files = [
        p.relative_to(REVIEW).as_posix()
        for p in REVIEW.glob("*/*")
        if p.is_file() and not (p.parent / "__init__.py").exists()
    ]
    assert files, "no templates found"
    missing = [f for f in files if not any(fnmatch.fnmatch(f, pattern) for pattern in patterns)]
    assert missing == [], (
        'add to pyproject.toml [tool.setuptools.package-data]: "velocity_stream.review" = '
        '["templates/*.html", "static/*.css"]'
    )
