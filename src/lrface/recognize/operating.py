"""Operating points: decision thresholds at stated error rates, fitted on impostors that are not the test set.

A best-accuracy threshold (``calibration.py``) balances errors on a 50/50 pair set; it says nothing
about how often a stranger is accepted. Two tables here do:

- **verification** ``thr_far(r_a, r_b)``: for each FAR in ``FAR_LEVELS`` and each pair of grid
  resolutions, the score that impostor pairs reach with probability FAR (empirical quantile of
  every different-identity pair, both orders pooled), one ``Calibration`` table per FAR;
- **open-set 1:N** ``thr(r, N, FPIR)``: the score the best of N non-mated gallery entries reaches
  with probability FPIR for a probe at resolution r (gallery: one HR photo per identity). A
  single impostor pair is not the right unit: the top of N impostor scores is far higher, and
  probes differ (a "generic" face scores high against everyone). So, as in NIST FRVT, the false
  positive identification rate is estimated per probe p from its own impostor exceedance rate
  F_p(t) = P(s_pg >= t) over the calibration gallery:

      FPIR(t; N) = mean_p [ 1 - (1 - F_p(t))^N ],

  with F_p empirical where at least ``TAIL_K`` impostors exceed t and, above that, a tail fitted to
  the probe's ``TAIL_K`` highest scores with a shape shared by all probes (``_exceedance``), so N
  beyond the calibration gallery is extrapolated, never clipped. The threshold is the smallest t with FPIR(t; N) <= FPIR.

Both are fitted by ``lrface calibrate --operating-points`` on LFW View 1 ``peopleDevTrain``
(identities disjoint from View 1 ``peopleDevTest``, where ``lrface eval-openset`` measures them),
every image reduced to every grid r by the recognizer's own routing, and stored in the model's
manifest entry.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..errors import LrfaceError
from .calibration import GRID, Calibration

FAR_LEVELS = (1e-1, 1e-2, 1e-3, 1e-4)
FNMR_LEVELS = (5e-2, 1e-2)  # "different person" tables: genuine pairs rejected at these rates
N_GRID = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 100_000, 1_000_000)
FPIR_LEVELS = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3)
TAIL_K = 20  # empirical exceedance needs at least this many impostors above t; the tail fit uses the top 20


def impostor_quantile(scores: np.ndarray, far: float) -> float:
    """Threshold t accepting a fraction ``far`` of ``scores`` (accept when s >= t): midway between
    the k-th and (k+1)-th highest score, k = floor(far * n)."""
    n = len(scores)
    k = int(math.floor(far * n))
    if k < 1:
        raise LrfaceError(f"{n} impostor scores are too few for FAR {far:g}")
    top = np.sort(np.partition(scores, n - k - 1)[n - k - 1:])[::-1]  # k + 1 highest, descending
    return float((top[k - 1] + top[k]) / 2)


def _interp_log(x: float, grid: Sequence[float]) -> tuple[int, int, float]:
    lg = np.log(np.asarray(grid, np.float64))
    v = math.log(min(max(float(x), grid[0]), grid[-1]))
    j = int(np.clip(np.searchsorted(lg, v) - 1, 0, len(lg) - 2))
    return j, j + 1, float((v - lg[j]) / (lg[j + 1] - lg[j]))


@dataclass
class FarTables:
    """One thr(r_a, r_b) table per false-accept rate."""

    tables: dict[float, Calibration]

    def threshold(self, r_a: float, r_b: float, far: float) -> float:
        """Threshold at ``far``, interpolated in log FAR between the fitted levels (clamped to them)."""
        fars = sorted(self.tables)
        if far in self.tables:
            return self.tables[far].threshold(r_a, r_b)
        i0, i1, u = _interp_log(far, fars)
        return (1 - u) * self.tables[fars[i0]].threshold(r_a, r_b) + u * self.tables[fars[i1]].threshold(r_a, r_b)

    def to_dict(self) -> dict:
        return {f"{far:g}": cal.to_dict() for far, cal in sorted(self.tables.items())}

    @classmethod
    def from_dict(cls, d: dict) -> "FarTables":
        try:
            return cls({float(k): Calibration.from_dict(v) for k, v in d.items()})
        except (TypeError, ValueError, AttributeError) as e:
            raise LrfaceError(f"invalid FAR tables ({e})") from None


@dataclass
class OpenSetCalibration:
    """thr(r, N, FPIR) on a grid of probe resolutions, gallery sizes and FPIR levels (module doc)."""

    grid: list[float]
    ns: list[int]
    fpirs: list[float]
    table: np.ndarray  # len(grid) x len(ns) x len(fpirs)
    source: str = ""
    gallery: int = 0  # identities in the calibration gallery
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.table = np.asarray(self.table, np.float64)
        if self.table.shape != (len(self.grid), len(self.ns), len(self.fpirs)) or not np.isfinite(self.table).all():
            raise LrfaceError("open-set calibration table does not fit its grids")

    def threshold(self, r: float, n: int, fpir: float) -> float:
        """Open-set threshold for a probe at r against ``n`` enrolled identities at ``fpir``."""
        a0, a1, u = _interp_log(r, self.grid)
        b0, b1, v = _interp_log(max(n, 1), self.ns)
        fp = sorted(self.fpirs)
        c0, c1, w = _interp_log(fpir, fp)
        idx = [self.fpirs.index(fp[c0]), self.fpirs.index(fp[c1])]
        t = self.table
        out = 0.0
        for ai, au in ((a0, 1 - u), (a1, u)):
            for bi, bv in ((b0, 1 - v), (b1, v)):
                for ci, cw in ((idx[0], 1 - w), (idx[1], w)):
                    out += au * bv * cw * t[ai, bi, ci]
        return float(out)

    def to_dict(self) -> dict:
        return {"grid": self.grid, "ns": self.ns, "fpirs": self.fpirs, "table": np.round(self.table, 5).tolist(),
                "source": self.source, "gallery": self.gallery, "extra": self.extra}

    @classmethod
    def from_dict(cls, d: dict) -> "OpenSetCalibration":
        try:
            return cls([float(v) for v in d["grid"]], [int(v) for v in d["ns"]], [float(v) for v in d["fpirs"]],
                       np.asarray(d["table"], np.float64), d.get("source", ""), int(d.get("gallery", 0)),
                       dict(d.get("extra", {})))
        except (KeyError, TypeError, ValueError) as e:
            raise LrfaceError(f"invalid open-set calibration entry ({e})") from None


def fit_far_tables(impostors: Callable[[float, float], np.ndarray], grid: Sequence[float] = GRID,
                   fars: Sequence[float] = FAR_LEVELS, source: str = "", genuine: bool = False) -> FarTables:
    """``impostors(r_a, r_b)``: scores of every impostor pair with the first face at r_a, the
    second at r_b. Both orders are pooled; the tables are symmetric. ``genuine``: the scores are
    genuine pairs' and each level is an FNMR: the threshold below which that fraction of them falls."""
    g = len(grid)
    raw = {far: np.zeros((g, g)) for far in fars}
    for i in range(g):
        for j in range(i, g):
            s = impostors(grid[i], grid[j])
            if i != j:
                s = np.concatenate([s, impostors(grid[j], grid[i])])
            for far in fars:
                raw[far][i, j] = raw[far][j, i] = -impostor_quantile(-s, far) if genuine else impostor_quantile(s, far)
    return FarTables({far: Calibration(list(map(float, grid)), t, source) for far, t in raw.items()})


def _exceedance(scores: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """F_p(t) for every probe (rows of ``scores``: its impostor scores) and threshold in ``ts``:
    empirical where ``TAIL_K`` or more scores reach t; above, a tail of the probe's own location
    and scale with a shape shared by all probes: F_p(t) = (K / G) S((t - u_p) / beta_p), u_p the
    probe's K-th highest score, beta_p the mean excess of its K highest scores over u_p, and S the
    empirical survival function of those normalised excesses pooled over every probe (P x K
    values, so S reaches 1 / (P K) and the bounded, light tail of cosine scores is kept, where an
    exponential or Gaussian tail overstates FPIR several-fold)."""
    p, g = scores.shape
    srt = np.sort(scores, axis=1)  # ascending
    counts = g - np.stack([np.searchsorted(row, ts, side="left") for row in srt])  # P x T: scores >= t
    top = srt[:, g - TAIL_K:]
    u = top[:, :1]
    beta = np.maximum((top - u).mean(1, keepdims=True), 1e-4)
    pooled = np.sort(((top - u) / beta).ravel())
    z = (ts[None] - u) / beta
    surv = 1.0 - np.searchsorted(pooled, z, side="left") / len(pooled)
    tail = (TAIL_K / g) * surv
    return np.where(counts >= TAIL_K, counts / g, np.minimum(tail, TAIL_K / g))


def fpir_curve(scores: np.ndarray, ts: np.ndarray, n: int) -> np.ndarray:
    """FPIR(t; n) for every t in ``ts`` (module doc), from a probes x gallery impostor matrix."""
    f = _exceedance(scores, ts)
    return (1 - (1 - f) ** n).mean(0)


def fit_open_set(impostors: Callable[[float], np.ndarray], grid: Sequence[float] = GRID,
                 ns: Sequence[int] = N_GRID, fpirs: Sequence[float] = FPIR_LEVELS,
                 source: str = "") -> OpenSetCalibration:
    """``impostors(r)``: probes at r x calibration gallery matrix of non-mated scores."""
    table = np.zeros((len(grid), len(ns), len(fpirs)))
    gallery = 0
    for i, r in enumerate(grid):
        s = impostors(r)
        gallery = s.shape[1]
        ts = np.linspace(float(np.percentile(s, 50)), 1.0, 1201)
        f = _exceedance(s, ts)
        for j, n in enumerate(ns):
            curve = (1 - (1 - f) ** n).mean(0)  # decreasing in t
            for k, fpir in enumerate(fpirs):
                ok = np.flatnonzero(curve <= fpir)
                table[i, j, k] = ts[ok[0]] if len(ok) else 1.0
    return OpenSetCalibration(list(map(float, grid)), list(ns), list(fpirs), table, source, gallery)
