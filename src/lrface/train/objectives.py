"""A paper's method = branches (resolution policies) + a head + weighted loss terms.

``Trainee`` runs every branch through the backbone (or a frozen teacher copy), applies the
shared classifier and the loss terms of the recipe, and returns the weighted total (one forward
per step, so it can be wrapped in DistributedDataParallel as a whole).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import LrfaceError
from ..models.base import FaceBackbone
from .losses import LOSSES, BranchLoss
from .recipe import TermSpec


@dataclass
class Term:
    """One weighted loss term between branches ``a`` and ``b`` (``b`` may be a list: one term each)."""

    name: str
    weight: float
    a: int = 0
    b: list[int] = field(default_factory=lambda: [1])
    branches: list[int] | None = None  # triplet: which branches (default all)
    module: nn.Module | None = None


def build_terms(specs: list[TermSpec]) -> list[Term]:
    """Loss terms of a (validated) recipe, each module built from the LOSSES registry."""
    return [Term(t.name, t.weight, t.a, list(t.b), t.branches, LOSSES.create(t.name, **t.args)) for t in specs]


class Trainee(nn.Module):
    """Backbone + shared head + loss terms; ``teacher_branches`` are computed by a frozen copy."""

    def __init__(self, model: FaceBackbone, head: nn.Module, terms: list[Term], cls_weights: list[float],
                 teacher: FaceBackbone | None = None, teacher_branches: list[int] | None = None) -> None:
        super().__init__()
        self.model, self.head = model, head
        self.terms = terms
        self.term_modules = nn.ModuleList([t.module for t in terms if t.module is not None])
        self.cls_weights = cls_weights
        self.teacher = teacher
        self.teacher_branches = set(teacher_branches or [])
        if teacher is not None:
            teacher.requires_grad_(False).eval()
        self.need_feats = any(getattr(t.module, "needs_maps", False) for t in terms)

    def train(self, mode: bool = True) -> "Trainee":
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self

    def _run(self, k: int, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if k in self.teacher_branches:
            if x.dim() == 2:  # cached teacher embeddings (data.kind=distill, teacher.cached)
                return {"embedding": x}
            if self.teacher is None:
                raise LrfaceError("recipe uses teacher branches but no teacher")
            with torch.no_grad():
                return self.teacher.forward_features(x) if self.need_feats else {"embedding": self.teacher(x)}
        return self.model.forward_features(x) if self.need_feats else {"embedding": self.model(x)}

    def forward(self, views: list[torch.Tensor], labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        feats = [self._run(k, x) for k, x in enumerate(views)]
        emb = [f["embedding"] for f in feats]
        parts: dict[str, torch.Tensor] = {}
        total = torch.zeros((), device=labels.device)
        cls = [w * self.head(emb[k], labels) for k, w in enumerate(self.cls_weights) if w]
        if cls:
            parts["cls"] = torch.stack(cls).sum()
            total = total + parts["cls"]
        for t in self.terms:
            val = self._term(t, emb, feats, labels)
            key = t.name if t.name not in parts else f"{t.name}{len(parts)}"
            parts[key] = val
            total = total + t.weight * val
        return total, parts

    def _term(self, t: Term, emb: list[torch.Tensor], feats: list[dict[str, torch.Tensor]],
              labels: torch.Tensor) -> torch.Tensor:
        """One term, wired by the loss's own contract (``BranchLoss``): over all (or the listed)
        views, or between each view ``b`` and the reference view ``a``, summed over ``b``."""
        m = t.module
        if not isinstance(m, BranchLoss):
            raise LrfaceError(f"loss {t.name!r} does not follow the BranchLoss contract")
        if m.multi_view:
            idx = t.branches if t.branches is not None else list(range(len(feats)))
            return m.over([feats[k] for k in idx], labels)
        return torch.stack([m.between(feats[b], feats[t.a], labels) for b in t.b]).sum()
