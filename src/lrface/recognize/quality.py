"""Face quality: how much detail a face holds, and whether it is good enough to decide at all.

**Effective resolution.** The measured resolution r of ``align.framing`` is geometry: the
inter-ocular distance. A 24x33 px capture from a cheap camera is often so blurred that it carries
the detail of an 8 px face; routed and calibrated by its geometry, it gets the HR expert and the HR
threshold. ``detail_resolution`` measures detail instead: on the grey face interior of the 150 px
dlib chip it computes the *detail curve*

    L(p) = || g - up(down(g, p)) ||^2 / || g - mean(g) ||^2,   p in ``DETAIL_PROBES`` (chip px),

the fraction of the face's contrast lost when it is brought down to p px and back (bicubic,
anti-aliased). A face holding the detail of a sharp face at r has the curve of a sharp face
reduced to r (``lrface.degrade.Reduce``), so the detail resolution is the r whose reference
curve (``DETAIL_REFERENCE``: mean log curve of 300 sharp celeba-subset chips reduced to each r
of ``DETAIL_GRID``, printed by ``fit_detail_reference``) is nearest in log space, interpolated
between the two nearest grid points. The effective resolution is

    r_eff = min(r_geom, r_detail).

Measured on 100 held-out chips: bicubic reduction to r = 8 / 16 / 32 / 112 reads as r_detail
8 / 16 / 32 / 112 (median); Gaussian blur sigma 2 / 4 / 6 (chip px) on a sharp 150 px chip
reads 32 / 20 / 12; sensor noise sd 0.03 on a sharp chip leaves it at 112.

**Quality.** ``quality_score`` multiplies three terms in [0, 1]: resolution
``log(r_eff / 4) / log(112 / 4)``, pose ``1 - (yaw / YAW_LIMIT)^2`` (yaw proxy: the nose's offset
from the eyes' midpoint along the eye axis, in inter-ocular distances, 0 frontal, about 0.5 in
profile) and the model's own agreement ``(c - CONSISTENCY_FLOOR) / (1 - CONSISTENCY_FLOOR)`` where c
is the cosine of the face's embedding and its mirror image's. The detector score is reported
beside it, not mixed in (scores of different detectors are not comparable).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

DETAIL_PROBES = (5, 7, 10, 14, 20, 28, 40, 56, 80)  # chip px of the 110 px face interior
DETAIL_GRID = (5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 56, 112)
INTERIOR = (20, 130)  # rows/columns of the 150 px dlib chip that hold the face, not the background
_EPS = 1e-4
# mean log(L(p) + 1e-4) of 300 sharp celeba-subset dlib chips reduced to each r of DETAIL_GRID
# (rows) at each probe p of DETAIL_PROBES (columns); printed by `python -m lrface.recognize.quality`.
DETAIL_REFERENCE = np.array([
    [-3.0266, -4.3789, -5.5895, -6.5213, -7.4134, -8.1150, -8.6415, -8.9608, -9.1419],
    [-3.0266, -4.3789, -5.5895, -6.5213, -7.4134, -8.1150, -8.6415, -8.9608, -9.1419],
    [-2.4429, -3.6950, -5.0430, -6.0836, -7.0236, -7.8106, -8.4500, -8.8617, -9.1142],
    [-2.5570, -3.3922, -4.7047, -5.8628, -6.8541, -7.6525, -8.3388, -8.7922, -9.0935],
    [-1.7982, -3.2097, -4.4149, -5.5557, -6.6395, -7.5356, -8.2427, -8.7249, -9.0671],
    [-1.5754, -2.6336, -4.0835, -5.3444, -6.4111, -7.2632, -8.0240, -8.5902, -9.0230],
    [-1.4023, -2.4343, -3.4872, -4.9348, -6.2642, -7.1998, -7.9712, -8.5505, -9.0070],
    [-1.3381, -2.3317, -3.7082, -4.7215, -6.0731, -7.1079, -7.9138, -8.5102, -8.9852],
    [-1.1656, -1.9925, -2.9690, -4.2734, -5.6674, -6.7129, -7.6117, -8.3133, -8.9074],
    [-1.0703, -1.7900, -2.6176, -3.7242, -5.0288, -6.3313, -7.4868, -8.2587, -8.8548],
    [-1.0246, -1.6846, -2.4172, -3.3893, -4.8836, -6.1111, -7.2124, -8.0611, -8.7809],
    [-0.9797, -1.5845, -2.2317, -3.1066, -4.5142, -5.7070, -7.0570, -8.0282, -8.7543],
    [-0.9298, -1.4732, -2.0235, -2.7446, -3.8539, -5.0621, -6.6259, -7.7442, -8.6070],
    [-0.8785, -1.3611, -1.8182, -2.3794, -3.2333, -4.3947, -5.8086, -7.1324, -8.2716],
    [-0.8320, -1.2629, -1.6453, -2.0717, -2.6375, -3.2955, -4.0954, -4.9760, -6.0974],
])
YAW_LIMIT = 0.6  # yaw proxy at which the pose term reaches 0 (profile views)
CONSISTENCY_FLOOR = 0.5  # flip agreement at or below which the model term is 0
BLUR_NOTE_R = 32.0  # below this, a face much blurrier than its size is worth a note
MIN_TERM = 0.05  # no term drives the product to exactly 0 (ranking still works at the bottom)


def _grey_interior(chips: torch.Tensor) -> torch.Tensor:
    """N x 3 x 150 x 150 chips in [0, 1] -> N x 1 x 110 x 110 grey face interiors."""
    if chips.shape[-1] != 150:
        chips = F.interpolate(chips, size=(150, 150), mode="bicubic", align_corners=False).clamp(0, 1)
    g = (chips * torch.tensor([0.299, 0.587, 0.114], dtype=chips.dtype).view(1, 3, 1, 1)).sum(1, keepdim=True)
    a, b = INTERIOR
    return g[:, :, a:b, a:b]


@torch.inference_mode()
def detail_curve(chips: torch.Tensor) -> torch.Tensor:
    """log(L(p) + 1e-4) for every probe p (module doc): N x len(DETAIL_PROBES)."""
    g = _grey_interior(chips.float())
    side = g.shape[-1]
    var = ((g - g.mean((2, 3), keepdim=True)) ** 2).mean((1, 2, 3)).clamp_min(1e-8)
    out = []
    for p in DETAIL_PROBES:
        lo = F.interpolate(g, size=(p, p), mode="bicubic", antialias=True, align_corners=False)
        up = F.interpolate(lo, size=(side, side), mode="bicubic", align_corners=False)
        out.append(((g - up) ** 2).mean((1, 2, 3)) / var)
    return torch.log(torch.stack(out, 1) + _EPS)


def detail_resolution(chips: torch.Tensor | np.ndarray) -> np.ndarray:
    """The r whose sharp-face reference curve is nearest each chip's detail curve (module doc).

    ``chips``: 150 px dlib chips, uint8 N x H x W x 3 or float N x 3 x H x W in [0, 1]."""
    x = chips if isinstance(chips, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(chips))
    if x.dtype == torch.uint8:
        x = x.permute(0, 3, 1, 2).float() / 255
    if len(x) == 0:
        return np.zeros(0)
    c = detail_curve(x).numpy().astype(np.float64)
    d = ((c[:, None, :] - DETAIL_REFERENCE[None]) ** 2).sum(-1)  # N x grid
    order = np.argsort(d, axis=1)[:, :2]
    lg = np.log(np.asarray(DETAIL_GRID, np.float64))
    d0 = np.take_along_axis(d, order[:, :1], 1)[:, 0]
    d1 = np.take_along_axis(d, order[:, 1:2], 1)[:, 0]
    w0 = d1 / np.maximum(d0 + d1, 1e-12)  # the nearer reference weighs more
    return np.exp(w0 * lg[order[:, 0]] + (1 - w0) * lg[order[:, 1]])


def fit_detail_reference(chips: torch.Tensor, grid: Sequence[int] = DETAIL_GRID) -> np.ndarray:
    """Mean detail curve of sharp chips reduced to each r of ``grid`` (how DETAIL_REFERENCE was made)."""
    from ..degrade import Reduce

    red = Reduce()
    return np.stack([detail_curve(red(chips, int(r), "dlib")).mean(0).numpy() for r in grid])


def yaw_proxy(landmarks: np.ndarray, points: np.ndarray | None = None) -> float:
    """Signed offset of the nose from the eyes' midpoint along the eye axis, in inter-ocular
    distances (0 frontal; about +-0.5 in profile). dlib-order ``landmarks`` (eye corners, nose), or a
    detector's own 5 ``points`` (eye, eye, nose, mouth, mouth) when it has them."""
    p = np.asarray(points if points is not None else landmarks, np.float64)
    if points is not None:
        a, b, nose = p[0], p[1], p[2]
    else:
        a, b, nose = p[0:2].mean(0), p[2:4].mean(0), p[4]
    axis = b - a
    iod = float(np.linalg.norm(axis))
    if iod < 1e-6:
        return 0.0
    return float(np.dot(nose - (a + b) / 2, axis / iod) / iod)


def resolution_term(r_eff: float) -> float:
    return float(min(1.0, max(MIN_TERM, math.log(max(r_eff, 4.0) / 4.0) / math.log(112.0 / 4.0))))


def pose_term(yaw: float | None) -> float:
    return 1.0 if yaw is None else float(max(MIN_TERM, 1.0 - (abs(yaw) / YAW_LIMIT) ** 2))


def consistency_term(consistency: float | None) -> float:
    if consistency is None:
        return 1.0
    return float(min(1.0, max(MIN_TERM, (consistency - CONSISTENCY_FLOOR) / (1.0 - CONSISTENCY_FLOOR))))


def quality_score(r_eff: float, yaw: float | None = None, consistency: float | None = None) -> float:
    """Quality in (0, 1]: resolution x pose x model agreement (module doc)."""
    return resolution_term(r_eff) * pose_term(yaw) * consistency_term(consistency)


@dataclass
class FaceQuality:
    """What was measured on one face; ``score`` combines them (``quality_score``)."""

    r_eff: float
    r_geom: float
    r_detail: float
    yaw: float | None = None
    detector_score: float | None = None
    consistency: float | None = None

    @property
    def score(self) -> float:
        return quality_score(self.r_eff, self.yaw, self.consistency)

    @property
    def blurred(self) -> bool:
        """Holds clearly less detail than its pixel size suggests, and little enough for that to
        matter (detail above ``BLUR_NOTE_R`` is handled as a large face either way)."""
        return self.r_detail < 0.6 * min(self.r_geom, 112.0) and self.r_detail < BLUR_NOTE_R

    def to_dict(self) -> dict[str, Any]:
        def rnd(v: float | None, n: int = 3) -> float | None:
            return None if v is None else round(float(v), n)

        return {"score": rnd(self.score), "r_eff": rnd(self.r_eff, 1), "r_geom": rnd(self.r_geom, 1),
                "r_detail": rnd(self.r_detail, 1), "yaw": rnd(self.yaw), "detector_score": rnd(self.detector_score),
                "consistency": rnd(self.consistency, 4)}


def measure(chip150: np.ndarray, r_geom: float, yaw: float | None = None,
            detector_score: float | None = None) -> FaceQuality:
    """Quality of one face from its 150 px dlib chip (uint8 H x W x 3) and geometric r."""
    r_detail = float(detail_resolution(chip150[None])[0])
    return FaceQuality(min(float(r_geom), r_detail), float(r_geom), r_detail, yaw, detector_score)


if __name__ == "__main__":  # re-measure DETAIL_REFERENCE on 300 celeba-subset chips
    import random

    from ..data.facecache import FAILED, aligned_crops
    from ..paths import data_root

    random.seed(0)
    files = sorted((data_root() / "celeba-subset").glob("*/*.jpg"))
    random.shuffle(files)
    cs = aligned_crops(files[:300], "dlib", 150, "hog", progress=False)
    x = torch.from_numpy(cs.crops[cs.status != FAILED]).permute(0, 3, 1, 2).float() / 255
    ref = fit_detail_reference(x)
    print("DETAIL_REFERENCE = np.array([")
    for row in ref:
        print("    [" + ", ".join(f"{v:.4f}" for v in row) + "],")
    print("])")
