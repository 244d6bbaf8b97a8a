"""The backbone contract every registered face model follows."""
from __future__ import annotations

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
