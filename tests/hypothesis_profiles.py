"""Hypothesis profiles of the suite: ``ci`` by default, ``thorough`` for deep local runs.

``HYPOTHESIS_PROFILE=thorough pytest tests/unit/serde`` runs every property test with ten times
its examples; the CI run (and a bare ``pytest``) uses ``ci``. A property test states its budget
under ``ci`` with ``examples(n)``; any other profile multiplies it by the profile's factor.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE_VARIABLE = "HYPOTHESIS_PROFILE"
CI = "ci"
THOROUGH = "thorough"
# ``examples(n)`` is n under ``ci`` and n times this under ``thorough``.
FACTORS = {CI: 1, THOROUGH: 10}
# What a property test without its own budget runs under ``ci`` (Hypothesis' own default).
CI_EXAMPLES = 100


def register() -> None:
    """Register both profiles and load the one ``HYPOTHESIS_PROFILE`` names (``ci`` if unset)."""
    # Timings on a shared 2-core CI machine are noise: no deadline, no too-slow health check.
    # The blob lets a CI failure be replayed locally with @reproduce_failure.
    common = {
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow],
        "print_blob": True,
    }
    settings.register_profile(CI, max_examples=CI_EXAMPLES, **common)
    settings.register_profile(THOROUGH, max_examples=CI_EXAMPLES * FACTORS[THOROUGH], **common)
    name = profile()
    settings.load_profile(name)


def profile() -> str:
    """The profile ``HYPOTHESIS_PROFILE`` names; an unknown name is an error, not a default."""
    name = os.environ.get(PROFILE_VARIABLE, "").strip() or CI
    if name not in FACTORS:
        known = ", ".join(sorted(FACTORS))
        raise ValueError(f"{PROFILE_VARIABLE}={name!r} is not a profile of tests/ ({known})")
    return name


def examples(ci: int) -> int:
    """The ``max_examples`` of a property test whose budget under ``ci`` is ``ci``."""
    return ci * FACTORS[profile()]
