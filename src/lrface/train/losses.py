"""Losses for resolution-robust training, each a small module with one contract.

Every loss is a ``BranchLoss``: the training engine calls ``between(view, reference, labels)`` with
the features (a dict: ``embedding`` and, if ``needs_maps``, the named intermediate maps) of a
trained branch and of the branch it is compared with, or, for losses over all views at once
(``multi_view``), ``over(views, labels)``. Each loss reads what it needs from there, so adding a loss
touches this file only. ``forward`` keeps each paper's own form (tested against hand-computed values):

- pair losses: ``forward(x, y) -> scalar`` over matching rows of two feature batches;
- ``CrossResolutionTriplet``: ``forward(embeddings[K, N, D], labels[N])``;
- ``ContrastiveLoss``: ``forward(x, y, same[N])``;
- ``CrossViewInfoNCE``: ``forward(x, y, labels[N])``;
- ``MultiHierarchyLoss``: ``forward(feats_x: dict, feats_y: dict, same[N] | None)``.
Distances are pluggable by name (``DISTANCES``).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Registry

LOSSES: Registry[nn.Module] = Registry("loss")


def cosine_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d = 1 - x^T y on L2-normalised rows (Lai & Lam eq. 6, Knoche eq. 6), per row."""
    return 1.0 - (F.normalize(x, dim=-1) * F.normalize(y, dim=-1)).sum(-1)


def lp_distance(x: torch.Tensor, y: torch.Tensor, p: float = 1.0) -> torch.Tensor:
    """L_p = 1/(p*D) * sum_i |x_i - y_i|^p (Ling eq. 1-2 and the general form before eq. 5), per row."""
    return (x - y).abs().pow(p).sum(-1) / (p * x.shape[-1])


def logexp_distance(x: torch.Tensor, y: torch.Tensor, p: float = 1.0) -> torch.Tensor:
    """L_LogExp = 1/(p*D) * log(1 + sum_i (exp(|x_i - y_i|^p) - 1)) (Ling eq. 3 and 5), per row."""
    return torch.log1p(torch.expm1((x - y).abs().pow(p)).sum(-1)) / (p * x.shape[-1])


DISTANCES: dict[str, Callable[..., torch.Tensor]] = {
    "cosine": lambda x, y, p=1.0: cosine_distance(x, y),
    "l1": lambda x, y, p=1.0: lp_distance(x, y, 1.0),
    "l2": lambda x, y, p=2.0: lp_distance(x, y, 2.0),
    "lp": lp_distance,
    "logexp": logexp_distance,
}


Feats = dict[str, torch.Tensor]


class BranchLoss(nn.Module):
    """The engine's contract (see the module doc)."""

    multi_view = False  # True: ``over(all views, labels)``; False: ``between(view, reference, labels)``
    needs_maps = False  # True: the features carry the backbone's named intermediate maps

    def between(self, view: Feats, reference: Feats, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def over(self, views: list[Feats], labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def center_on(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalise both, subtract the mean of the ``y`` rows (a constant), normalise again: cosine
    becomes correlation (Grm eq. 3). A pretrained face space often fills a narrow cone (dlib: random
    pairs at cosine 0.83, same person 0.95); centred, identity differences span the whole sphere."""
    x, y = F.normalize(x, dim=-1), F.normalize(y, dim=-1)
    mu = y.mean(0, keepdim=True).detach()
    return F.normalize(x - mu, dim=-1), F.normalize(y - mu, dim=-1)


class FeatureDistance(BranchLoss):
    """Mean distance between matching rows of two feature batches, on L2-normalised features
    (Knoche eq. 6 with ``cosine``; Ling eq. 1-5 with ``l1``/``l2``/``logexp``); ``center`` first
    centres both on the mean of ``y`` (see ``center_on``)."""

    def __init__(self, distance: str = "cosine", p: float = 1.0, normalize: bool = True, center: bool = False) -> None:
        super().__init__()
        if distance not in DISTANCES:
            raise ValueError(f"unknown distance {distance!r}; known: {', '.join(DISTANCES)}")
        self.distance, self.p, self.normalize, self.center = distance, p, normalize, center

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.center:
            x, y = center_on(x, y)
        elif self.normalize:
            x, y = F.normalize(x, dim=-1), F.normalize(y, dim=-1)
        return DISTANCES[self.distance](x, y, self.p).mean()

    def between(self, view: Feats, reference: Feats, labels: torch.Tensor) -> torch.Tensor:
        return self(view["embedding"], reference["embedding"])


class CrossResolutionTriplet(BranchLoss):
    """Lai & Lam eq. 3-6: for each feature f_i^(k), hardest positive p = farthest other-resolution
    view of the same sample, hardest negative n = closest view (any resolution) of a different
    identity in the batch; loss = mean_{i,k} max(0, margin + p - n), cosine distance."""

    def __init__(self, margin: float = 1.0) -> None:
        super().__init__()
        self.margin = margin

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        k, n, _ = embeddings.shape
        f = F.normalize(embeddings, dim=-1)
        flat = f.reshape(k * n, -1)
        d = 1.0 - flat @ flat.T  # (K*N, K*N), row (k, i) -> index k*n + i
        sample = torch.arange(n, device=f.device).repeat(k)
        lab = labels.repeat(k)
        same_sample = sample[:, None] == sample[None, :]
        other_view = same_sample & ~torch.eye(k * n, dtype=torch.bool, device=f.device)
        negative = lab[:, None] != lab[None, :]
        pos = torch.where(other_view, d, torch.full_like(d, -1e9)).max(1).values
        neg = torch.where(negative, d, torch.full_like(d, 1e9)).min(1).values
        valid = negative.any(1)
        loss = F.relu(self.margin + pos - neg)
        return loss[valid].mean() if valid.any() else loss.sum() * 0.0

    multi_view = True

    def over(self, views: list[Feats], labels: torch.Tensor) -> torch.Tensor:
        return self(torch.stack([v["embedding"] for v in views]), labels)


class ContrastiveLoss(BranchLoss):
    """Sun eq. 3: mean of y*D^2 + (1-y)*max(0, alpha - D^2), D = ||x~ - y~||_2 on normalised features."""

    def __init__(self, margin: float = 1.0) -> None:
        super().__init__()
        self.margin = margin

    def forward(self, x: torch.Tensor, y: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
        d2 = (F.normalize(x, dim=-1) - F.normalize(y, dim=-1)).pow(2).sum(-1)
        s = same.float()
        return (s * d2 + (1 - s) * F.relu(self.margin - d2)).mean()

    def between(self, view: Feats, reference: Feats, labels: torch.Tensor) -> torch.Tensor:
        """Positives: each image at the two resolutions; negatives: the view batch shifted by one
        (a pair of the same identity there counts as positive)."""
        x, y = reference["embedding"], view["embedding"]
        same = torch.cat([torch.ones_like(labels, dtype=torch.bool), labels == torch.roll(labels, 1, 0)])
        return self(torch.cat([x, x]), torch.cat([y, torch.roll(y, 1, 0)]), same)


class CrossViewInfoNCE(BranchLoss):
    """InfoNCE across two views (van den Oord et al. 2018, eq. 4; CLIP's one-sided form):
    -log softmax_i(cos(x_i, y_i) / tau) over the batch's y_j, where rows j of the same identity as i
    (other than i itself) are left out of the denominator. With y = the teacher's embeddings, each
    student embedding must be nearer its own teacher embedding than any other identity's."""

    def __init__(self, temperature: float = 0.05, center: bool = False) -> None:
        super().__init__()
        self.temperature, self.center = temperature, center

    def forward(self, x: torch.Tensor, y: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x, y = center_on(x, y) if self.center else (F.normalize(x, dim=-1), F.normalize(y, dim=-1))
        logits = x @ y.T / self.temperature
        n = len(x)
        target = torch.arange(n, device=x.device)
        if labels is not None:
            clash = (labels[:, None] == labels[None, :]) & ~torch.eye(n, dtype=torch.bool, device=x.device)
            logits = logits.masked_fill(clash, float("-inf"))
        return F.cross_entropy(logits, target)

    def between(self, view: Feats, reference: Feats, labels: torch.Tensor) -> torch.Tensor:
        return self(view["embedding"], reference["embedding"], labels)


class MultiHierarchyLoss(BranchLoss):
    """Sun eq. 5: at each named layer, ||P(f_HR) - P(f_LR)||^2 / (N_same*h*w*c) over same-class
    pairs, P = max pooling (kernel ``pool``); summed over layers."""

    def __init__(self, layers: Sequence[str], pool: int = 2) -> None:
        super().__init__()
        self.layers, self.pool = list(layers), pool

    def forward(self, feats_x: dict[str, torch.Tensor], feats_y: dict[str, torch.Tensor],
                same: torch.Tensor | None = None) -> torch.Tensor:
        total = torch.zeros((), device=next(iter(feats_x.values())).device)
        for name in self.layers:
            a, b = feats_x[name], feats_y[name]
            if a.dim() == 4 and self.pool > 1 and min(a.shape[-2:]) >= self.pool:
                a, b = F.max_pool2d(a, self.pool), F.max_pool2d(b, self.pool)
            diff = (a - b).pow(2).flatten(1).mean(1)  # per sample / (h*w*c)
            if same is not None:
                diff = diff[same.bool()]
            total = total + (diff.mean() if diff.numel() else diff.sum())
        return total

    needs_maps = True

    def between(self, view: Feats, reference: Feats, labels: torch.Tensor) -> torch.Tensor:
        return self(reference, view)


@LOSSES.register("distance")
def distance_loss(distance: str = "cosine", p: float = 1.0, center: bool = False) -> FeatureDistance:
    """Feature distance between matching HR/LR rows (cosine, l1, l2, lp, logexp)"""
    return FeatureDistance(distance, p, center=center)


@LOSSES.register("triplet")
def triplet_loss(margin: float = 1.0) -> CrossResolutionTriplet:
    """Cross-resolution triplet loss with in-batch hardest positives and negatives"""
    return CrossResolutionTriplet(margin)


@LOSSES.register("contrastive")
def contrastive_loss(margin: float = 1.0) -> ContrastiveLoss:
    """Contrastive loss on normalised features with margin alpha"""
    return ContrastiveLoss(margin)


@LOSSES.register("mhl")
def mhl_loss(layers: Sequence[str] = ("stage2", "stage3"), pool: int = 2) -> MultiHierarchyLoss:
    """Multi-hierarchy loss: max-pooled intermediate maps, HR vs LR network"""
    return MultiHierarchyLoss(layers, pool)


@LOSSES.register("nce")
def nce_loss(temperature: float = 0.05, center: bool = False) -> CrossViewInfoNCE:
    """Cross-view InfoNCE: each row nearer its own partner view than other identities' (in-batch)"""
    return CrossViewInfoNCE(temperature, center)
