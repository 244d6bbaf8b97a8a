"""The decision settings, written once: at what error rate a face is named, and when lrface declines.

- ``DEFAULT_FAR``: verification (``verify``, scan's track association uses ``TRACK_FAR``) accepts a
  pair when its score reaches the threshold at which impostor pairs of the two faces' effective
  resolutions are accepted at this rate (``operating.FarTables``).
- ``DEFAULT_FNMR``: ``verify`` says "different person" only when the score is below the one that
  this share of genuine pairs of those resolutions falls under; between the two thresholds (tiny
  faces, where the score distributions overlap) the answer is "cannot decide".
- ``DEFAULT_FPIR``: open-set 1:N identification (``identify``, ``scan``, the gallery API, also
  ``--method mitm``) names a person only when the best score reaches the threshold at which a
  stranger would be named with this probability against a gallery of this size
  (``operating.OpenSetCalibration``).
- ``QUALITY_FLOOR`` / ``MIN_R_EFF``: below either, a face gets "cannot decide (quality)", never a
  name and never "different person". ``MIN_R_EFF``: below r = 8 the default model accepts fewer
  than 1 in 10 genuine pairs (HR photo vs a face at r) at FAR 1e-3 (5.2 % at r = 5, 5.7 % at 7,
  9.6 % at 8; printed by ``lrface calibrate -m dlib_routed --operating-points``), so neither a name
  nor a "different person" would mean anything. ``QUALITY_FLOOR`` catches what resolution alone
  does not (profile views, faces the model does not agree with in their mirror image); the
  accuracy by quality decile of ``lrface eval-quality`` shows what it removes (README).
"""
from __future__ import annotations

from typing import Any

DEFAULT_FAR = 1e-3
DEFAULT_FNMR = 1e-2  # verify says "different person" only below the score 1 % of genuine pairs fall under
DEFAULT_FPIR = 1e-2
TRACK_FAR = 1e-4  # scan: a face joins a track only if it verifies against it at this FAR
QUALITY_FLOOR = 0.08
MIN_R_EFF = 8.0

MATCH, UNKNOWN, UNDECIDED = "match", "unknown", "cannot decide"


def undecidable(face: Any) -> str | None:
    """Why ``face`` (a PreparedFace) cannot be decided on, or None when it can."""
    if getattr(face, "no_face", False):
        return "cannot decide (quality): no face found in the crop"
    q = getattr(face, "quality", None)
    if q is None:
        return None
    if q.r_eff < MIN_R_EFF:
        return f"cannot decide (quality): the face holds the detail of r = {q.r_eff:.1f} (< {MIN_R_EFF:g})"
    if q.score < QUALITY_FLOOR:
        return f"cannot decide (quality): quality {q.score:.3f} < {QUALITY_FLOOR:g}"
    return None


def verification_threshold(rec: Any, r_a: float, r_b: float, far: float | None = None) -> float | None:
    """The recognizer's threshold for a pair at ``far`` (default ``DEFAULT_FAR``); without fitted
    operating points, its best-accuracy table or single threshold (old behaviour)."""
    tables = getattr(rec, "far_tables", None)
    if tables is not None:
        return tables.threshold(r_a, r_b, DEFAULT_FAR if far is None else far)
    cal = getattr(rec, "calibration", None)
    return cal.threshold(r_a, r_b) if cal is not None else getattr(rec, "threshold", None)


def different_threshold(rec: Any, r_a: float, r_b: float, fnmr: float | None = None) -> float | None:
    """The score below which a pair is called "different person" (None: no FNMR tables fitted)."""
    tables = getattr(rec, "frr_tables", None)
    return None if tables is None else tables.threshold(r_a, r_b, DEFAULT_FNMR if fnmr is None else fnmr)


def open_set_threshold(rec: Any, r: float, n: int, fpir: float | None = None, gallery_r: float = 112.0) -> float | None:
    """Open-set threshold for a probe at r against ``n`` identities at ``fpir`` (default
    ``DEFAULT_FPIR``); falls back to the verification threshold at FAR = FPIR / n."""
    fpir = DEFAULT_FPIR if fpir is None else fpir
    table = getattr(rec, "open_set", None)
    if table is not None:
        return table.threshold(r, n, fpir)
    if getattr(rec, "far_tables", None) is not None:
        return verification_threshold(rec, r, gallery_r, fpir / max(n, 1))
    return verification_threshold(rec, r, gallery_r)
