"""High-level API: ``Recognizer().embed(images)``, ``compare``, ``verify``."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from .align import align, detect_faces, resize_crop
from .errors import LrfaceError
from .imageio import load_image
from .models import create_model

# Cosine-similarity thresholds calibrated on LFW View 1 (pairsDevTrain): best-accuracy threshold,
# printed by `lrface calibrate --model NAME`.
DEFAULT_THRESHOLDS: dict[str, float] = {"dlib_resnet": 0.9094}
SMALL_FACE_EYE_PX = 24.0  # below this inter-ocular distance, recognition degrades sharply

ImageLike = str | os.PathLike[str] | np.ndarray


def default_threshold(model: str) -> float | None:
    """Calibrated threshold: built-in table, else the weights manifest's ``threshold``, else None."""
    if model in DEFAULT_THRESHOLDS:
        return DEFAULT_THRESHOLDS[model]
    from .models.published import read_manifest

    thr = read_manifest().get(model, {}).get("threshold")
    return None if thr is None else float(thr)


def center_crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Square aligned crops -> the model's (h, w) input by cropping the sides (e.g. 112x112 -> 112x96)."""
    h, w = x.shape[-2:]
    if (h, w) == tuple(size) or size[0] > h or size[1] > w:
        return x
    top, left = (h - size[0]) // 2, (w - size[1]) // 2
    return x[..., top : top + size[0], left : left + size[1]]


def resolve_device(device: str | None = None) -> torch.device:
    """``"auto"``/None -> CUDA when present, else CPU; anything else is passed to torch."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass
class PreparedFace:
    """An aligned crop and what was measured on the way."""

    crop: np.ndarray
    source: str
    face_px: float  # detected box width, or the crop side for --aligned inputs
    eye_px: float | None  # inter-ocular distance in the source image (None when not detected)
    n_faces: int

    @property
    def small(self) -> bool:
        if self.eye_px is not None:
            return self.eye_px < SMALL_FACE_EYE_PX
        return self.face_px < SMALL_FACE_EYE_PX

    def notes(self) -> list[str]:
        out = []
        if self.n_faces > 1:
            out.append(f"{self.n_faces} faces found in {self.source}; using the largest")
        if self.small:
            what = f"{self.eye_px:.0f} px between the eyes" if self.eye_px is not None else f"a {self.face_px:.0f} px crop"
            out.append(f"small face in {self.source} ({what}): expect lower accuracy")
        return out


@dataclass
class Verification:
    similarity: float
    threshold: float
    same: bool
    faces: tuple[PreparedFace, PreparedFace]


class Recognizer:
    """A registered backbone plus detection and alignment; embeddings are L2-normalised."""

    def __init__(self, model: str = "dlib_resnet", weights: str | Path | None = None, device: str | None = None,
                 batch_size: int = 32, detector: str = "hog") -> None:
        self.model_name = model
        self.device = resolve_device(device)
        self.model = create_model(model, weights=weights).to(self.device).to(memory_format=torch.channels_last)
        self.batch_size = batch_size
        self.detector = detector
        self.input_size: tuple[int, int] = tuple(self.model.input_size)  # type: ignore[assignment]
        self.style: str = self.model.align_style
        # None: no calibrated threshold for these weights (verify then asks for --threshold)
        self.threshold = default_threshold(model) if weights is None else None

    @classmethod
    def from_model(cls, model: torch.nn.Module, name: str = "custom", batch_size: int = 32,
                   detector: str = "hog") -> "Recognizer":
        """Wrap an in-memory backbone (e.g. during training) without loading weights."""
        rec = cls.__new__(cls)
        rec.model_name, rec.model, rec.batch_size, rec.detector = name, model, batch_size, detector
        rec.device = next(model.parameters()).device
        rec.input_size = tuple(model.input_size)  # type: ignore[assignment]
        rec.style = model.align_style
        rec.threshold = None
        return rec

    def prepare(self, image: ImageLike, aligned: bool = False) -> PreparedFace:
        """Load, detect the largest face and align it; ``aligned`` treats the whole image as the crop."""
        source = str(image) if not isinstance(image, np.ndarray) else "<array>"
        rgb = load_image(image) if not isinstance(image, np.ndarray) else image
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[..., None], 3, axis=2)
        if aligned:
            h, w = rgb.shape[:2]
            return PreparedFace(resize_crop(rgb, self.input_size), source, float(min(h, w)), None, 1)
        faces = detect_faces(rgb, self.detector)
        if not faces:
            h, w = rgb.shape[:2]
            hint = " (tiny image: use --aligned for pre-cropped faces)" if min(h, w) < 64 else ""
            raise LrfaceError(f"no face found in {source}{hint}")
        face = faces[0]
        crop = align(rgb, face.landmarks, size=self.input_size[0], style=self.style)
        return PreparedFace(crop, source, face.width, face.eye_distance, len(faces))

    @torch.inference_mode()
    def embed_crops(self, crops: np.ndarray | torch.Tensor) -> np.ndarray:
        """Embeddings of aligned crops: uint8 N x H x W x 3, or float N x 3 x H x W in [0, 1]."""
        x = crops if isinstance(crops, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(crops))
        if x.dtype == torch.uint8:
            x = x.permute(0, 3, 1, 2).float().div_(255.0)
        x = center_crop(x, self.input_size)
        out = []
        for i in range(0, len(x), self.batch_size):
            xb = x[i : i + self.batch_size].to(self.device).contiguous(memory_format=torch.channels_last)
            out.append(torch.nn.functional.normalize(self.model(xb).float(), dim=1).cpu())
        if not out:
            return np.zeros((0, self.model.embedding_dim), np.float32)
        return torch.cat(out).numpy()

    def embed(self, images: Sequence[ImageLike] | ImageLike, aligned: bool = False) -> np.ndarray:
        """L2-normalised embeddings, one row per image (raises on the first bad image)."""
        if isinstance(images, (str, os.PathLike, np.ndarray)):
            images = [images]
        crops = np.stack([self.prepare(im, aligned).crop for im in images])
        return self.embed_crops(crops)

    @staticmethod
    def compare(a: np.ndarray, b: np.ndarray) -> float | np.ndarray:
        """Cosine similarity of L2-normalised embeddings (row-wise for matrices)."""
        return (np.asarray(a) * np.asarray(b)).sum(-1)

    def verify(self, a: ImageLike, b: ImageLike, threshold: float | None = None, aligned: bool = False) -> Verification:
        fa, fb = self.prepare(a, aligned), self.prepare(b, aligned)
        ea, eb = self.embed_crops(np.stack([fa.crop, fb.crop]))
        thr = self.threshold if threshold is None else threshold
        if thr is None:
            raise LrfaceError(f"no calibrated threshold for {self.model_name} with these weights: pass --threshold, "
                              "or publish the model and run `lrface calibrate --save`")
        sim = float(self.compare(ea, eb))
        return Verification(sim, thr, sim >= thr, (fa, fb))


def iter_prepared(rec: Recognizer, paths: Iterable[Path], aligned: bool = False) -> Iterable[tuple[Path, PreparedFace | str]]:
    """Yield (path, PreparedFace) or (path, error message) without stopping on bad files."""
    for p in paths:
        try:
            yield p, rec.prepare(p, aligned)
        except LrfaceError as e:
            yield p, str(e)
