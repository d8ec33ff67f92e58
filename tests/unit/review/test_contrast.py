"""WCAG AA contrast (4.5:1 for text) of the stylesheet's text colours on the backgrounds they
are used on, read from review.css itself so a colour change that breaks AA fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (
    Path(__file__).resolve().parents[3] / "velocity_stream" / "review" / "static" / "review.css"
).read_text()
VARIABLES = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6});", CSS))

# (text, background): variables by name, other colours as they appear in the stylesheet
PAIRS = [
    ("muted", "bg"),
    ("muted", "card"),
    ("muted", "#f0f1f4"),  # muted text inside code and chips
    ("muted", "#f8f9fb"),  # table headers
    ("ink", "bg"),
    ("accent", "accent-soft"),
    ("accent", "card"),
    ("ok", "ok-soft"),
    ("bad", "bad-soft"),
    ("warn", "warn-soft"),
    ("warn", "card"),  # a conflicting current value
    ("#cfd4e2", "#151a28"),  # navigation on the top bar
    ("#a5acc0", "#151a28"),
    ("#ffffff", "accent"),  # primary buttons, counts
    ("#ffffff", "ok"),  # Approve
    ("#1d4ed8", "#e7f0fe"),
    ("#7e22ce", "#f3e8ff"),
    ("#394152", "#eef0f3"),
]


def colour(name: str) -> str:
    return name if name.startswith("#") else VARIABLES[name]


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_formula_matches_known_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_text_meets_wcag_aa(text: str, background: str):
    ratio = contrast(colour(text), colour(background))
    assert ratio >= 4.5, f"{text} on {background}: {ratio:.2f}:1"
