"""Verification and identification metrics on similarity scores (higher = more similar).

A pair is predicted "same" when its score >= threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def best_threshold(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """Threshold maximising accuracy on (scores, same) and that accuracy.

    Candidates are midpoints between consecutive distinct scores (plus one below the minimum and
    one above the maximum); among equally good candidates the middle one of the run is taken.
    """
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], same[order]
    n, n_pos = len(s), int(same.sum())
    # k = number of pairs predicted same (the top k scores), k = 0..n
    tp = np.concatenate([[0], np.cumsum(y)])
    fp = np.concatenate([[0], np.cumsum(~y)])
    acc = (tp + (n - n_pos - fp)) / n
    valid = np.ones(n + 1, bool)
    valid[1:n] = s[:-1] != s[1:]  # cannot split between equal scores
    acc_v = np.where(valid, acc, -1.0)
    best = np.flatnonzero(acc_v == acc_v.max())
    k = int(best[len(best) // 2])
    if k == 0:
        thr = s[0] + 1e-6
    elif k == n:
        thr = s[-1] - 1e-6
    else:
        thr = (s[k - 1] + s[k]) / 2.0
    return float(thr), float(acc[k])


def accuracy(scores: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(((np.asarray(scores) >= threshold) == np.asarray(same, bool)).mean())


@dataclass
class KFoldResult:
    mean: float
    std: float
    fold_acc: np.ndarray
    fold_thr: np.ndarray
    best_threshold: float  # chosen on all pairs (the "per-resolution best threshold")


def kfold_accuracy(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> KFoldResult:
    """Accuracy per fold with the threshold chosen on the other folds (LFW View 2 protocol)."""
    scores, same, folds = np.asarray(scores), np.asarray(same, bool), np.asarray(folds)
    ids = np.unique(folds)
    accs, thrs = [], []
    for f in ids:
        test = folds == f
        train = ~test if len(ids) > 1 else test
        thr, _ = best_threshold(scores[train], same[train])
        thrs.append(thr)
        accs.append(accuracy(scores[test], same[test], thr))
    acc = np.array(accs)
    return KFoldResult(float(acc.mean()), float(acc.std()), acc, np.array(thrs), best_threshold(scores, same)[0])


def roc_curve(scores: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) at every distinct score, from (0, 0) to (1, 1)."""
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], same[order]
    last_of_group = np.r_[s[1:] != s[:-1], True]
    tp = np.cumsum(y)[last_of_group]
    fp = np.cumsum(~y)[last_of_group]
    n_pos, n_neg = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    fpr = np.r_[0.0, fp / n_neg]
    tpr = np.r_[0.0, tp / n_pos]
    thr = np.r_[np.inf, s[last_of_group]]
    return fpr, tpr, thr


def tar_at_far(scores: np.ndarray, same: np.ndarray, far: float) -> float:
    """True-accept rate at false-accept rate ``far``.

    The ROC is reduced to its best point per distinct FAR (the top of each vertical step), then
    linearly interpolated: the TAR a randomised mix of the two neighbouring operating points
    reaches at exactly ``far``. (Reading the raw step curve instead under-reports TAR.)
    """
    fpr, tpr, _ = roc_curve(scores, same)
    last = np.r_[fpr[1:] != fpr[:-1], True]  # tpr rises along the curve: last of a run is its max
    return float(np.interp(far, fpr[last], tpr[last]))


def auc(scores: np.ndarray, same: np.ndarray) -> float:
    """Area under the ROC curve (trapezoidal)."""
    fpr, tpr, _ = roc_curve(scores, same)
    return float(np.trapezoid(tpr, fpr))


def eer(scores: np.ndarray, same: np.ndarray) -> float:
    """Equal error rate: where FAR = 1 - TAR, linearly interpolated between ROC points."""
    fpr, tpr, _ = roc_curve(scores, same)
    fnr = 1.0 - tpr
    d = fnr - fpr  # decreasing from 1 to -1
    i = int(np.flatnonzero(d <= 0)[0])
    if i == 0 or d[i] == 0:
        return float(fpr[i])
    t = d[i - 1] / (d[i - 1] - d[i])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def cmc(similarity: np.ndarray, probe_labels: np.ndarray, gallery_labels: np.ndarray, max_rank: int = 20) -> np.ndarray:
    """Cumulative match characteristic: cmc[k-1] = fraction of probes whose identity is among the
    k most similar gallery entries (one entry per identity assumed; ties count against)."""
    sim = np.asarray(similarity, np.float64)
    probe_labels, gallery_labels = np.asarray(probe_labels), np.asarray(gallery_labels)
    correct = gallery_labels[None, :] == probe_labels[:, None]
    true_score = np.where(correct, sim, -np.inf).max(1)
    rank = (sim >= true_score[:, None]).sum(1) - 1 + (~correct.any(1)) * 10**9  # 0-based
    ks = np.arange(1, max_rank + 1)
    return (rank[:, None] < ks[None, :]).mean(0)
