"""Building registered backbones: ``create_model(name, pretrained=True)``, ``list_models()``; importing
this module registers every architecture and (on first use) the published models."""
from __future__ import annotations

from pathlib import Path

from safetensors.torch import load as load_safetensors

from ..errors import LrfaceError
from ..registry import MODELS
from . import inception_resnet, iresnet, lrnet, shipped, sphereface  # noqa: F401  (registers backbones)
from .base import FaceBackbone, load_weights  # noqa: F401  (part of this module's API)
from .dlib_resnet import DlibResNet, load_dlib_state_dict


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


