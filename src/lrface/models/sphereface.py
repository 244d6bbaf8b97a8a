"""SphereFace-20 (Liu et al. 2017), the 20-layer residual network of Lai & Lam: 128 x 128 input.

Four stages of a stride-2 conv3x3 + PReLU followed by 1, 2, 4, 1 residual units (two conv3x3 +
PReLU each, identity shortcut); FC to 512.
"""
from __future__ import annotations

import torch
from torch import nn

from ..registry import MODELS
from .base import FaceBackbone, no_bundled_weights


class _Unit(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.PReLU(c), nn.Conv2d(c, c, 3, 1, 1), nn.PReLU(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SphereFace20(FaceBackbone):
    """SphereFace-20; ``forward_features``: stage1..stage4, embedding."""

    input_size = (128, 128)
    align_style = "arcface"
    embedding_dim = 512

    def __init__(self, units: tuple[int, ...] = (1, 2, 4, 1), dim: int = 512) -> None:
        super().__init__()
        stages, cin = [], 3
        for n, cout in zip(units, (64, 128, 256, 512)):
            stages.append(nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1), nn.PReLU(cout), *[_Unit(cout) for _ in range(n)]))
            cin = cout
        self.stages = nn.ModuleList(stages)
        side = self.input_size[0] // 16
        self.fc = nn.Linear(512 * side * side, dim)

    @property
    def feature_names(self) -> list[str]:
        return ["stage1", "stage2", "stage3", "stage4", "embedding"]

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = (x - 0.5) / 0.5  # [-1, 1] as in Lai & Lam
        feats = {}
        for i, stage in enumerate(self.stages):
            x = stage(x)
            feats[f"stage{i + 1}"] = x
        feats["embedding"] = self.fc(x.flatten(1))
        return feats


@MODELS.register("sphereface20")
def sphereface20(pretrained: bool = False) -> SphereFace20:
    """SphereFace-20 (Lai & Lam's backbone, 128x128, 512-D), randomly initialised"""
    no_bundled_weights("sphereface20", pretrained)
    return SphereFace20()
