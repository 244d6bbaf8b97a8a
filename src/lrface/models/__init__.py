"""Face networks: registered backbones (``create_model``, ``list_models``: ``factory``), the shipped
wheels' networks (``shipped``), models trained here (``published``, ``manifest``), licences
(``licences``), SR and ONNX export. Names load on first use: the manifest and licences are read
without importing torch."""
from __future__ import annotations

from typing import Any

_FACTORY = ("FaceBackbone", "DlibResNet", "create_model", "ensure_registered", "list_models", "load_weights")
__all__ = list(_FACTORY)


def __getattr__(name: str) -> Any:
    if name in _FACTORY:
        from . import factory

        return getattr(factory, name)
    raise AttributeError(f"module 'lrface.models' has no attribute {name!r}")
