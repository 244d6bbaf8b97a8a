"""Every face of a photo with how much detail it holds: box, landmarks, r and quality
(``lrface detect``, ``lrface.detect``). No recognizer needed; quality has no flip term here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..align import align, detect_faces
from ..align.framing import landmarks_resolution
from ..defaults import FIND_DETECTOR
from ..results import JsonResult
from .quality import FaceQuality, measure, yaw_proxy


@dataclass
class FoundFace(JsonResult):
    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray  # 5 points when the detector gives them, else dlib's 5
    eye_px: float
    r: float  # geometric resolution (px of a 112 px crop)
    quality: FaceQuality

    def to_dict(self) -> dict[str, Any]:
        return {"box": [round(float(v), 1) for v in self.box], "score": round(float(self.score), 3),
                "landmarks": np.round(self.landmarks, 1).tolist(), "eye_px": round(float(self.eye_px), 1),
                "r": round(float(self.r), 1), "quality": self.quality.to_dict()}


def find_faces(rgb: np.ndarray, detector: str = FIND_DETECTOR, min_r: float = 0.0) -> list[FoundFace]:
    """Faces of at least ``min_r`` in an RGB image, each with its effective resolution and quality."""
    out = []
    for f in detect_faces(rgb, detector):
        r = landmarks_resolution(f.landmarks)
        if r < min_r:
            continue
        q = measure(align(rgb, f.landmarks, 150, "dlib"), r, yaw_proxy(f.landmarks, f.points), f.score)
        out.append(FoundFace((f.box[0], f.box[1], f.box[2], f.box[3]), f.score, f.points if f.points is not None else f.landmarks,
                             f.eye_distance, r, q))
    return out
