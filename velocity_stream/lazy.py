"""Package exports loaded on first use, so importing a package costs only what is used.

A package lists ``name -> defining module`` and sets ``__getattr__ = lazy_exports(__name__,
EXPORTS)``; the first access imports the module and keeps the value in the package.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """The module-level ``__getattr__`` of ``package`` serving ``exports``."""

    def __getattr__(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
