"""Face detection (dlib HOG or MMOD CNN) and 5-point landmarks (dlib shape predictor)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import dlib
import numpy as np

from ..errors import LrfaceError
from ..paths import dlib_model_file

DETECTORS = ("hog", "mmod")


@dataclass(frozen=True)
class Face:
    """A detected face: box (left, top, right, bottom) in pixels, 5 landmarks (x, y), score.

    Landmark order is dlib's 5-point model: right-eye outer/inner corner (image left = subject's
    right... as dlib numbers them: 0,1 one eye, 2,3 the other, 4 below the nose).
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def eye_distance(self) -> float:
        """Inter-ocular distance in pixels (between the eye centres)."""
        a = self.landmarks[0:2].mean(0)
        b = self.landmarks[2:4].mean(0)
        return float(np.linalg.norm(a - b))


@lru_cache(maxsize=None)
def _hog() -> "dlib.fhog_object_detector":
    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=None)
def _mmod() -> "dlib.cnn_face_detection_model_v1":
    return dlib.cnn_face_detection_model_v1(str(dlib_model_file("mmod_human_face_detector.dat")))


@lru_cache(maxsize=None)
def _shape_predictor() -> "dlib.shape_predictor":
    return dlib.shape_predictor(str(dlib_model_file("shape_predictor_5_face_landmarks.dat")))


def landmarks_for_box(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """5 landmarks inside ``box`` (left, top, right, bottom) as a float (5, 2) array."""
    rect = dlib.rectangle(*(int(round(v)) for v in box))
    shape = _shape_predictor()(np.ascontiguousarray(image), rect)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def detect_faces(image: np.ndarray, detector: str = "hog", upsample: int | None = None) -> list[Face]:
    """All faces in an RGB uint8 image, largest first.

    ``upsample=None`` tries 0 then 1 upsampling (faces down to about 40 px) for HOG.
    """
    if detector not in DETECTORS:
        raise LrfaceError(f"unknown detector {detector!r}; choose from {', '.join(DETECTORS)}")
    image = np.ascontiguousarray(image)
    if min(image.shape[:2]) < 16:
        return []
    tries = [upsample] if upsample is not None else [0, 1]
    rects: list[tuple[dlib.rectangle, float]] = []
    for up in tries:
        if detector == "hog":
            dets, scores, _ = _hog().run(image, up, 0.0)
            rects = list(zip(dets, scores))
        else:
            rects = [(d.rect, d.confidence) for d in _mmod()(image, up)]
        if rects:
            break
    faces = []
    for rect, score in rects:
        box = (float(rect.left()), float(rect.top()), float(rect.right()), float(rect.bottom()))
        faces.append(Face(box, landmarks_for_box(image, box), float(score)))
    return sorted(faces, key=lambda f: -f.width)
