"""ArcFace-style IResNet (insightface ``arcface_torch``), 112 x 112 input, 512-D output.

Blocks: BN - conv3x3 - BN - PReLU - conv3x3(stride) - BN, plus a 1x1 projection shortcut when
the shape changes; head: BN - dropout - FC(512*7*7 -> 512) - BN1d.
"""
from __future__ import annotations

import torch
from torch import nn

from ..registry import MODELS
from .base import FaceBackbone, no_bundled_weights

LAYERS = {"iresnet18": (2, 2, 2, 2), "iresnet34": (3, 4, 6, 3), "iresnet50": (3, 4, 14, 3), "iresnet100": (3, 13, 30, 3)}


class IBasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin, eps=1e-5), nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout, eps=1e-5),
            nn.PReLU(cout), nn.Conv2d(cout, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout, eps=1e-5))
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout, eps=1e-5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + (self.down(x) if self.down is not None else x)


class IResNet(FaceBackbone):
    """IResNet; ``forward_features``: stem, stage1..stage4, embedding."""

    input_size = (112, 112)
    align_style = "arcface"
    embedding_dim = 512

    def __init__(self, layers: tuple[int, ...], dropout: float = 0.0, dim: int = 512) -> None:
        super().__init__()
        self.embedding_dim = dim
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64, eps=1e-5), nn.PReLU(64))
        stages, cin = [], 64
        for n, cout in zip(layers, (64, 128, 256, 512)):
            blocks = [IBasicBlock(cin, cout, 2)] + [IBasicBlock(cout, cout, 1) for _ in range(n - 1)]
            stages.append(nn.Sequential(*blocks))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.head = nn.Sequential(nn.BatchNorm2d(512, eps=1e-5), nn.Dropout(dropout), nn.Flatten(),
                                  nn.Linear(512 * 7 * 7, dim), nn.BatchNorm1d(dim, eps=1e-5))

    @property
    def feature_names(self) -> list[str]:
        return ["stem", "stage1", "stage2", "stage3", "stage4", "embedding"]

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.stem((x - 0.5) / 0.5)
        feats = {"stem": x}
        for i, stage in enumerate(self.stages):
            x = stage(x)
            feats[f"stage{i + 1}"] = x
        feats["embedding"] = self.head(x)
        return feats


def _make(name: str):
    def factory(pretrained: bool = False) -> IResNet:
        no_bundled_weights(name, pretrained)
        return IResNet(LAYERS[name])

    factory.__doc__ = f"ArcFace {name} (112x112, 512-D), randomly initialised"
    return factory


for _name in LAYERS:
    MODELS.register(_name)(_make(_name))
