"""Declared framings of face crops, and the measured resolution r of any face.

A crop given without detection (a tiny CCTV face, an ID-photo crop) is aligned from the framing
the user declares: its 5 landmarks are placed from the framing's template, then ``align`` makes
the model's chip as for a detected face. The framings:

- ``dlib``: a dlib face chip (``get_face_chip``, padding 0.25), any size;
- ``arcface``: the insightface 112 x 112 crop (eye centres on the ArcFace template), any size;
- ``tight``: the crop is a face-detector box (dlib HOG convention: brows to chin);
- ``loose``: about 2.2x the face box, face centred (LFW / CelebA-subset framing).

The ``tight`` and ``loose`` templates are the medians of HOG detections measured on 150 random
images each of LFW, CelebA-subset and UTKFace (``tests/test_framing.py`` re-measures them).

Resolution r is in the unit of ``lrface.degrade.resize``: the face as it appears in a 112 px
ArcFace crop reduced to r x r, i.e. r = inter-ocular distance * 112 / 35.24.
"""
from __future__ import annotations

import numpy as np

from ..errors import LrfaceError
from .transform import ARCFACE_112, ARCFACE_EYE_DISTANCE, DLIB_5PT_TEMPLATE

REFERENCE_CROP = 112  # r is defined on the 112 px ArcFace crop
# dlib 5-point order: eye A outer, eye A inner, eye B outer, eye B inner, nose (x right, y down),
# in units of a square crop's side.
_DLIB_CHIP = (0.25 + DLIB_5PT_TEMPLATE) / 1.5
_TIGHT = np.array([[0.768, 0.266], [0.600, 0.275], [0.186, 0.276], [0.349, 0.280], [0.476, 0.594]])
_LOOSE = np.array([[0.618, 0.454], [0.550, 0.458], [0.378, 0.460], [0.446, 0.462], [0.502, 0.592]])


def _arcface_as_dlib() -> np.ndarray:
    """The dlib 5 points placed so that their eye centres sit on the ArcFace template's eyes."""
    src_eyes = np.stack([_DLIB_CHIP[2:4].mean(0), _DLIB_CHIP[0:2].mean(0)])
    dst_eyes = ARCFACE_112[:2] / REFERENCE_CROP
    scale = np.linalg.norm(dst_eyes[1] - dst_eyes[0]) / np.linalg.norm(src_eyes[1] - src_eyes[0])
    return (_DLIB_CHIP - src_eyes.mean(0)) * scale + dst_eyes.mean(0)


FRAMINGS: dict[str, np.ndarray] = {
    "dlib": _DLIB_CHIP,
    "arcface": _arcface_as_dlib(),
    "tight": _TIGHT,
    "loose": _LOOSE,
}


def eye_fraction(framing: str) -> float:
    """Inter-ocular distance as a fraction of the crop side for ``framing``."""
    t = _template(framing)
    return float(np.linalg.norm(t[0:2].mean(0) - t[2:4].mean(0)))


def _template(framing: str) -> np.ndarray:
    if framing not in FRAMINGS:
        raise LrfaceError(f"unknown framing {framing!r}; choose from {', '.join(FRAMINGS)}")
    return FRAMINGS[framing]


def crop_landmarks(height: int, width: int, framing: str) -> np.ndarray:
    """The 5 dlib-order landmarks (x, y) of a crop of ``framing``: the template on the centred
    square of side min(height, width)."""
    side = float(min(height, width))
    offset = np.array([(width - side) / 2.0, (height - side) / 2.0])
    # template coordinates span the pixel centres 0 .. side - 1 (as dlib's chip mapping does)
    return _template(framing) * (side - 1) + offset


def resolution_from_eyes(eye_px: float) -> float:
    """r (px of a 112 ArcFace crop) of a face whose eye centres are ``eye_px`` apart."""
    return float(eye_px) * REFERENCE_CROP / ARCFACE_EYE_DISTANCE


def eyes_from_resolution(r: float) -> float:
    return float(r) * ARCFACE_EYE_DISTANCE / REFERENCE_CROP


def crop_resolution(height: int, width: int, framing: str) -> float:
    """Measured r of a crop of ``framing``: its inter-ocular distance in px, in units of r."""
    return resolution_from_eyes(eye_fraction(framing) * min(height, width))


def landmarks_resolution(landmarks: np.ndarray) -> float:
    """Measured r of a face from its 5 dlib-order landmarks (inter-ocular distance)."""
    lm = np.asarray(landmarks, np.float64)
    return resolution_from_eyes(float(np.linalg.norm(lm[0:2].mean(0) - lm[2:4].mean(0))))
