"""Resolution policies for training: which resolution each sample of a branch gets.

Values are given in the paper's own units (``reference``: the crop size its resolutions refer
to, e.g. 128 for Lai & Lam) and converted to lrface's r (px of a 112 px crop). A policy draws
from a torch.Generator, so a (seed, step) pair fixes every choice (exact resume, DDP parity).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from ..errors import LrfaceError
from ..registry import Registry
from .resize import REFERENCE, Reduce

POLICIES: Registry["ResolutionPolicy"] = Registry("resolution policy")
FULL = float(REFERENCE)


@dataclass
class ResolutionPolicy:
    """Per-sample resolutions (float r; >= 112 means unchanged)."""

    kind: str
    values: list[float] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    low: float = 0.0
    high: float = 0.0
    fraction: float = 1.0  # share of the batch that is reduced (BT); the rest stays full

    def sample(self, n: int, gen: torch.Generator) -> list[float]:
        if self.kind == "full":
            res = torch.full((n,), FULL)
        elif self.kind == "uniform":
            res = self.low + torch.rand(n, generator=gen) * (self.high - self.low)
            res = res.round()
        else:  # choice / fixed
            w = torch.tensor(self.weights or [1.0] * len(self.values))
            idx = torch.multinomial(w / w.sum(), n, replacement=True, generator=gen)
            res = torch.tensor(self.values)[idx]
        if self.fraction < 1.0:
            keep = torch.randperm(n, generator=gen)[: n - int(round(self.fraction * n))]
            res[keep] = FULL
        return [float(v) for v in res]


def _scale(values: Sequence[float], reference: float) -> list[float]:
    return [min(FULL, float(v) * REFERENCE / reference) for v in values]


@POLICIES.register("full")
def full() -> ResolutionPolicy:
    """Every sample at full resolution"""
    return ResolutionPolicy("full")


@POLICIES.register("fixed")
def fixed(r: float, reference: float = REFERENCE, fraction: float = 1.0) -> ResolutionPolicy:
    """One resolution r (BT/ST at a fixed r; fraction < 1 keeps the rest full)"""
    return ResolutionPolicy("choice", _scale([r], reference), fraction=fraction)


@POLICIES.register("uniform")
def uniform(low: float, high: float, reference: float = REFERENCE, fraction: float = 1.0) -> ResolutionPolicy:
    """r uniform in [low, high] (e.g. Lai & Lam's baseline 8..128 on 128 px crops)"""
    lo, hi = _scale([low, high], reference)
    return ResolutionPolicy("uniform", low=lo, high=hi, fraction=fraction)


@POLICIES.register("choice")
def choice(values: Sequence[float], weights: Sequence[float] | None = None, reference: float = REFERENCE,
           fraction: float = 1.0) -> ResolutionPolicy:
    """r drawn from a list with weights (BT-M {7,14,28,56,112}, MAug {7,14,20} at 1:1:2)"""
    if weights is not None and len(weights) != len(values):
        raise LrfaceError("choice policy: weights and values differ in length")
    return ResolutionPolicy("choice", _scale(values, reference), list(weights or []), fraction=fraction)


def make_policy(spec: dict | str | float | int) -> ResolutionPolicy:
    """``"full"``, a number (fixed r), or ``{policy: name, ...kwargs}``."""
    if isinstance(spec, (int, float)):
        return fixed(spec)
    if isinstance(spec, str):
        return POLICIES.create(spec)
    spec = dict(spec)
    name = spec.pop("policy")
    try:
        return POLICIES.create(name, **spec)
    except TypeError as e:
        raise LrfaceError(f"bad arguments for resolution policy {name!r}: {e}") from None


def degrade_batch(x: torch.Tensor, res: Sequence[float], reduce: Reduce, align_style: str) -> torch.Tensor:
    """Reduce each sample of ``x`` to its own resolution (grouped by resolution, batched)."""
    out = x.clone()
    r_arr = torch.tensor(res)
    for r in torch.unique(r_arr).tolist():
        if r >= FULL:
            continue
        idx = torch.nonzero(r_arr == r).flatten()
        out[idx] = reduce(x[idx], r, align_style)
    return out
