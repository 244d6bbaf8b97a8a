"""Inception-ResNet-v1 (FaceNet; Szegedy et al. 2017), CS-MHL-Net's backbone (Sun et al.):
112 x 96 input with the stem max-pool stride set to 1, 512-D output."""
from __future__ import annotations

import torch
from torch import nn

from ..registry import MODELS
from .base import FaceBackbone, no_bundled_weights


def conv_bn(cin: int, cout: int, k: int | tuple[int, int], s: int = 1, p: int | tuple[int, int] = 0) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, p, bias=False), nn.BatchNorm2d(cout, eps=1e-3), nn.ReLU())


class _Residual(nn.Module):
    """Parallel branches, concatenated, projected by a 1x1 conv, scaled and added: relu(x + s*f(x))."""

    def __init__(self, branches: list[nn.Module], cat: int, c: int, scale: float, relu: bool = True) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.proj = nn.Conv2d(cat, c, 1)
        self.scale, self.relu = scale, relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x + self.scale * self.proj(torch.cat([b(x) for b in self.branches], 1))
        return torch.relu(out) if self.relu else out


def block35(scale: float = 0.17) -> _Residual:
    return _Residual([conv_bn(256, 32, 1), nn.Sequential(conv_bn(256, 32, 1), conv_bn(32, 32, 3, p=1)),
                      nn.Sequential(conv_bn(256, 32, 1), conv_bn(32, 32, 3, p=1), conv_bn(32, 32, 3, p=1))], 96, 256, scale)


def block17(scale: float = 0.10) -> _Residual:
    return _Residual([conv_bn(896, 128, 1), nn.Sequential(conv_bn(896, 128, 1), conv_bn(128, 128, (1, 7), p=(0, 3)),
                                                          conv_bn(128, 128, (7, 1), p=(3, 0)))], 256, 896, scale)


def block8(scale: float = 0.20, relu: bool = True) -> _Residual:
    return _Residual([conv_bn(1792, 192, 1), nn.Sequential(conv_bn(1792, 192, 1), conv_bn(192, 192, (1, 3), p=(0, 1)),
                                                           conv_bn(192, 192, (3, 1), p=(1, 0)))], 384, 1792, scale, relu)


class _Concat(nn.Module):
    def __init__(self, branches: list[nn.Module]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], 1)


class InceptionResNetV1(FaceBackbone):
    """Inception-ResNet-v1; ``forward_features``: stem, block35, block17, block8, embedding."""

    input_size = (112, 96)
    align_style = "arcface"
    embedding_dim = 512

    def __init__(self, dim: int = 512, dropout: float = 0.4, stem_pool_stride: int = 1) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 32, 3, 2), conv_bn(32, 32, 3), conv_bn(32, 64, 3, p=1),
                                  nn.MaxPool2d(3, stem_pool_stride), conv_bn(64, 80, 1), conv_bn(80, 192, 3),
                                  conv_bn(192, 256, 3, 2))
        self.repeat1 = nn.Sequential(*[block35() for _ in range(5)])
        self.reduce_a = _Concat([conv_bn(256, 384, 3, 2),
                                 nn.Sequential(conv_bn(256, 192, 1), conv_bn(192, 192, 3, p=1), conv_bn(192, 256, 3, 2)),
                                 nn.MaxPool2d(3, 2)])
        self.repeat2 = nn.Sequential(*[block17() for _ in range(10)])
        self.reduce_b = _Concat([nn.Sequential(conv_bn(896, 256, 1), conv_bn(256, 384, 3, 2)),
                                 nn.Sequential(conv_bn(896, 256, 1), conv_bn(256, 256, 3, 2)),
                                 nn.Sequential(conv_bn(896, 256, 1), conv_bn(256, 256, 3, p=1), conv_bn(256, 256, 3, 2)),
                                 nn.MaxPool2d(3, 2)])
        self.repeat3 = nn.Sequential(*[block8() for _ in range(5)], block8(1.0, relu=False))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(1792, dim, bias=False), nn.BatchNorm1d(dim, eps=1e-3))
        self.embedding_dim = dim

    @property
    def feature_names(self) -> list[str]:
        return ["stem", "block35", "block17", "block8", "embedding"]

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.stem((x - 0.5) / 0.5)
        feats = {"stem": x}
        x = self.repeat1(x)
        feats["block35"] = x
        x = self.repeat2(self.reduce_a(x))
        feats["block17"] = x
        x = self.repeat3(self.reduce_b(x))
        feats["block8"] = x
        feats["embedding"] = self.head(x)
        return feats


@MODELS.register("inception_resnet_v1")
def inception_resnet_v1(pretrained: bool = False) -> InceptionResNetV1:
    """Inception-ResNet-v1 (CS-MHL-Net's backbone, 112x96, 512-D), randomly initialised"""
    no_bundled_weights("inception_resnet_v1", pretrained)
    return InceptionResNetV1()
