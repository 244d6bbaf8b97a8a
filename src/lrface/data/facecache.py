"""Detect once, align many times: 5-point landmarks cached on disk by image content.

``aligned_crops(paths, style, size)`` returns uint8 crops for a whole dataset. Landmarks live in
``<cache>/landmarks/<detector>.npz`` keyed by the SHA-1 of each file's bytes, so renaming or
moving a dataset costs nothing and an edited image is detected again. Detection runs in
worker processes; images where the detector finds nothing get landmarks predicted inside the
median box of the other detections (LFW-style centred datasets), flagged as ``fallback``.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from ..align import align, detect_faces, landmarks_for_box
from ..atomic import read_keyed_npz, update_keyed_npz
from ..errors import LrfaceError
from ..imageio import load_image
from ..paths import cache_dir

DETECTED, FALLBACK, FAILED = 0, 1, 2


def content_key(path: str | Path) -> str:
    """SHA-1 of the file's bytes (hex): the cache key of everything derived from an image."""
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


ROW = 25  # status, box[4], dlib-order landmarks[5, 2], the detector's own 5 points[5, 2] (NaN when none)


class LandmarkStore:
    """content key -> (status, box[4], landmarks[5,2], points[5,2]) persisted as one npz, written atomically."""

    def __init__(self, detector: str = "hog", root: Path | None = None) -> None:
        self.path = (root or cache_dir()) / "landmarks" / f"{detector}-5pt.npz"
        self.rows: dict[str, np.ndarray] = read_keyed_npz(self.path, "rows")

    def save(self) -> None:
        """Merge with what other processes saved meanwhile, then write (a read-only cache warns)."""
        self.rows.update(update_keyed_npz(self.path, "rows", self.rows, ROW))


def _detect_one(args: tuple[str, str]) -> tuple[str, np.ndarray | str]:
    path, detector = args
    try:
        faces = detect_faces(load_image(path), detector)
    except LrfaceError as e:
        return path, str(e)
    row = np.full(ROW, np.nan)
    if faces:
        row[0] = DETECTED
        row[1:5] = faces[0].box
        row[5:15] = faces[0].landmarks.reshape(-1)
        if faces[0].points is not None:
            row[15:25] = faces[0].points.reshape(-1)
    else:
        row[0] = FAILED
    return path, row


@dataclass
class CropSet:
    crops: np.ndarray  # N x S x S x 3 uint8 (zeros where status is FAILED)
    status: np.ndarray  # DETECTED / FALLBACK / FAILED per image
    keys: list[str]  # content key + digest of the landmarks that aligned it (``crop_key``)
    errors: dict[int, str]  # unreadable files


def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def detect_dataset(paths: Sequence[Path], detector: str = "hog", progress: bool = True
                   ) -> tuple[list[str], np.ndarray, dict[int, str]]:
    """Landmark rows for every path (cached by content), with fallbacks filled in."""
    store = LandmarkStore(detector)
    keys, errors = [], {}
    for i, p in enumerate(paths):
        try:
            keys.append(content_key(p))
        except OSError as e:
            keys.append("")
            errors[i] = f"{p}: {e.strerror}"
    todo = sorted({(str(p), k) for i, (p, k) in enumerate(zip(paths, keys)) if k and k not in store.rows and i not in errors})
    if todo:
        key_of = dict(todo)
        args = [(p, detector) for p, _ in todo]
        with ProcessPoolExecutor(_workers()) as ex:
            it = ex.map(_detect_one, args, chunksize=16)
            for done, (p, row) in enumerate(tqdm(it, total=len(args), desc="detect", disable=not progress, unit="img")):
                if isinstance(row, str):
                    continue
                store.rows[key_of[p]] = row
                if done % 2000 == 1999:
                    store.save()
        store.save()
    rows = np.full((len(paths), ROW), np.nan)
    rows[:, 0] = FAILED
    for i, k in enumerate(keys):
        if k in store.rows:
            rows[i] = store.rows[k]
        elif i not in errors and k:
            errors[i] = f"{paths[i]}: unreadable image"
    _fill_fallbacks(paths, rows, errors)
    return keys, rows, errors


def _fill_fallbacks(paths: Sequence[Path], rows: np.ndarray, errors: dict[int, str]) -> None:
    ok = rows[:, 0] == DETECTED
    missing = np.flatnonzero((rows[:, 0] == FAILED) & ~np.isin(np.arange(len(rows)), list(errors)))
    if not ok.any() or not len(missing):
        return
    m = np.median(rows[ok, 1:5], axis=0)
    box = (float(m[0]), float(m[1]), float(m[2]), float(m[3]))
    for i in missing:
        img = load_image(paths[int(i)])
        rows[i, 0] = FALLBACK
        rows[i, 1:5] = box
        rows[i, 5:15] = landmarks_for_box(img, box).reshape(-1)


def dataset_detector(style: str) -> str:
    """The detector that aligns datasets for ``style``: dlib's HOG for dlib chips (dlib's own
    landmarks, as dlib's network was trained), SCRFD for ArcFace crops (insightface's 5 points)."""
    return "scrfd" if style == "arcface" else "hog"


def aligned_crops(paths: Sequence[str | Path], style: str = "dlib", size: int = 150, detector: str | None = None,
                  progress: bool = True) -> CropSet:
    """Aligned uint8 crops for a dataset; faces detected once per image content (cached)."""
    files = [Path(p) for p in paths]
    detector = detector or dataset_detector(style)
    keys, rows, errors = detect_dataset(files, detector, progress)
    crops = np.zeros((len(paths), size, size, 3), np.uint8)
    for i in tqdm(range(len(paths)), desc="align", disable=not progress, unit="img"):
        if rows[i, 0] != FAILED:
            crops[i] = align(load_image(paths[i]), rows[i, 5:15].reshape(5, 2), size=size, style=style,
                             points=rows[i, 15:25].reshape(5, 2))
    return CropSet(crops, rows[:, 0].astype(int), [crop_key(k, row) for k, row in zip(keys, rows)], errors)


def crop_key(content: str, row: np.ndarray) -> str:
    """The cache key of a crop: its image's content key and a digest of the landmark row that aligned
    it, so embeddings cached for a crop never outlive a change of the landmarks (a detector fix, or
    the dataset's median box that places the landmarks of faces the detector missed)."""
    if not content:
        return content
    canon = np.round(np.nan_to_num(np.asarray(row, np.float32), nan=-1.0), 1).astype(np.float32)  # as stored
    return f"{content}-{hashlib.sha1(canon.tobytes()).hexdigest()[:10]}"
