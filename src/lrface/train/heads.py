"""Classifier heads on L2-normalised weights and features (a "shared classifier" is one head
applied to every branch's features). ``forward(embeddings, labels) -> loss``."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Registry

HEADS: Registry[nn.Module] = Registry("head")


class MarginHead(nn.Module):
    """Normalised-softmax head: logits s*cos(theta_j), with a margin on the target class.

    ``kind="cosface"`` (CosFace / AM-Softmax, Lai & Lam eq. 1-2, Sun eq. 2): s*(cos(theta_y) - m);
    ``kind="arcface"``: s*cos(theta_y + m); ``kind="normface"``: no margin.
    """

    def __init__(self, embedding_dim: int, num_classes: int, s: float = 30.0, m: float = 0.35,
                 kind: str = "cosface") -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, embedding_dim))
        nn.init.normal_(self.weight, std=0.01)
        self.s, self.m, self.kind = s, m, kind

    def logits(self, embeddings: torch.Tensor) -> torch.Tensor:
        return F.linear(F.normalize(embeddings, dim=1), F.normalize(self.weight, dim=1))

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = self.logits(embeddings).float()
        onehot = F.one_hot(labels, cos.shape[1]).bool()
        if self.kind == "cosface":
            target = cos - self.m
        elif self.kind == "arcface":
            theta = torch.acos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
            target = torch.where(theta + self.m < math.pi, torch.cos(theta + self.m), cos - self.m * math.sin(self.m))
        else:
            target = cos
        return F.cross_entropy(self.s * torch.where(onehot, target, cos), labels)

    @torch.no_grad()
    def init_from_centers(self, centers: torch.Tensor) -> None:
        """Start class weights at the (normalised) mean embedding of each class."""
        self.weight.copy_(F.normalize(centers, dim=1))


class SoftmaxHead(nn.Module):
    """Plain softmax classifier (linear layer with bias) and cross-entropy."""

    def __init__(self, embedding_dim: int, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(embedding_dim, num_classes)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.fc(embeddings).float(), labels)

    @torch.no_grad()
    def init_from_centers(self, centers: torch.Tensor) -> None:
        self.fc.weight.copy_(F.normalize(centers, dim=1) * 10.0)
        self.fc.bias.zero_()


@HEADS.register("cosface")
def cosface(embedding_dim: int, num_classes: int, s: float = 30.0, m: float = 0.35) -> MarginHead:
    """CosFace / AM-Softmax: s*(cos - m) on the target class"""
    return MarginHead(embedding_dim, num_classes, s, m, "cosface")


HEADS.register("am_softmax")(cosface)


@HEADS.register("arcface")
def arcface(embedding_dim: int, num_classes: int, s: float = 64.0, m: float = 0.5) -> MarginHead:
    """ArcFace: s*cos(theta + m) on the target class"""
    return MarginHead(embedding_dim, num_classes, s, m, "arcface")


@HEADS.register("softmax")
def softmax(embedding_dim: int, num_classes: int) -> SoftmaxHead:
    """Plain softmax (linear + cross-entropy)"""
    return SoftmaxHead(embedding_dim, num_classes)
