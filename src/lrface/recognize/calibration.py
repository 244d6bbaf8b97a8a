"""Resolution-aware decision thresholds: thr(r_a, r_b), fitted on pairs that are not the test set.

Similarities of genuine pairs fall as either face gets smaller, so one threshold cannot serve an
8 px probe and a passport photo. ``fit_calibration`` scores a pair set (LFW View 1 pairsDevTrain)
with both images reduced to every pair of grid resolutions, takes the best-accuracy threshold in
each cell (both orders pooled), and makes the table symmetric and non-decreasing in each
resolution (alternating weighted isotonic regression along rows and columns). ``threshold``
interpolates bilinearly in log r; resolutions outside the grid are clamped to it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..errors import LrfaceError
from ..metrics import best_threshold

GRID = (5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 56, 112)


def isotonic(y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Weighted least-squares non-decreasing fit (pool adjacent violators)."""
    y = np.asarray(y, np.float64)
    w = np.ones_like(y) if w is None else np.asarray(w, np.float64)
    vals, wts, counts = [], [], []
    for yi, wi in zip(y, w):
        vals.append(yi)
        wts.append(wi)
        counts.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            v, ww, c = vals.pop(), wts.pop(), counts.pop()
            vals[-1] = (vals[-1] * wts[-1] + v * ww) / (wts[-1] + ww)
            wts[-1] += ww
            counts[-1] += c
    return np.repeat(vals, counts)


def monotone_symmetric(table: np.ndarray, iters: int = 100) -> np.ndarray:
    """Nearest symmetric table that is non-decreasing along rows and columns (alternating projections)."""
    t = (np.asarray(table, np.float64) + np.asarray(table, np.float64).T) / 2
    for _ in range(iters):
        prev = t.copy()
        t = np.stack([isotonic(row) for row in t])
        t = np.stack([isotonic(col) for col in t.T]).T
        t = (t + t.T) / 2
        if np.abs(t - prev).max() < 1e-7:
            break
    # the symmetric average of two monotone tables is monotone; one last row/column pass for rounding
    return np.maximum.accumulate(np.maximum.accumulate(t, axis=0), axis=1)


@dataclass
class Calibration:
    """Symmetric table of thresholds on ``grid`` x ``grid`` resolutions (r, px of a 112 crop)."""

    grid: list[float]
    table: np.ndarray
    source: str = ""
    accuracy: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.table = np.asarray(self.table, np.float64)
        g = len(self.grid)
        if self.table.shape != (g, g) or list(self.grid) != sorted(self.grid) or not np.isfinite(self.table).all():
            raise LrfaceError("calibration table does not fit its resolution grid")

    def _pos(self, r: float) -> tuple[int, int, float]:
        lg = np.log(np.asarray(self.grid, np.float64))
        x = math.log(min(max(float(r), self.grid[0]), self.grid[-1]))
        j = int(np.clip(np.searchsorted(lg, x) - 1, 0, len(lg) - 2))
        return j, j + 1, float((x - lg[j]) / (lg[j + 1] - lg[j]))

    def threshold(self, r_a: float, r_b: float) -> float:
        """The decision threshold for two faces at resolutions r_a and r_b."""
        i0, i1, u = self._pos(r_a)
        j0, j1, v = self._pos(r_b)
        t = self.table
        return float((1 - u) * (1 - v) * t[i0, j0] + u * (1 - v) * t[i1, j0] + (1 - u) * v * t[i0, j1]
                     + u * v * t[i1, j1])

    def thresholds(self, r_a: Sequence[float], r_b: Sequence[float]) -> np.ndarray:
        return np.array([self.threshold(a, b) for a, b in zip(r_a, r_b)])

    def to_dict(self) -> dict:
        return {"grid": [float(g) for g in self.grid], "table": np.round(self.table, 5).tolist(),
                "source": self.source, "accuracy": self.accuracy}

    @classmethod
    def from_dict(cls, d: dict) -> "Calibration":
        try:
            return cls(list(d["grid"]), np.asarray(d["table"], np.float64), d.get("source", ""),
                       dict(d.get("accuracy", {})))
        except (KeyError, TypeError, ValueError) as e:
            raise LrfaceError(f"invalid calibration entry ({e})") from None


def fit_calibration(scores: Callable[[float, float], np.ndarray], same: np.ndarray,
                    grid: Sequence[float] = GRID, source: str = "") -> Calibration:
    """Fit thr(r_a, r_b): ``scores(r_a, r_b)`` gives the recognizer's similarity of every pair with
    its first image at r_a and its second at r_b; ``same`` labels the pairs."""
    g = len(grid)
    raw = np.zeros((g, g))
    acc = {}
    for i in range(g):
        for j in range(i, g):
            s = np.concatenate([scores(grid[i], grid[j]), scores(grid[j], grid[i])])
            thr, best = best_threshold(s, np.concatenate([same, same]))
            raw[i, j] = raw[j, i] = thr
            acc[f"{grid[i]:g}x{grid[j]:g}"] = round(best, 4)
    return Calibration(list(map(float, grid)), monotone_symmetric(raw), source, acc)
