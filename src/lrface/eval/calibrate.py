"""Fitting a recognizer's thresholds on non-test data (``lrface calibrate``), and storing them in
the manifest of a published (or shipped) model.

- ``fit_thresholds``: the best-accuracy threshold on LFW View 1 pairsDevTrain, checked on
  pairsDevTest; with a grid of r, a threshold for every pair of resolutions (``Calibration``), and
  its pairsDevTest accuracy, HR vs r (CR) and r vs r (ER).
- ``fit_operating_points``: thresholds at stated error rates (``eval.openset``), on peopleDevTrain.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ..data.lfw import lfw_pairs
from ..degrade import Reduce
from ..errors import LrfaceError
from ..metrics import accuracy, best_threshold
from ..models.published import read_manifest, set_manifest_field, write_manifest_entry
from ..recognize.calibration import Calibration, fit_calibration
from ..recognize.embeddings import Embedder
from .verification import VerificationEval


@dataclass
class ThresholdFit:
    threshold: float
    train_accuracy: float
    test_accuracy: float
    calibration: Calibration | None = None
    # (r, CR, ER) accuracy at the table's thresholds
    test_rows: list[tuple[float, float | None, float | None]] = field(default_factory=list)


def storable(model: str, weights: str | None) -> None:
    """Refuse (before minutes of embedding) a save that has nowhere to go; a shipped model gets its
    manifest entry."""
    from ..models.shipped import LICENCES, SHIPPED

    if weights is not None:
        raise LrfaceError("--save stores the threshold of a published model's own weights; drop --weights")
    if model not in read_manifest():
        if model not in SHIPPED:
            raise LrfaceError(f"{model} is not in weights/manifest.json; only published models store thresholds")
        write_manifest_entry(model, {"kind": "shipped", "source": LICENCES[model].source})


def fit_thresholds(rec: Any, data_root: str | None = None, grid: Sequence[float] | None = None) -> ThresholdFit:
    ev_train = VerificationEval(Embedder(rec, Reduce()), lfw_pairs(data_root, "pairsDevTrain.txt"))
    ev_test = VerificationEval(Embedder(rec, Reduce()), lfw_pairs(data_root, "pairsDevTest.txt"))
    thr, acc_train = best_threshold(ev_train.run("hr").scores[0], ev_train.pairs.same)
    fit = ThresholdFit(thr, acc_train, accuracy(ev_test.run("hr").scores[0], ev_test.pairs.same, thr))
    if grid:
        def as_res(r: float) -> float | int:
            return int(r) if float(r).is_integer() else r

        fit.calibration = fit_calibration(lambda a, b: ev_train.scores(as_res(a), as_res(b)), ev_train.pairs.same,
                                          list(grid), source="LFW pairsDevTrain")
        rec.calibration = fit.calibration
        fit.test_rows = [(r, ev_test.run("cr", int(r)).calibrated_accuracy, ev_test.run("er", int(r)).calibrated_accuracy)
                         for r in grid]
    return fit


def save_thresholds(model: str, fit: ThresholdFit) -> None:
    set_manifest_field(model, "threshold", round(fit.threshold, 4))
    if fit.calibration is not None:
        set_manifest_field(model, "calibration", fit.calibration.to_dict())


def fit_operating_points(rec: Any, model: str, data_root: str | None, max_images: int, save: bool) -> tuple:
    """(FAR tables, FNMR tables, open-set calibration, TAR rows), stored in the manifest with ``save``."""
    from .openset import calibration_bank
    from .openset import fit_operating_points as fit

    probes, gallery = calibration_bank(rec, data_root, max_images)
    far, frr, osc, rows = fit(rec, probes, gallery)
    if save:
        set_manifest_field(model, "far_tables", far.to_dict())
        set_manifest_field(model, "frr_tables", frr.to_dict())
        set_manifest_field(model, "open_set", osc.to_dict())
    return far, frr, osc, rows
