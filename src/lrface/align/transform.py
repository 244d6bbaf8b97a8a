"""Face alignment by similarity transform from 5 landmarks (numpy + OpenCV).

Two crop styles, one API (``align``):
- ``"dlib"``: dlib's face chip, ``get_face_chip(img, shape, size=150, padding=0.25)``; the
  geometry of dlib's ``get_face_chip_details`` / ``extract_image_chip`` (bilinear, pyramid
  halving when shrinking by more than 2x).
- ``"arcface"``: the insightface 112 x 112 crop; the eye centres mapped onto the template's.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import LrfaceError

# dlib's 5-point mean face (get_face_chip_details), in units of the face box before padding.
DLIB_5PT_TEMPLATE = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ]
)
# insightface ArcFace 112 x 112 template: left eye, right eye, nose, mouth left, mouth right.
ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)
STYLES = {"dlib": (150, 0.25), "arcface": (112, 0.0)}


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping src -> dst, 2 x 3
    (Umeyama 1991, eq. 40-42, reflection excluded)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    var = (s0**2).sum() / len(src)
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    fix = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[1, 1] = -1
    rot = u @ fix @ vt
    scale = (sig * np.diag(fix)).sum() / var
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:, :2].T + m[:, 2]


def dlib_chip_matrix(landmarks: np.ndarray, size: int = 150, padding: float = 0.25) -> np.ndarray:
    """Image -> chip affine map as dlib builds it: similarity chip->image fitted on the template,
    reduced to a rotated rectangle (``chip_details``) whose corners map to chip pixels
    (0,0), (size-1,0), (size-1,size-1) (``get_mapping_to_chip``)."""
    import cv2  # lazily: `lrface --help` and the registries load without OpenCV

    chip_pts = (padding + DLIB_5PT_TEMPLATE) / (2 * padding + 1) * size
    t = similarity_transform(chip_pts, landmarks)
    p = t[:, 0]
    angle, scale = math.atan2(p[1], p[0]), float(np.hypot(*p))
    center = _apply(t, np.array([[size / 2.0, size / 2.0]]))[0]
    half = (size * scale - 1) / 2.0  # dlib's centered_drect shrinks width/height by one
    corners = np.array([[-half, -half], [half, -half], [half, half]])
    c, s = math.cos(angle), math.sin(angle)
    img_pts = corners @ np.array([[c, s], [-s, c]]) + center
    chip_corners = np.array([[0, 0], [size - 1, 0], [size - 1, size - 1]], dtype=np.float64)
    return cv2.getAffineTransform(img_pts.astype(np.float32), chip_corners.astype(np.float32)).astype(np.float64)


def arcface_matrix(landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """Image -> crop map putting the eye centres (dlib points 2,3 and 0,1) on the ArcFace template's."""
    eyes = np.stack([landmarks[2:4].mean(0), landmarks[0:2].mean(0)])
    return similarity_transform(eyes, ARCFACE_112[:2] * size / 112.0)


def arcface5_matrix(points: np.ndarray, size: int = 112) -> np.ndarray:
    """Image -> crop map taking a detector's 5 points (image-left eye, image-right eye, nose tip,
    mouth corners left and right) onto insightface's ArcFace template (least-squares similarity,
    as insightface's ``norm_crop``)."""
    return similarity_transform(np.asarray(points, np.float64), ARCFACE_112 * size / 112.0)


def warp(image: np.ndarray, m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear warp with zero border, values truncated as dlib does; halves the image first while
    the map shrinks it >2x (dlib's pyramid), so small chips of big faces are not aliased."""
    import cv2  # lazily: `lrface --help` and the registries load without OpenCV

    m = m.copy()
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))  # chip px per image px
    while scale < 0.5 and min(image.shape[:2]) > 2:
        image = cv2.pyrDown(image)
        m[:, :2] *= 2.0
        scale *= 2.0
    out = cv2.warpAffine(image.astype(np.float32), m, size, flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # dlib truncates interpolated values to the pixel type (rounding would add +0.5 on average)
    return np.clip(np.floor(out + 1e-3), 0, 255).astype(np.uint8)


def align(image: np.ndarray, landmarks: np.ndarray, size: int | None = None, style: str = "dlib",
          padding: float | None = None, points: np.ndarray | None = None) -> np.ndarray:
    """Aligned square face crop (uint8 RGB) for ``style`` in {"dlib", "arcface"}. ``arcface`` uses
    the detector's 5 ``points`` when given (insightface's alignment), else the two eye centres of
    the dlib-order ``landmarks``."""
    if style not in STYLES:
        raise LrfaceError(f"unknown alignment style {style!r}; choose from {', '.join(STYLES)}")
    default_size, default_pad = STYLES[style]
    size = size or default_size
    if style == "dlib":
        m = dlib_chip_matrix(landmarks, size, default_pad if padding is None else padding)
    elif points is not None and np.isfinite(points).all():
        m = arcface5_matrix(points, size)
    else:
        m = arcface_matrix(landmarks, size)
    return warp(image, m, (size, size))


def resize_crop(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An already-aligned (or tiny) crop resized to the model input: area when shrinking,
    bicubic when enlarging."""
    import cv2  # lazily: `lrface --help` and the registries load without OpenCV

    h, w = image.shape[:2]
    interp = cv2.INTER_AREA if size[0] * size[1] < h * w else cv2.INTER_CUBIC
    return cv2.resize(image, size, interpolation=interp)


def chip_eye_distance(size: int = 150, padding: float = 0.25) -> float:
    """Inter-ocular distance (px) in a dlib chip: the template's eye centres after padding."""
    pts = (padding + DLIB_5PT_TEMPLATE) / (2 * padding + 1) * size * (size - 1) / size
    return float(np.linalg.norm(pts[0:2].mean(0) - pts[2:4].mean(0)))


ARCFACE_EYE_DISTANCE = float(np.linalg.norm(ARCFACE_112[1] - ARCFACE_112[0]))  # 35.24 px
