"""Registered face backbones: ``create_model(name, pretrained=True)``, ``list_models()``."""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors

from ..errors import LrfaceError
from ..registry import MODELS
from .base import FaceBackbone
from .dlib_resnet import DlibResNet, load_dlib_state_dict
from . import inception_resnet, iresnet, lrnet, shipped, sphereface  # noqa: F401  (registers backbones)


@MODELS.register("dlib_resnet")
def dlib_resnet(pretrained: bool = True) -> DlibResNet:
    """dlib ResNet-29 (128-D, 150 px dlib chip), pretrained weights converted from face_recognition_models."""
    model = DlibResNet()
    if pretrained:
        model.load_state_dict(load_dlib_state_dict())
    return model


def create_model(name: str, pretrained: bool = True, weights: str | Path | None = None) -> FaceBackbone:
    """Build a registered backbone; ``weights`` (a safetensors file) overrides its pretrained weights."""
    ensure_registered()
    model = MODELS.create(name, pretrained=pretrained and weights is None)
    if weights is not None:
        try:
            sd = load_safetensors(Path(weights).read_bytes())
        except Exception as e:  # safetensors raises several types for bad files
            raise LrfaceError(f"cannot load weights {weights}: {str(e).splitlines()[0] if str(e) else e!r}") from None
        load_weights(model, sd, str(weights), name)
    return model.eval()


def load_weights(model: torch.nn.Module, sd: dict[str, torch.Tensor], source: str, name: str) -> None:
    """Load a state dict that must fit ``model`` exactly and hold only finite numbers (one-line errors)."""
    bad = [k for k, v in sd.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise LrfaceError(f"weights {source} hold NaN or infinite values (e.g. {bad[0]})")
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    wrong = [f"{k} {tuple(sd[k].shape)} vs {tuple(v.shape)}" for k, v in own.items() if k in sd and sd[k].shape != v.shape]
    if missing or unexpected or wrong:
        raise LrfaceError(f"weights {source} do not fit {name}: missing {missing[:3]}, unexpected {unexpected[:3]}, "
                          f"wrong shapes {wrong[:2]}")
    model.load_state_dict(sd)


from .published import register_published  # noqa: E402

_published_done = False


def ensure_registered() -> None:
    """Register the models of weights/manifest.json (once, on first use: a broken manifest costs a
    warning and its own models, never the import of lrface)."""
    global _published_done
    if not _published_done:
        _published_done = True
        register_published()


def list_models() -> list[str]:
    ensure_registered()
    return MODELS.names()


__all__ = ["FaceBackbone", "create_model", "ensure_registered", "list_models", "DlibResNet"]
