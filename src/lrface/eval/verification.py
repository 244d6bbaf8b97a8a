"""Verification protocols on pair sets: HR-HR, cross-resolution (CR), equal-resolution (ER),
and per-pair resolution protocols (btm-stm)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from ..data.pairs import PairSet
from ..degrade import REFERENCE, Resolution, resolution_label, resolution_value
from ..errors import LrfaceError
from ..metrics import accuracy, auc, best_threshold, eer, kfold_accuracy, tar_at_far
from ..recognize.embeddings import Embedder
from ..recognize.recognizer import Recognizer

FARS = (1e-1, 1e-2, 1e-3)
MODES = ("hr", "cr", "cr1", "er")  # cr = both orders averaged (Knoche); cr1 = only the second image reduced


@dataclass
class VerificationResult:
    """Metrics of one scored protocol (one resolution and mode, or one protocol file)."""

    dataset: str
    mode: str
    resolution: str
    accuracy: float
    accuracy_std: float
    best_threshold: float
    tar: dict[str, float]
    auc: float
    eer: float
    pos_mean: float
    neg_mean: float
    n_pairs: int
    scores: list[np.ndarray] = field(default_factory=list, repr=False)  # one array per order
    same: np.ndarray | None = field(default=None, repr=False)
    # with a resolution-aware calibration (fitted on non-test pairs): accuracy at the calibrated
    # thresholds thr(r_a, r_b) (nothing fitted on this set), and 10-fold accuracy of the calibrated
    # scores s - thr(r_a, r_b)
    calibrated_accuracy: float | None = None
    calibrated_kfold: float | None = None
    calibrated_kfold_std: float | None = None

    def row(self) -> dict[str, object]:
        d = asdict(self)
        d.pop("scores"), d.pop("same")
        return d


def score_pairs(e_left: np.ndarray, e_right: np.ndarray) -> np.ndarray:
    """Cosine similarity per pair (embeddings are L2-normalised)."""
    return (e_left * e_right).sum(1)


def summarize(dataset: str, mode: str, resolution: str, scores_per_order: Sequence[np.ndarray], pairs: PairSet,
              thresholds: Sequence[np.ndarray] | None = None) -> VerificationResult:
    """Metrics averaged over the score orders (CR both orders, as in Knoche et al. Sec. 3.4);
    ``thresholds`` (per order, per pair) add the calibrated columns."""
    ks = [kfold_accuracy(s, pairs.same, pairs.folds) for s in scores_per_order]
    avg = lambda xs: float(np.mean(xs))  # noqa: E731
    cal: dict[str, float] = {}
    if thresholds is not None:
        margins = [s - t for s, t in zip(scores_per_order, thresholds)]
        kc = [kfold_accuracy(m, pairs.same, pairs.folds) for m in margins]
        cal = {"calibrated_accuracy": avg([accuracy(m, pairs.same, 0.0) for m in margins]),
               "calibrated_kfold": avg([k.mean for k in kc]), "calibrated_kfold_std": avg([k.std for k in kc])}
    return VerificationResult(
        dataset, mode, resolution,
        accuracy=avg([k.mean for k in ks]), accuracy_std=avg([k.std for k in ks]),
        best_threshold=avg([k.best_threshold for k in ks]),
        tar={f"{far:g}": avg([tar_at_far(s, pairs.same, far) for s in scores_per_order]) for far in FARS},
        auc=avg([auc(s, pairs.same) for s in scores_per_order]),
        eer=avg([eer(s, pairs.same) for s in scores_per_order]),
        pos_mean=avg([1 - s[pairs.same].mean() for s in scores_per_order]),
        neg_mean=avg([1 - s[~pairs.same].mean() for s in scores_per_order]),
        n_pairs=len(pairs), scores=list(scores_per_order), same=pairs.same, **cal,
    )


class VerificationEval:
    """Scores one pair set at many resolutions and modes, sharing crops and cached embeddings."""

    def __init__(self, embedder: Embedder, pairs: PairSet) -> None:
        self.emb, self.pairs = embedder, pairs
        self.cs = embedder.crops(pairs.images)
        bad = [i for i, s in enumerate(self.cs.status) if s == 2]
        if bad:
            raise LrfaceError(f"{len(bad)} image(s) of {pairs.name} could not be read or aligned, e.g. {pairs.images[bad[0]]}")
        self._all = np.arange(len(pairs.images))

    def _at(self, r: Resolution) -> np.ndarray:
        return self.emb.embed(self.cs, self._all, r, desc=f"{self.pairs.name} r={resolution_label(r)}")

    def _embed(self, idx: np.ndarray, res: list[Resolution]) -> np.ndarray:
        """Embeddings of images ``idx`` (pair order), each at its own resolution (cached)."""
        if len(set(res)) == 1:
            return self._at(res[0])[idx]  # one resolution: the whole set, shared by every mode
        return self.emb.embed(self.cs, idx, res, desc=f"{self.pairs.name} mixed r")

    def scores(self, r_left: Resolution | Sequence[Resolution], r_right: Resolution | Sequence[Resolution]) -> np.ndarray:
        """Similarity per pair, the left image at ``r_left`` and the right at ``r_right`` (one value
        for all pairs, or one per pair). A routed recognizer with resolution matching
        (``match_weight`` w > 0) scores pairs whose smaller face goes to its LR expert as
        (1 - w) * cross score + w * the LR expert's score of both faces at the smaller resolution."""
        p = self.pairs
        n = len(p)
        rl: list[Resolution] = list(r_left) if isinstance(r_left, (list, np.ndarray)) else [r_left] * n  # type: ignore[list-item]
        rr: list[Resolution] = list(r_right) if isinstance(r_right, (list, np.ndarray)) else [r_right] * n  # type: ignore[list-item]
        s = score_pairs(self._embed(p.left, rl), self._embed(p.right, rr))
        rec = self.emb.rec
        w = float(getattr(rec, "match_weight", 0.0))
        if w:
            lo = [a if resolution_value(a) <= resolution_value(b) else b for a, b in zip(rl, rr)]
            sel = np.array([resolution_value(a) != resolution_value(b) and getattr(rec, "expert_for")(x) == "lr"
                            for a, b, x in zip(rl, rr, lo)])
            if sel.any():
                lo_sel = [x for x, m in zip(lo, sel) if m]
                matched = score_pairs(self._embed(p.left[sel], lo_sel), self._embed(p.right[sel], lo_sel))
                s[sel] = (1 - w) * s[sel] + w * matched
        return s

    def _thresholds(self, sides: Sequence[tuple[Resolution | np.ndarray, Resolution | np.ndarray]]) -> list[np.ndarray] | None:
        """Calibrated thresholds per order for (r of the left image, r of the right image)."""
        cal = getattr(self.emb.rec, "calibration", None)
        if cal is None:
            return None
        n = len(self.pairs)
        as_r = lambda v: np.broadcast_to(np.asarray(resolution_value(v) if not isinstance(v, np.ndarray) else v,  # noqa: E731
                                                    np.float64), (n,))
        return [cal.thresholds(as_r(a), as_r(b)) for a, b in sides]

    def run(self, mode: str, r: Resolution = REFERENCE) -> VerificationResult:
        if mode not in MODES:
            raise LrfaceError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
        full = REFERENCE
        if mode == "hr":
            r = REFERENCE
        table: dict[str, list[tuple[Resolution, Resolution]]] = {
            "hr": [(full, full)], "er": [(r, r)], "cr1": [(full, r)], "cr": [(r, full), (full, r)]}
        sides = table[mode]
        orders = [self.scores(a, b) for a, b in sides]
        return summarize(self.pairs.name, mode, resolution_label(r), orders, self.pairs, self._thresholds(sides))

    def pooled_accuracy(self, mode: str, r: Resolution = REFERENCE) -> float:
        """Best-threshold accuracy over every order of ``mode`` at ``r`` pooled (model selection on
        non-test pairs)."""
        orders = self.run(mode, r).scores
        return best_threshold(np.concatenate(orders), np.tile(self.pairs.same, len(orders)))[1]

    def run_protocol(self, name: str, resolutions: np.ndarray) -> VerificationResult:
        """A per-image resolution list in pairs order (even = first image, odd = second)."""
        p = self.pairs
        if len(resolutions) != 2 * len(p):
            raise LrfaceError(f"protocol {name} has {len(resolutions)} values; {p.name} needs {2 * len(p)}")
        left, right = [int(v) for v in resolutions[0::2]], [int(v) for v in resolutions[1::2]]
        sides = [(resolutions[0::2].astype(np.float64), resolutions[1::2].astype(np.float64))]
        return summarize(p.name, "protocol", name, [self.scores(left, right)], p, self._thresholds(sides))


def pair_scores(rec: Recognizer, pairs: PairSet, r: Resolution = REFERENCE, mode: str = "hr") -> np.ndarray:
    """Similarity per pair for one mode and resolution (first order only)."""
    return VerificationEval(Embedder(rec), pairs).run(mode, r).scores[0]
