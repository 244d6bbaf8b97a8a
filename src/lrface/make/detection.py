"""The small-face detection benchmark: real faces pasted at known inter-ocular distances (IOD)
into real backgrounds, with ground-truth eye centres (scored by ``lrface.eval.detection``).

Rule (``make_detection_benchmark``, seeded): backgrounds are 640 x 480 mosaics of the bottom strips
(rows 190-249: clothes, hands, background) of 24 LFW deep-funneled photos; where CenterFace at a low
threshold (0.3) sees a face in a bare background (other people), that box is an ignore region:
nothing is pasted there and detections there do not count. Faces are LFW photos of other people
(dlib HOG landmarks define the eyes): a square around the face of side 3.2 x IOD is scaled so that
the IOD becomes the target size (area interpolation), then blended in with a feathered elliptical
mask at a random free place. Each scene holds ``faces`` faces of sizes drawn from ``sizes``; the
scene then gets sensor noise (sd 2 grey levels) and JPEG (quality 90). Written as
``images/NNNN.jpg`` and ``truth.json`` (eye centres and IOD per face).

The crowd case (``crowd=True``, ``make-detect-benchmark --crowd``): a 4,000 x 3,000 canvas of the
same strips holding hundreds of faces at IOD 6-20 px, as in a group photo of a crowd.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from tqdm import tqdm

from ..align.detect import CenterFace, detect_faces, eye_centres
from ..atomic import atomic_write_bytes, atomic_write_text
from ..data.lfw import lfw_dir
from ..errors import LrfaceError
from ..imageio import load_image

SIZES = (4, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64)
SCENE = (480, 640)
CROWD_SCENE, CROWD_SIZES, CROWD_FACES = (3000, 4000), (6, 8, 10, 12, 16, 20), 300


def _background(photos: list[Path], rng: np.random.Generator, scene: tuple[int, int] = SCENE) -> np.ndarray:
    """A mosaic of 60 px bottom strips of LFW photos, 3 per 750 px row (more rows for taller scenes)."""
    per_row, n_rows = -(-(scene[1] + 110) // 250), -(-scene[0] // 60)
    n = per_row * n_rows
    strips = [load_image(photos[i])[190:250] for i in rng.choice(len(photos), n, replace=n > len(photos))]
    rows = [np.concatenate(strips[k : k + per_row], 1) for k in range(0, n, per_row)]
    off = int(rng.integers(0, rows[0].shape[1] - scene[1] + 1))
    return np.ascontiguousarray(np.concatenate(rows, 0)[: scene[0], off : off + scene[1]])


@lru_cache(maxsize=1)
def _background_detector():  # noqa: ANN202 - a detector callable
    """One low-threshold CenterFace for all backgrounds (its ONNX model loaded once), tiled on large ones."""
    from ..align.fivepoint import TILE, tiled

    det = CenterFace(threshold=0.3, max_side=TILE)
    return lambda image: tiled(det, image)


def _ignore_regions(background: np.ndarray) -> list[list[float]]:
    """Boxes where CenterFace at a low threshold (0.3) sees a face in the bare background (other
    people in the LFW photos): detections there are neither right nor wrong."""
    return [[round(v, 1) for v in f.box] for f in _background_detector()(background)]


def _paste(scene: np.ndarray, photo: np.ndarray, eyes: np.ndarray, iod: float, at: np.ndarray) -> np.ndarray:
    """Blend the face of ``photo`` (eyes (2,2)) scaled to ``iod`` with its eye midpoint at ``at``;
    returns the pasted eye centres."""
    src_iod = float(np.linalg.norm(eyes[1] - eyes[0]))
    s = iod / src_iod
    mid = eyes.mean(0)
    side = int(np.ceil(3.2 * iod)) | 1
    centre = np.array([side / 2.0, side / 2.0 - 0.35 * iod])  # eyes a little above the patch centre
    m = np.array([[s, 0, centre[0] - s * mid[0]], [0, s, centre[1] - s * mid[1]]])
    patch = cv2.warpAffine(photo, m, (side, side), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    r = np.sqrt(((xx - side / 2) / (0.42 * side)) ** 2 + ((yy - side / 2) / (0.5 * side)) ** 2)
    alpha = np.clip((1.0 - r) / 0.15, 0, 1)[..., None]
    x0, y0 = int(round(at[0] - centre[0])), int(round(at[1] - centre[1]))
    region = scene[y0 : y0 + side, x0 : x0 + side].astype(np.float32)
    scene[y0 : y0 + side, x0 : x0 + side] = (alpha * patch + (1 - alpha) * region).round().astype(np.uint8)
    return (eyes - mid) * s + np.array([x0, y0]) + centre


def make_detection_benchmark(out: Path, images: int = 100, faces: int = 6, sizes: Sequence[int] = SIZES,
                             seed: int = 0, data_root: str | None = None, crowd: bool = False) -> dict:
    """Write the benchmark (module doc); returns its manifest. ``crowd``: the crowd case (its own
    canvas, face count and sizes)."""
    scene_hw = CROWD_SCENE if crowd else SCENE
    if crowd:
        faces, sizes = CROWD_FACES if faces == 6 else faces, CROWD_SIZES
    root = lfw_dir(data_root) / "lfw-deepfunneled"
    photos = sorted(root.glob("*/*.jpg"))
    if len(photos) < 100:
        raise LrfaceError(f"too few LFW photos under {root}")
    rng = np.random.default_rng(seed)
    truth = []
    for n in tqdm(range(images), desc="scenes", unit="img"):
        scene = _background(photos, rng, scene_hw)
        ignore = _ignore_regions(scene)
        boxes: list[list[float]] = []
        placed: list[dict] = []
        tries = 0
        while len(placed) < faces and tries < 40 * faces:
            tries += 1
            src = photos[int(rng.integers(len(photos)))]
            photo = load_image(src)
            found = detect_faces(photo, "hog", upsample=0)
            if not found:
                continue
            iod = float(rng.choice(sizes))
            side = 3.2 * iod + 2
            at = np.array([rng.uniform(side, scene_hw[1] - side), rng.uniform(side, scene_hw[0] - side)])
            box = [at[0] - side / 2, at[1] - side / 2, at[0] + side / 2, at[1] + side / 2]
            if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes + ignore):
                continue
            eyes = _paste(scene, photo, eye_centres(found[0]), iod, at)
            boxes.append(box)
            placed.append({"eyes": np.round(eyes, 2).tolist(), "iod": iod, "person": src.parent.name})
        noisy = scene.astype(np.float32) + rng.normal(0, 2.0, scene.shape)
        ok, buf = cv2.imencode(".jpg", np.clip(noisy, 0, 255).astype(np.uint8)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        atomic_write_bytes(out / "images" / f"{n:04d}.jpg", buf.tobytes())
        truth.append({"image": f"images/{n:04d}.jpg", "faces": placed, "ignore": ignore})
    manifest = {"images": images, "faces_per_image": faces, "sizes": list(sizes), "seed": seed, "crowd": crowd,
                "rule": __doc__.split("Rule", 1)[1].strip(), "truth": truth}
    atomic_write_text(out / "truth.json", json.dumps(manifest, indent=1))
    return manifest


