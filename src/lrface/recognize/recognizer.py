"""High-level API: ``Recognizer().embed(images)``, ``compare``, ``verify``."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from PIL import Image

from ..align import Face, align, detect_faces
from ..align.framing import REFERENCE_CROP, crop_landmarks, crop_resolution
from ..align.framing import landmarks_resolution as face_resolution
from ..degrade.resize import target_size
from ..errors import LrfaceError
from ..imageio import load_image, to_rgb
from ..models import create_model
from .prepared import PreparedFace, Verification  # noqa: F401  (part of this module's API)

if TYPE_CHECKING:
    from ..degrade import Reduce, Resolution
    from ..models.onnx_runtime import OnnxEmbedder
    from .calibration import Calibration
    from .operating import FarTables, OpenSetCalibration

# Cosine-similarity thresholds calibrated on LFW View 1 (pairsDevTrain): best-accuracy threshold,
# printed by `lrface calibrate --model NAME`.
DEFAULT_THRESHOLDS: dict[str, float] = {"dlib_resnet": 0.9094}
from .prepared import SMALL_FACE_EYE_PX  # noqa: E402,F401  (defined beside PreparedFace.small)

MIN_DETECT_SIDE = 32  # images smaller than this are not searched for faces
AUTO_CROP_SIDE = 160  # framing "auto": an image up to this size with no detected face is taken as a crop
AUTO_FRAMING = "tight"  # ... framed as a face-detector box
MIN_CHIP = 4  # smallest native-resolution chip
MIN_AUTO_CROP_SIDE = 4  # framing "auto" takes images down to this side as crops (a 5x7 px CCTV face: "cannot decide")
MIN_CROP_R = 4.0  # a declared crop must hold a face of at least this resolution
FLAT_STD = 2.0  # grey levels: a crop flatter than this holds no face
from ..defaults import DEFAULT_DETECTOR, FRAMING_CHOICES  # noqa: E402  (re-exported; the same names as FRAMINGS)

log = logging.getLogger(__name__)
ImageLike = str | os.PathLike[str] | np.ndarray | Image.Image


def default_threshold(model: str) -> float | None:
    """Calibrated threshold: built-in table, else the weights manifest's ``threshold``, else None."""
    if model in DEFAULT_THRESHOLDS:
        return DEFAULT_THRESHOLDS[model]
    from ..models.published import read_manifest

    thr = read_manifest().get(model, {}).get("threshold")
    return None if thr is None else float(thr)


def default_calibration(model: str) -> "Calibration | None":
    """The resolution-aware threshold table stored with a published model, if any."""
    from ..models.published import read_manifest
    from .calibration import Calibration

    entry = read_manifest().get(model, {}).get("calibration")
    return None if entry is None else Calibration.from_dict(entry)


def detector_for(detector: str, style: str) -> str:
    """``auto`` is the detector that suits the model's crop: for dlib chips dlib's HOG (dlib's exact
    landmarks) with CenterFace for the small faces it misses; for ArcFace crops SCRFD, whose five
    points (eyes, nose, mouth corners) align the crop as insightface does."""
    return "scrfd" if detector == "auto" and style == "arcface" else detector


def default_operating_points(model: str) -> tuple["FarTables | None", "FarTables | None", "OpenSetCalibration | None"]:
    """The FAR tables, FNMR tables and open-set table stored with a published model (``lrface
    calibrate --operating-points --save``), each None when not fitted."""
    from ..models.published import read_manifest
    from .operating import FarTables, OpenSetCalibration

    entry = read_manifest().get(model, {})
    far, frr, osc = entry.get("far_tables"), entry.get("frr_tables"), entry.get("open_set")
    return (FarTables.from_dict(far) if far else None, FarTables.from_dict(frr) if frr else None,
            OpenSetCalibration.from_dict(osc) if osc else None)


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
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise LrfaceError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not (torch.cuda.is_available() and (dev.index or 0) < torch.cuda.device_count()):
        raise LrfaceError(f"device {device!r} is not available on this machine (no such CUDA device); use cpu or auto")
    if dev.type not in ("cpu", "cuda") and not (dev.type == "mps" and torch.backends.mps.is_available()):
        raise LrfaceError(f"device {device!r} is not supported here; use auto, cpu, cuda or cuda:N")
    return dev


def as_rgb(image: ImageLike) -> tuple[np.ndarray, str]:
    """A path, numpy array (H x W, H x W x 3/4, uint8 or float in [0, 1]) or PIL image -> RGB uint8, name."""
    if isinstance(image, (str, os.PathLike)):
        return load_image(image), str(image)
    if isinstance(image, Image.Image):
        return np.array(to_rgb(image), dtype=np.uint8), "<PIL image>"
    if isinstance(image, np.ndarray):
        arr = image
        if arr.dtype != np.uint8:
            if not np.issubdtype(arr.dtype, np.number) or not np.isfinite(arr).all():
                raise LrfaceError("array image must be finite numbers")
            scale = 255.0 if arr.size and float(arr.max()) <= 1.0 else 1.0
            arr = np.clip(np.round(arr * scale), 0, 255).astype(np.uint8)
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4) or min(arr.shape[:2]) < 1:
            raise LrfaceError(f"array image must be H x W, H x W x 3 or H x W x 4, got shape {arr.shape}")
        return np.ascontiguousarray(arr[..., :3]), "<array>"
    raise LrfaceError(f"not an image: {type(image).__name__} (give a path, numpy array or PIL image)")


# how much surer the face region turned 180 degrees must be detected for the photo to count as upside
# down. HOG: upright LFW faces score 2.0-2.5, turned 0.3. SCRFD (which places its five points upright even
# on a turned face): on 60 upright LFW photos the upright score beat the turned one by 0.07 to 0.5
# (median 0.22), so a margin of 0.03 never fired on them and fires whenever a photo is turned.
UPSIDE_DOWN_MARGIN = {"hog": 0.5, "auto": 0.5, "scrfd": 0.03}


def looks_upside_down(rgb: np.ndarray, face: Face, detector: str) -> bool:
    """If the face region turned 180 degrees gives a surer detection than upright (by
    ``UPSIDE_DOWN_MARGIN``), the photo is upside down."""
    margin = UPSIDE_DOWN_MARGIN.get(detector)
    if margin is None or (detector != "scrfd" and face.points is not None):  # CenterFace fallback: not measured
        return False
    left, top, right, bottom = face.box
    pad = 0.5 * (right - left)
    y0, y1 = max(0, int(top - pad)), min(rgb.shape[0], int(bottom + pad))
    x0, x1 = max(0, int(left - pad)), min(rgb.shape[1], int(right + pad))
    region = np.ascontiguousarray(rgb[y0:y1, x0:x1][::-1, ::-1])
    turned = detect_faces(region, detector) if min(region.shape[:2]) >= MIN_DETECT_SIDE else []
    return bool(turned) and max(f.score for f in turned) > face.score + margin


def finite_embeddings(emb: np.ndarray, model: str) -> np.ndarray:
    """Embeddings pass only when every value is finite: NaN never reaches a result or a cache."""
    if not np.isfinite(emb).all():
        bad = int((~np.isfinite(emb)).any(axis=1).sum())
        raise LrfaceError(f"{model} produced non-finite embeddings for {bad} of {len(emb)} faces "
                          "(broken weights or inputs); nothing was written")
    return emb


def rotated_face(rgb: np.ndarray, detector: str) -> int | None:
    """The clockwise turn (90, 180, 270) under which a face is found in an image where none is upright,
    or None: sideways and upside-down photos get a hint instead of a bare "no face"."""
    for k, degrees in ((2, 180), (1, 270), (3, 90)):
        if detect_faces(np.ascontiguousarray(np.rot90(rgb, k)), detector):
            return degrees
    return None


def face_in_crop(rgb: np.ndarray) -> bool:
    """Does a declared crop hold a face? The crop, edge-padded by half its size on every side (a
    detector needs context), is searched by CenterFace, then SCRFD. Measured on 400 LFW dlib chips
    (150 px): CenterFace finds a face in 397, SCRFD in 393; in noise and synthetic textures, none.
    Crops under ``MIN_DETECT_SIDE`` are not checked (detectors miss too many real faces there)."""
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_DETECT_SIDE:
        return True
    padded = np.pad(rgb, ((h // 2, h // 2), (w // 2, w // 2), (0, 0)), mode="edge")
    return any(detect_faces(padded, det) for det in ("centerface", "scrfd"))


def check_crop(rgb: np.ndarray, source: str, r: float) -> None:
    """A declared face crop must be big enough to hold a face and must not be blank."""
    if r < MIN_CROP_R:
        raise LrfaceError(f"{source}: a {rgb.shape[1]}x{rgb.shape[0]} px crop is too small for a face "
                          f"(r = {r:.1f}; at least {MIN_CROP_R:g})")
    if float(rgb.astype(np.float32).std()) < FLAT_STD:
        raise LrfaceError(f"{source}: blank image (flat colour): no face to recognise")


class FaceRecognizer:
    """What every recognizer shares: load, find or frame the face, measure r, align, verify.

    Subclasses embed prepared faces (``embed_faces``) and say which threshold decides a pair.
    """

    model_name: str
    input_size: tuple[int, int]
    style: str
    detector: str
    threshold: float | None
    calibration: "Calibration | None" = None
    far_tables: "FarTables | None" = None
    frr_tables: "FarTables | None" = None
    open_set: "OpenSetCalibration | None" = None
    batch_size: int
    device: torch.device

    @property
    def model_id(self) -> str:
        """Identifies what this recognizer embeds (cache key)."""
        raise NotImplementedError

    @property
    def embedding_dim(self) -> int:
        raise NotImplementedError

    def embed_at(self, x: torch.Tensor, r: "Resolution", reduce: "Reduce") -> np.ndarray:
        """Embeddings of aligned chips (N x 3 x H x W in [0, 1]) reduced to resolution ``r``."""
        raise NotImplementedError

    def prepare(self, image: ImageLike, aligned: bool = False, framing: str = "auto") -> PreparedFace:
        """Load ``image`` and align its face. ``framing``: ``auto`` (detect; an image too small to
        detect in is taken as a ``tight`` crop), ``photo`` (detect, error if none), or a crop framing
        (``dlib``, ``arcface``, ``tight``, ``loose``: no detection). ``aligned`` = a crop in the
        model's own framing."""
        if framing not in FRAMING_CHOICES:
            raise LrfaceError(f"unknown framing {framing!r}; choose from {', '.join(FRAMING_CHOICES)}")
        rgb, source = as_rgb(image)
        h, w = rgb.shape[:2]
        if aligned:
            framing = self.style
        n_faces, eye_px, face_px, fallback, upside_down = 1, None, float(min(h, w)), False, False
        found: Face | None = None
        if framing in ("auto", "photo"):
            faces = detect_faces(rgb, self.detector) if min(h, w) >= MIN_DETECT_SIDE else []
            if faces:
                face = found = faces[0]
                lm, n_faces, eye_px, face_px = face.landmarks, len(faces), face.eye_distance, face.width
                r, used = face_resolution(lm), "photo"
                upside_down = looks_upside_down(rgb, face, self.detector)
            elif framing == "auto" and MIN_AUTO_CROP_SIDE <= min(h, w) <= AUTO_CROP_SIDE:
                used, fallback = AUTO_FRAMING, True
            else:
                hint = (" (tiny image: declare it a crop: identify --crop tight, verify --crop-a/--crop-b tight)"
                        if min(h, w) < 64 else "")
                turned = rotated_face(rgb, self.detector) if min(h, w) >= MIN_DETECT_SIDE else None
                if turned:
                    hint = f" upright, but one appears when the image is turned {turned} degrees clockwise: rotate it first"
                raise LrfaceError(f"no face found in {source}{hint}")
        else:
            used = framing
        if used != "photo":
            lm, r = crop_landmarks(h, w, used), crop_resolution(h, w, used)
            check_crop(rgb, source, r)
        prepared = self.prepared(rgb, source, lm, r, used, face_px, eye_px, n_faces, fallback, upside_down, found)
        prepared.no_face = used != "photo" and not face_in_crop(rgb)
        return prepared

    def prepared(self, rgb: np.ndarray, source: str, lm: np.ndarray, r: float, framing: str = "photo",
                 face_px: float = 0.0, eye_px: float | None = None, n_faces: int = 1, fallback: bool = False,
                 upside_down: bool = False, face: Face | None = None) -> PreparedFace:
        """Align the face with dlib-order landmarks ``lm`` at model input, measure its effective
        resolution (``lrface.recognize.quality``: min of the geometric ``r`` and the detail it holds) and, when
        that is below full resolution, align it again at the size of the detail it really holds."""
        from .quality import measure, yaw_proxy

        crop = align(rgb, lm, size=self.input_size[0], style=self.style,
                     points=face.points if face is not None else None)
        chip150 = crop if (self.style, self.input_size[0]) == ("dlib", 150) else align(rgb, lm, size=150, style="dlib")
        yaw = yaw_proxy(lm, face.points) if face is not None else None
        q = measure(chip150, r, yaw, face.score if face is not None else None)
        small = None
        if q.r_eff < REFERENCE_CROP:
            side = max(MIN_CHIP, target_size(q.r_eff, self.style, self.input_size[0])[0])
            small = align(rgb, lm, size=side, style=self.style, points=face.points if face is not None else None)
        box = face.box if face is not None else None
        return PreparedFace(crop, source, face_px, eye_px, n_faces, q.r_eff, framing, small, fallback, upside_down,
                            box, q)

    def prepare_all(self, image: ImageLike) -> list[PreparedFace]:
        """Every face the detector finds in ``image`` (largest first), each aligned; [] if none."""
        rgb, source = as_rgb(image)
        faces = detect_faces(rgb, self.detector, complete=True) if min(rgb.shape[:2]) >= MIN_DETECT_SIDE else []
        return [self.prepared(rgb, source, f.landmarks, face_resolution(f.landmarks), "photo", f.width, f.eye_distance,
                              len(faces), face=f) for f in faces]

    def embed_faces(self, faces: Sequence[PreparedFace]) -> np.ndarray:
        raise NotImplementedError

    def expert_for_face(self, face: PreparedFace) -> str:
        return "hr"

    def threshold_for(self, a: PreparedFace, b: PreparedFace, far: float | None = None) -> float | None:
        """The decision threshold for this pair: at ``far`` (default ``decision.DEFAULT_FAR``) for
        both effective resolutions when operating points are fitted, else best-accuracy calibrated."""
        from ..decision import verification_threshold

        return verification_threshold(self, a.r, b.r, far)

    def consistency(self, faces: Sequence[PreparedFace], emb: np.ndarray) -> None:
        """The model's own agreement: cosine of each face's embedding and its mirror image's, kept
        in ``face.quality.consistency`` (part of the quality score)."""
        import dataclasses

        todo = [i for i, f in enumerate(faces) if f.quality is not None]
        if not todo:
            return
        def flipped(chip: np.ndarray | None) -> np.ndarray | None:
            return None if chip is None else np.ascontiguousarray(chip[:, ::-1])

        mirrored = [dataclasses.replace(faces[i], crop=np.ascontiguousarray(faces[i].crop[:, ::-1]),
                                        small_chip=flipped(faces[i].small_chip)) for i in todo]
        em = self.embed_faces(mirrored)
        for i, e in zip(todo, em):
            faces[i].quality.consistency = float(np.dot(emb[i], e))  # type: ignore[union-attr]

    def embed_assessed(self, faces: Sequence[PreparedFace]) -> np.ndarray:
        """``embed_faces``, with the model's flip agreement filled into each face's quality."""
        emb = self.embed_faces(faces)
        if len(faces):
            self.consistency(faces, emb)
        return emb

    def pair_score(self, a: PreparedFace, b: PreparedFace, ea: np.ndarray, eb: np.ndarray) -> float:
        """The similarity that decides a pair (cosine of the embeddings here)."""
        return float(self.compare(ea, eb))

    def embed(self, images: Sequence[ImageLike] | ImageLike, aligned: bool = False, framing: str = "auto") -> np.ndarray:
        """L2-normalised embeddings, one row per image (raises on the first bad image)."""
        if isinstance(images, (str, os.PathLike, np.ndarray, Image.Image)):
            images = [images]
        return self.embed_faces([self.prepare(im, aligned, framing) for im in images])

    @staticmethod
    def compare(a: np.ndarray, b: np.ndarray) -> float | np.ndarray:
        """Cosine similarity of L2-normalised embeddings (row-wise for matrices)."""
        return (np.asarray(a) * np.asarray(b)).sum(-1)

    def verify(self, a: ImageLike, b: ImageLike, threshold: float | None = None, aligned: bool = False,
               framing_a: str = "auto", framing_b: str = "auto", far: float | None = None) -> Verification:
        """Same person? Each image detected or framed as declared; the threshold is the one at
        ``far`` (default ``decision.DEFAULT_FAR``) for the two effective resolutions unless
        ``threshold`` is given; a face below the quality floor makes the answer "cannot decide"."""
        from ..decision import DEFAULT_FAR, different_threshold, undecidable

        fa, fb = self.prepare(a, aligned, framing_a), self.prepare(b, aligned, framing_b)
        thr = self.threshold_for(fa, fb, far) if threshold is None else threshold
        if thr is None:
            raise LrfaceError(f"no calibrated threshold for {self.model_name} with these weights: pass --threshold, "
                              "or publish the model and run `lrface calibrate --save`")
        ea, eb = self.embed_assessed([fa, fb])
        sim = self.pair_score(fa, fb, ea, eb)
        used_far = None if threshold is not None or self.far_tables is None else (DEFAULT_FAR if far is None else far)
        low = None if threshold is not None else different_threshold(self, fa.r, fb.r)
        return Verification(sim, thr, sim >= thr, (fa, fb), (self.expert_for_face(fa), self.expert_for_face(fb)),
                            used_far, undecidable(fa) or undecidable(fb), low)


class Recognizer(FaceRecognizer):
    """A registered backbone plus detection and alignment; embeddings are L2-normalised."""

    def __init__(self, model: str = "dlib_resnet", weights: str | Path | None = None, device: str | None = None,
                 batch_size: int = 32, detector: str = DEFAULT_DETECTOR, runtime: str | None = None) -> None:
        from ..models.onnx_runtime import resolve_runtime

        self.model_name = model
        self.device = resolve_device(device)
        self.runtime = resolve_runtime(runtime, self.device)  # "onnx": embeds on onnxruntime (models/onnx_runtime.py)
        self.model = create_model(model, weights=weights).to(self.device).to(memory_format=torch.channels_last)
        self.batch_size = batch_size
        self.input_size: tuple[int, int] = tuple(self.model.input_size)  # type: ignore[assignment]
        self.style: str = self.model.align_style
        self.detector = detector_for(detector, self.style)
        # None: no calibrated threshold for these weights (verify then asks for --threshold)
        self.threshold = default_threshold(model) if weights is None else None
        self.calibration = default_calibration(model) if weights is None else None
        if weights is None:
            self.far_tables, self.frr_tables, self.open_set = default_operating_points(model)

    @classmethod
    def from_model(cls, model: torch.nn.Module, name: str = "custom", batch_size: int = 32,
                   detector: str = DEFAULT_DETECTOR) -> "Recognizer":
        """Wrap an in-memory backbone (e.g. during training) without loading weights."""
        rec = cls.__new__(cls)
        rec.model_name, rec.model, rec.batch_size, rec.detector = name, model, batch_size, detector
        rec.device = next(model.parameters()).device
        rec.input_size = tuple(model.input_size)  # type: ignore[arg-type,assignment]
        rec.style = str(model.align_style)
        rec.threshold, rec.calibration = None, None
        rec.runtime = "torch"  # the weights may change under it (training)
        return rec

    @property
    def embedding_dim(self) -> int:
        return int(self.model.embedding_dim)

    @property
    def model_id(self) -> str:
        """Digest of the weights (cache key of everything this recognizer embeds)."""
        if getattr(self, "_model_id", None) is None:
            from ..models.base import model_digest

            self._model_id = model_digest(self.model)
        return self._model_id

    def embed_at(self, x: torch.Tensor, r: "Resolution", reduce: "Reduce") -> np.ndarray:
        """Embeddings of aligned chips (N x 3 x H x W in [0, 1]) reduced to resolution ``r``."""
        return self.embed_crops(reduce(x, r, self.style))

    def onnx_embedder(self) -> "OnnxEmbedder | None":
        """The onnxruntime session of this network (built at the first embedding), or None when the
        runtime is PyTorch; a graph that cannot be exported or disagrees falls back to PyTorch. A module
        swapped in after the first embedding gets its own graph."""
        if getattr(self, "runtime", "torch") != "onnx":
            return None
        built = getattr(self, "_onnx", None)
        if built is None or built[0] is not self.model:
            from ..models.base import model_digest
            from ..models.onnx_runtime import OnnxEmbedder

            try:
                built = self._onnx = (self.model, OnnxEmbedder(self.model, self.input_size, model_digest(self.model)))
            except Exception as e:  # noqa: BLE001 - any export/runtime failure: PyTorch computes the same thing
                log.warning("%s: onnxruntime unavailable (%s); embedding with PyTorch", self.model_name, e)
                self.runtime = "torch"
                return None
        return built[1]

    @torch.inference_mode()
    def embed_crops(self, crops: np.ndarray | torch.Tensor) -> np.ndarray:
        """Embeddings of aligned crops: uint8 N x H x W x 3, or float N x 3 x H x W in [0, 1]."""
        x = crops if isinstance(crops, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(crops))
        if x.dtype == torch.uint8:
            x = x.permute(0, 3, 1, 2).float().div_(255.0)
        x = center_crop(x, self.input_size)
        onnx = self.onnx_embedder()
        out = []
        for i in range(0, len(x), self.batch_size):
            if onnx is not None:
                out.append(torch.from_numpy(onnx(x[i : i + self.batch_size].numpy())))
                continue
            xb = x[i : i + self.batch_size].to(self.device).contiguous(memory_format=torch.channels_last)
            out.append(torch.nn.functional.normalize(self.model(xb).float(), dim=1).cpu())
        if not out:
            return np.zeros((0, self.model.embedding_dim), np.float32)
        return finite_embeddings(torch.cat(out).numpy(), self.model_name)

    def embed_faces(self, faces: Sequence[PreparedFace]) -> np.ndarray:
        if not faces:
            return np.zeros((0, self.embedding_dim), np.float32)
        return self.embed_crops(np.stack([f.crop for f in faces]))
