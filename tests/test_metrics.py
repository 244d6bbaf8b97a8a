"""Metrics against hand-computed cases."""
from __future__ import annotations

import numpy as np
import pytest

from lrface.metrics import accuracy, auc, best_threshold, cmc, eer, kfold_accuracy, roc_curve, tar_at_far


def test_best_threshold_hand_case() -> None:
    # sorted desc: .9(S) .8(S) .7(D) .6(S) .5(D) .4(D)
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    same = np.array([1, 1, 0, 1, 0, 0], bool)
    thr, acc = best_threshold(scores, same)
    # k=2 (thr .75): 2 TP + 3 TN = 5/6; k=4 (thr .55): 3 TP + 2 TN = 5/6 -> middle of {2,4} = index 4
    assert acc == pytest.approx(5 / 6)
    assert thr == pytest.approx(0.55)
    assert accuracy(scores, same, thr) == pytest.approx(5 / 6)


def test_best_threshold_never_splits_ties() -> None:
    scores = np.array([0.5, 0.5, 0.5, 0.1])
    same = np.array([1, 0, 1, 0], bool)
    thr, acc = best_threshold(scores, same)
    assert thr == pytest.approx(0.3) and acc == pytest.approx(0.75)


def test_kfold_uses_other_folds_threshold() -> None:
    # fold 0 alone would pick a threshold near .65; folds 1+2 push it to .35
    scores = np.array([0.7, 0.6, 0.4, 0.3, 0.4, 0.3, 0.4, 0.3])
    same = np.array([1, 0, 1, 0, 1, 0, 1, 0], bool)
    folds = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    res = kfold_accuracy(scores, same, folds)
    assert res.fold_thr[0] == pytest.approx(0.35)
    assert res.fold_acc[0] == pytest.approx(0.75)  # .7 S ok, .6 D wrong, .4 S ok, .3 D ok
    assert res.fold_acc[1] == 1.0 and res.fold_acc[2] == 1.0
    assert res.mean == pytest.approx((0.75 + 1 + 1) / 3)
    assert res.std == pytest.approx(np.std([0.75, 1, 1]))


def test_roc_tar_far_interpolation_auc_eer() -> None:
    # 4 positives, 4 negatives
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    same = np.array([1, 1, 0, 1, 0, 1, 0, 0], bool)
    fpr, tpr, _ = roc_curve(scores, same)
    assert np.allclose(fpr, [0, 0, 0, 0.25, 0.25, 0.5, 0.5, 0.75, 1])
    assert np.allclose(tpr, [0, 0.25, 0.5, 0.5, 0.75, 0.75, 1, 1, 1])
    assert tar_at_far(scores, same, 0.0) == pytest.approx(0.5)  # best point at FAR exactly 0
    assert tar_at_far(scores, same, 0.25) == pytest.approx(0.75)
    assert tar_at_far(scores, same, 0.125) == pytest.approx(0.625)  # halfway (0,.5)-(.25,.75)
    assert tar_at_far(scores, same, 0.375) == pytest.approx(0.875)
    # AUC = P(score_pos > score_neg) = (4+4+3+2)/16
    assert auc(scores, same) == pytest.approx(13 / 16)
    assert eer(scores, same) == pytest.approx(0.25)


def test_perfect_and_random_separation() -> None:
    rng = np.random.default_rng(0)
    same = rng.random(2000) < 0.5
    perfect = same + rng.random(2000) * 0.5
    assert auc(perfect, same) == 1.0 and eer(perfect, same) == 0.0 and tar_at_far(perfect, same, 1e-3) == 1.0
    noise = rng.random(2000)
    assert abs(auc(noise, same) - 0.5) < 0.05


def test_cmc_hand_case() -> None:
    sim = np.array([[0.9, 0.1, 0.3],   # probe of id 0: rank 1
                    [0.8, 0.7, 0.1],   # probe of id 1: rank 2
                    [0.5, 0.6, 0.2]])  # probe of id 2: rank 3
    curve = cmc(sim, np.array([0, 1, 2]), np.array([0, 1, 2]), max_rank=3)
    assert np.allclose(curve, [1 / 3, 2 / 3, 1])
