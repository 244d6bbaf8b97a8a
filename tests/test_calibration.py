"""Resolution-aware thresholds: isotonic fitting, monotonicity, interpolation, a fit on scores."""
from __future__ import annotations

import numpy as np
import pytest

from lrface.errors import LrfaceError
from lrface.recognize.calibration import Calibration, fit_calibration, isotonic, monotone_symmetric


def test_isotonic_pools_violators() -> None:
    assert isotonic([1, 3, 2, 4]).tolist() == [1, 2.5, 2.5, 4]
    assert isotonic([3, 2, 1]).tolist() == [2, 2, 2]
    assert isotonic([1, 2, 3]).tolist() == [1, 2, 3]


def test_monotone_symmetric_table() -> None:
    rng = np.random.default_rng(0)
    base = np.add.outer(np.linspace(0.5, 0.9, 6), np.linspace(0.5, 0.9, 6)) / 2
    noisy = base + rng.normal(0, 0.03, base.shape)
    t = monotone_symmetric(noisy)
    assert np.allclose(t, t.T)
    assert (np.diff(t, axis=0) >= -1e-12).all() and (np.diff(t, axis=1) >= -1e-12).all()
    assert np.abs(t - base).mean() < np.abs(noisy - base).mean()  # smoothing moved it towards the truth


def test_threshold_interpolates_and_clamps() -> None:
    cal = Calibration([5, 10, 20], np.array([[0.1, 0.2, 0.3], [0.2, 0.4, 0.5], [0.3, 0.5, 0.9]]))
    assert cal.threshold(10, 20) == pytest.approx(0.5)
    assert cal.threshold(20, 10) == pytest.approx(0.5)
    assert cal.threshold(2, 3) == pytest.approx(0.1) and cal.threshold(500, 500) == pytest.approx(0.9)
    mid = cal.threshold(np.sqrt(50), 5)  # half way between 5 and 10 in log r
    assert mid == pytest.approx(0.15)
    again = Calibration.from_dict(cal.to_dict())
    assert again.threshold(7, 13) == pytest.approx(cal.threshold(7, 13))
    with pytest.raises(LrfaceError):
        Calibration([5, 10], np.zeros((3, 3)))
    with pytest.raises(LrfaceError):
        Calibration.from_dict({"grid": [5]})


def test_fit_recovers_resolution_dependent_thresholds() -> None:
    """Synthetic embeddings whose genuine similarity falls with resolution: the fitted thresholds
    fall with resolution too, and separate the pairs well in every cell."""
    rng = np.random.default_rng(1)
    n_id, dim = 200, 32
    ident = rng.normal(size=(n_id, dim))
    left = np.arange(n_id)
    right = np.concatenate([np.arange(n_id // 2), (np.arange(n_id // 2, n_id) + 7) % n_id])
    same = left == right
    same_img = rng.normal(size=(n_id, dim))

    def embed(r: float) -> np.ndarray:
        noise = 3.0 / r  # smaller faces: noisier embeddings
        e = ident + 0.3 * same_img + noise * rng.normal(size=(n_id, dim)) * 3
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    emb = {r: embed(r) for r in (4, 8, 16, 64)}
    cal = fit_calibration(lambda a, b: (emb[a][left] * emb[b][right]).sum(1), same, grid=[4, 8, 16, 64])
    diag = [cal.threshold(r, r) for r in (4, 8, 16, 64)]
    assert diag == sorted(diag) and diag[-1] - diag[0] > 0.1
    assert cal.threshold(4, 64) <= cal.threshold(16, 64) <= cal.threshold(64, 64)
    assert min(cal.accuracy.values()) > 0.8
