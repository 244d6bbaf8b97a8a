"""The backbone contract every registered face model follows."""
from __future__ import annotations

import hashlib

import torch
from torch import nn

from ..errors import LrfaceError


def no_bundled_weights(name: str, pretrained: bool) -> None:
    """Architectures without shipped weights refuse ``pretrained=True`` with a clear message."""
    if pretrained:
        raise LrfaceError(f"{name} has no bundled pretrained weights; pass --weights FILE.safetensors")


class FaceBackbone(nn.Module):
    """Input: RGB float in [0, 1], N x 3 x H x W at ``input_size`` (the model normalises itself).

    ``forward`` returns the raw (un-normalised) embedding; ``forward_features`` returns a dict of
    named intermediate maps ending in ``"embedding"`` (multi-hierarchy losses read it).
    ``align_style`` names the crop it expects (see ``lrface.align``).
    """

    input_size: tuple[int, int] = (112, 112)
    align_style: str = "arcface"
    embedding_dim: int = 512

    @property
    def feature_names(self) -> list[str]:
        raise NotImplementedError

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)["embedding"]


def model_digest(model: torch.nn.Module) -> str:
    """SHA-1 over the state dict's names and bytes: identifies the weights, not the file."""
    h = hashlib.sha1()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def load_weights(model: torch.nn.Module, sd: dict[str, torch.Tensor], source: str, name: str) -> None:
    """Load a state dict that must fit ``model`` exactly and hold only finite numbers (one-line errors)."""
    bad = [k for k, v in sd.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise LrfaceError(f"weights {source} hold NaN or infinite values (e.g. {bad[0]})")
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    wrong = [f"{k} {tuple(sd[k].shape)} vs {tuple(v.shape)}" for k, v in own.items() if k in sd and sd[k].shape != v.shape]
    wrong += [f"{k} {sd[k].dtype} vs {v.dtype}" for k, v in own.items()
              if k in sd and sd[k].shape == v.shape and sd[k].dtype != v.dtype]
    if missing or unexpected or wrong:
        raise LrfaceError(f"weights {source} do not fit {name}: missing {missing[:3]}, unexpected {unexpected[:3]}, "
                          f"wrong shapes or types {wrong[:2]}")
    model.load_state_dict(sd)
