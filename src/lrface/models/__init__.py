"""Registered face backbones: ``create_model(name, pretrained=True)``, ``list_models()``."""
from __future__ import annotations

from pathlib import Path

from safetensors.torch import load as load_safetensors

from ..errors import LrfaceError
from ..registry import MODELS
from .base import FaceBackbone
from .dlib_resnet import DlibResNet, load_dlib_state_dict
from . import inception_resnet, iresnet, lrnet, sphereface  # noqa: F401  (registers backbones)


@MODELS.register("dlib_resnet")
def dlib_resnet(pretrained: bool = True) -> DlibResNet:
    """dlib ResNet-29 (128-D, 150 px dlib chip), pretrained weights converted from face_recognition_models."""
    model = DlibResNet()
    if pretrained:
        model.load_state_dict(load_dlib_state_dict())
    return model


def create_model(name: str, pretrained: bool = True, weights: str | Path | None = None) -> FaceBackbone:
    """Build a registered backbone; ``weights`` (a safetensors file) overrides its pretrained weights."""
    model = MODELS.create(name, pretrained=pretrained and weights is None)
    if weights is not None:
        try:
            sd = load_safetensors(Path(weights).read_bytes())
        except Exception as e:  # safetensors raises several types for bad files
            raise LrfaceError(f"cannot load weights {weights}: {e}") from None
        missing, unexpected = model.load_state_dict(sd, strict=False)
        if missing or unexpected:
            raise LrfaceError(f"weights {weights} do not fit {name}: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return model.eval()


from .published import register_published  # noqa: E402

register_published()


def list_models() -> list[str]:
    return MODELS.names()


__all__ = ["FaceBackbone", "create_model", "list_models", "DlibResNet"]
