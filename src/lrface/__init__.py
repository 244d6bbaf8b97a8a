"""lrface: face recognition across resolutions.

The public facade (``lrface.api``): ``load``, ``verify``, ``embed``, ``detect``, ``create_gallery``,
``open_gallery``, ``add_to_gallery``, ``identify``, ``scan``, ``evaluate``; each returns a typed result
with ``to_dict()`` / ``to_json()``. Names load on first use (PEP 562), so ``import lrface`` and
``lrface --help`` do not import torch."""
from __future__ import annotations

from typing import Any

from .defaults import DEFAULT_MODEL
from .errors import LrfaceError

__version__ = "0.1.0"
_API = ("load", "verify", "embed", "detect", "create_gallery", "open_gallery", "add_to_gallery", "identify", "scan",
        "evaluate", "Identification", "Skipped")
_LAZY = {**{name: "api" for name in _API}, "Recognizer": "recognize.recognizer", "create_model": "models",
         "list_models": "models", "load_recognizer": "recognize.routing"}
__all__ = ["DEFAULT_MODEL", "LrfaceError", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'lrface' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
