"""A native-resolution LR expert: a small ResNet on 32 x 32 dlib-framed chips.

It reads the face at (about) the resolution it was captured at, instead of a 150 px upsampling,
and is trained to map it onto the HR expert's embedding of the same face (``configs/lr_expert.yaml``).
Layout: 3x3 stem at full input resolution, then three stages that halve the resolution (basic
residual blocks, batch norm), a spatially aware head (flatten the 4 x 4 map, dropout, linear,
batch norm) as in insightface's "F" output, 128-D like the dlib model whose space it joins.
``fuse()`` folds every batch norm into the convolution before it for fast inference.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import MODELS
from .base import FaceBackbone, no_bundled_weights

MEAN, STD = 0.5, 0.25


def _conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout))


class Block(nn.Module):
    """Basic residual block: conv-bn-relu-conv-bn (+ 1x1 projection when the shape changes), relu."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.a, self.b = _conv_bn(cin, cout, 3, stride), _conv_bn(cout, cout, 3, 1)
        self.short = _conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.b(F.relu(self.a(x))) + self.short(x))


class LRNet(FaceBackbone):
    """Stem (full resolution) + stages of ``depths`` blocks, each halving the resolution."""

    align_style = "dlib"
    embedding_dim = 128

    def __init__(self, size: int = 32, widths: tuple[int, ...] = (32, 64, 128, 256),
                 depths: tuple[int, ...] = (1, 2, 2), dropout: float = 0.2, embedding_dim: int = 128) -> None:
        super().__init__()
        self.input_size = (size, size)
        self.embedding_dim = embedding_dim
        self.stem = nn.Sequential(_conv_bn(3, widths[0]), nn.ReLU(inplace=True))
        stages, cin = [], widths[0]
        for cout, depth in zip(widths[1:], depths):
            blocks = [Block(cin, cout, 2)] + [Block(cout, cout, 1) for _ in range(depth - 1)]
            stages.append(nn.Sequential(*blocks))
            cin = cout
        self.stages = nn.ModuleList(stages)
        side = size // 2 ** len(depths)
        self.head_bn = nn.BatchNorm2d(cin)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin * side * side, embedding_dim)
        self.out_bn = nn.BatchNorm1d(embedding_dim)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @property
    def feature_names(self) -> list[str]:
        return ["stem"] + [f"stage{i + 1}" for i in range(len(self.stages))] + ["embedding"]

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.stem((x - MEAN) / STD)
        feats = {"stem": x}
        for i, stage in enumerate(self.stages):
            x = stage(x)
            feats[f"stage{i + 1}"] = x
        x = self.dropout(self.head_bn(x).flatten(1))
        feats["embedding"] = self.out_bn(self.fc(x))
        return feats

    @torch.no_grad()
    def fuse(self) -> "LRNet":
        """Fold each conv's batch norm into the conv (inference only; call after ``eval()``)."""
        for m in self.modules():
            if isinstance(m, nn.Sequential) and len(m) >= 2 and isinstance(m[0], nn.Conv2d) \
                    and isinstance(m[1], nn.BatchNorm2d):
                conv, bn = m[0], m[1]
                scale = bn.weight / (bn.running_var + bn.eps).sqrt()  # type: ignore[operator,union-attr]
                fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,  # type: ignore[arg-type]
                                  conv.padding, bias=True).to(conv.weight)  # type: ignore[arg-type]
                fused.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
                fused.bias.copy_(bn.bias - bn.running_mean * scale)  # type: ignore[operator,union-attr]
                m[0], m[1] = fused, nn.Identity()
        return self


@MODELS.register("lrnet32")
def lrnet32(pretrained: bool = False) -> LRNet:
    """Native-resolution LR expert, 32 x 32 dlib-framed input, 128-D (train: configs/lr_expert.yaml)"""
    no_bundled_weights("lrnet32", pretrained)
    return LRNet(32)
