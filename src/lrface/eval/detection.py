"""Scoring detectors on the small-face detection benchmark (``lrface.make.detection`` writes it):
per-size recall, precision and landmark error for any registered detector.

Matching (detector-agnostic, no box conventions): a detection matches a ground-truth face when
the midpoint of its eyes lies within 0.5 x IOD of the true midpoint and its IOD is within a
factor of 2 of the true one; each face matches at most one detection (greedy by score).
Landmark error = mean distance of the two eye centres to the true ones / true IOD.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..align.detect import Face, _inside, detect_faces, eye_centres
from ..imageio import load_image


@dataclass
class DetectionResult:
    detector: str
    sizes: list[int]
    recall: list[float]  # per true size
    precision: list[float]  # per size bin of the detections (nearest benchmark size)
    landmark_error: list[float]  # mean eye error / IOD of matched faces, per true size
    faces: list[int]
    precision_all: float
    ms_per_image: float
    images: int


def match_faces(dets: list[Face], truth: list[dict]) -> tuple[list[int | None], list[bool]]:
    """For each true face the index of its matched detection (or None); for each detection
    whether it matched (module doc)."""
    used = [False] * len(dets)
    order = sorted(range(len(dets)), key=lambda i: -dets[i].score)
    matched: list[int | None] = []
    for t in truth:
        eyes = np.asarray(t["eyes"])
        mid, iod = eyes.mean(0), t["iod"]
        best = None
        for i in order:
            if used[i]:
                continue
            e = eye_centres(dets[i])
            d_iod = float(np.linalg.norm(e[1] - e[0]))
            if np.linalg.norm(e.mean(0) - mid) <= 0.5 * iod and 0.5 * iod <= d_iod <= 2 * iod:
                best = i
                break
        if best is not None:
            used[best] = True
        matched.append(best)
    return matched, used


def _ignored(face: Face, regions: list[list[float]]) -> bool:
    return any(_inside(face, (b[0], b[1], b[2], b[3])) for b in regions)


def evaluate_detector(root: Path, detector: str, limit: int | None = None, progress: bool = True) -> DetectionResult:
    """Recall / precision / landmark error per size and speed of one detector on the benchmark."""
    manifest = json.loads((root / "truth.json").read_text())
    sizes = manifest["sizes"]
    items = manifest["truth"][:limit] if limit else manifest["truth"]
    found = {s: 0 for s in sizes}
    total = {s: 0 for s in sizes}
    err: dict[int, list[float]] = {s: [] for s in sizes}
    tp_bin = {s: 0 for s in sizes}
    det_bin = {s: 0 for s in sizes}
    seconds = 0.0
    for item in tqdm(items, desc=detector, unit="img", disable=not progress):
        image = load_image(root / item["image"])
        t0 = time.perf_counter()
        dets = detect_faces(image, detector)
        seconds += time.perf_counter() - t0
        matched, used = match_faces(dets, item["faces"])
        for t, m in zip(item["faces"], matched):
            s = int(t["iod"])
            total[s] += 1
            if m is not None:
                found[s] += 1
                e = eye_centres(dets[m])
                err[s].append(float(np.linalg.norm(e - np.asarray(t["eyes"]), axis=1).mean() / t["iod"]))
        for d, ok in zip(dets, used):
            if not ok and _ignored(d, item.get("ignore", [])):
                continue
            s = min(sizes, key=lambda v: abs(np.log(max(d.eye_distance, 1e-3) / v)))
            det_bin[s] += 1
            tp_bin[s] += int(ok)
    n_det = sum(det_bin.values())
    return DetectionResult(
        detector, list(sizes), [found[s] / max(total[s], 1) for s in sizes],
        [tp_bin[s] / det_bin[s] if det_bin[s] else float("nan") for s in sizes],
        [float(np.mean(err[s])) if err[s] else float("nan") for s in sizes], [total[s] for s in sizes],
        sum(tp_bin.values()) / n_det if n_det else float("nan"), 1000 * seconds / max(len(items), 1), len(items))
