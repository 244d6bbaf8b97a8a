"""What recognition returns: ``PreparedFace`` (an aligned face and what was measured on the way)
and ``Verification`` (a pair's score, threshold and decision), both with ``to_dict()``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..align.framing import REFERENCE_CROP, resolution_from_eyes
from ..results import JsonResult

if TYPE_CHECKING:
    from .quality import FaceQuality

SMALL_FACE_EYE_PX = 24.0  # below this inter-ocular distance, recognition degrades sharply


@dataclass
class PreparedFace(JsonResult):
    """An aligned face and what was measured on the way.

    ``crop``: the chip at the model input (HR expert); ``small_chip``: the chip at the size of the
    detail the face holds (the model's framing: about 0.904 r px for dlib chips, r px for ArcFace
    crops; what LR experts read), None for full-resolution faces; ``r``: the effective resolution
    (px of a 112 ArcFace crop; ``quality`` holds the geometric one beside it); ``framing``:
    ``photo`` when the face was detected, else the declared crop framing.
    """

    crop: np.ndarray
    source: str
    face_px: float  # detected box width, or the crop side for crops
    eye_px: float | None  # inter-ocular distance in the source image (None for declared crops)
    n_faces: int
    r: float = float(REFERENCE_CROP)
    framing: str = "photo"
    small_chip: np.ndarray | None = None
    fallback: bool = False  # auto mode found no face and took the image as a crop
    upside_down: bool = False  # the detector scores the face higher turned 180 degrees
    box: tuple[float, float, float, float] | None = None  # the detected face used (left, top, right, bottom)
    quality: "FaceQuality | None" = None  # effective resolution and the rest (``lrface.recognize.quality``)
    no_face: bool = False  # a declared crop in which no detector finds a face (``face_in_crop``)

    @property
    def r_geom(self) -> float:
        """Resolution from geometry alone (``r`` is the effective, blur-aware resolution)."""
        return self.quality.r_geom if self.quality is not None else self.r

    @property
    def small(self) -> bool:
        """Few pixels between the eyes (geometry; a blurred large face gets the blur note instead)."""
        return self.r_geom < resolution_from_eyes(SMALL_FACE_EYE_PX)

    def to_dict(self, expert: str | None = None) -> dict[str, Any]:
        return {"source": self.source, "framing": self.framing, "face_px": self.face_px, "eye_px": self.eye_px,
                "r": round(self.r, 2), "expert": expert, "n_faces": self.n_faces,
                "box": None if self.box is None else [round(v, 1) for v in self.box],
                "quality": None if self.quality is None else self.quality.to_dict()}

    def notes(self, crop_option: str = "--crop-a/--crop-b") -> list[str]:
        """Warnings about this face; ``crop_option`` names the option of the calling command that
        declares a crop's framing."""
        out = []
        if self.no_face:
            out.append(f"no face found in the crop {self.source}: no decision is made on it")
        if self.n_faces > 1:
            out.append(f"{self.n_faces} faces found in {self.source}; using the largest")
        if self.fallback:
            out.append(f"no face detected in the small image {self.source}: taken as a {self.framing} face crop "
                       f"(declare the framing with {crop_option})")
        if self.upside_down:
            out.append(f"the face in {self.source} looks upside down (found more surely turned 180 degrees): "
                       "rotate the image for a reliable result")
        if self.quality is not None and self.quality.blurred:
            out.append(f"blurred face in {self.source}: {self.quality.r_geom:.0f} px of geometry hold the detail of "
                       f"r = {self.quality.r_detail:.0f}; handled as a face of r = {self.r:.0f}")
        elif self.small:
            what = f"{self.eye_px:.0f} px between the eyes" if self.eye_px is not None else f"a {self.face_px:.0f} px crop"
            out.append(f"small face in {self.source} ({what}, r = {self.r:.0f}): expect lower accuracy")
        return out


@dataclass
class Verification(JsonResult):
    """``same``: the score reaches the threshold (at ``far`` when operating points are fitted);
    ``reason`` set: a face is below the quality floor and the answer is "cannot decide"."""

    similarity: float
    threshold: float
    same: bool
    faces: tuple[PreparedFace, PreparedFace]
    experts: tuple[str, str] = ("hr", "hr")
    far: float | None = None
    reason: str | None = None
    different_below: float | None = None  # "different person" only below this score (FNMR tables)

    @property
    def decision(self) -> str:
        if self.reason is not None:
            return "cannot decide"
        if self.same:
            return "same person"
        if self.different_below is None or self.similarity < self.different_below:
            return "different person"
        return "cannot decide"

    def to_dict(self, model: str | None = None) -> dict[str, Any]:
        return {"same": {"same person": True, "different person": False}.get(self.decision), "decision": self.decision,
                "reason": self.reason, "similarity": self.similarity, "threshold": self.threshold, "far": self.far,
                "different_below": self.different_below, "model": model,
                "faces": [f.to_dict(e) for f, e in zip(self.faces, self.experts)],
                "warnings": [n for f in self.faces for n in f.notes()]}

    @property
    def explanation(self) -> str:
        """The decision in words, with the reason when no answer is given."""
        if self.reason is not None:
            return self.reason
        if self.decision == "cannot decide":
            from ..decision import DEFAULT_FNMR

            return (f"cannot decide: the similarity lies between {self.different_below:.4f} (below: different person; "
                    f"genuine pairs of these resolutions fall there at rate {DEFAULT_FNMR:g}) and {self.threshold:.4f} "
                    "(above: same person)")
        return self.decision
