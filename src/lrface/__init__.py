"""lrface: face recognition across resolutions.

The top-level names load on first use (PEP 562), so ``import lrface`` and ``lrface --help`` do not
import torch."""
from __future__ import annotations

from typing import Any

from .defaults import DEFAULT_MODEL
from .errors import LrfaceError

__version__ = "0.1.0"
__all__ = ["DEFAULT_MODEL", "LrfaceError", "Recognizer", "create_model", "list_models", "load_recognizer",
           "__version__"]
_LAZY = {"Recognizer": "recognizer", "create_model": "models", "list_models": "models", "load_recognizer": "routed"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'lrface' has no attribute {name!r}")
