"""Test videos for ``scan``: LFW people pasted into a real background, moving and shrinking, or
crossing and occluding each other, with the ground truth of every frame (``lrface eval-scan``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..align.detect import detect_faces, eye_centres
from ..atomic import atomic_write_text
from ..data.lfw import lfw_dir
from ..errors import LrfaceError
from ..imageio import load_image
from .detection import SCENE, _background, _ignore_regions, _paste


def make_test_video(out: Path, frames: int = 60, people: int = 3, fps: float = 10.0, seed: int = 0,
                    data_root: str | None = None, crossing: bool = False) -> dict[str, Any]:
    """A 640x480 MJPG video of LFW people moving across a real background while they shrink from
    an inter-ocular distance of 48 px to 8 px, and a gallery folder with another photo of each
    (plus as many distractor people). ``crossing``: instead, the people walk across the frame in
    alternate directions in lanes of two a few px apart (IOD 30 -> 20 px), so that each pair crosses
    paths and the later one occludes the earlier (the tracker's hard case). Returns the ground truth (also
    written as truth.json: every person's eye midpoint in every frame)."""
    root = lfw_dir(data_root) / "lfw-deepfunneled"
    rng = np.random.default_rng(seed)
    candidates = [p for p in sorted(root.iterdir()) if p.is_dir() and len(list(p.glob("*.jpg"))) >= 2]
    chosen = [candidates[i] for i in rng.choice(len(candidates), 2 * people, replace=False)]
    actors, distractors = chosen[:people], chosen[people:]
    photos, eyes = [], []
    for person in actors:
        photo = load_image(sorted(person.glob("*.jpg"))[0])
        found = detect_faces(photo, "hog")
        if not found:
            raise LrfaceError(f"no face in {person.name}'s first LFW photo")
        photos.append(photo)
        eyes.append(eye_centres(found[0]))
    for person in actors + distractors:
        g = out / "gallery" / person.name
        g.mkdir(parents=True, exist_ok=True)
        src = sorted(person.glob("*.jpg"))[1]
        (g / src.name).write_bytes(src.read_bytes())
    photos_all = sorted(root.glob("*/*.jpg"))
    background = _background(photos_all, rng)
    for _ in range(20):  # a background without faces of its own (other people in the LFW strips)
        if not _ignore_regions(background):
            break
        background = _background(photos_all, rng)
    writer = cv2.VideoWriter(str(out / "video.avi"), cv2.VideoWriter.fourcc(*"MJPG"), fps, SCENE[::-1])
    if not writer.isOpened():
        raise LrfaceError("OpenCV cannot write MJPG video here")
    lanes = np.linspace(SCENE[1] * 0.2, SCENE[1] * 0.8, people)
    truth = []
    for f in range(frames):
        scene = background.copy()
        u = f / max(frames - 1, 1)
        iod = 30.0 - 10.0 * u if crossing else 48.0 * (8.0 / 48.0) ** u  # geometric shrink 48 -> 8 px
        for p in range(people):
            if crossing:  # alternate directions, lanes of two a few px apart: each pair crosses mid-clip
                x = 90 + (SCENE[1] - 180) * (u if p % 2 == 0 else 1 - u)
                at = np.array([x, SCENE[0] / 2 - 60 + 8 * (p % 2) + 100 * (p // 2)])
            else:
                at = np.array([lanes[p] + 40 * np.sin(2 * np.pi * u + p), 150 + 180 * u])
            _paste(scene, photos[p], eyes[p], iod, at)
            truth.append({"frame": f, "person": actors[p].name, "iod": round(iod, 2), "eyes_mid": at.round(1).tolist()})
        writer.write(np.ascontiguousarray(scene[..., ::-1]))
    writer.release()
    meta = {"frames": frames, "fps": fps, "people": [a.name for a in actors], "crossing": crossing,
            "distractors": [d.name for d in distractors], "seed": seed, "truth": truth}
    atomic_write_text(out / "truth.json", json.dumps(meta, indent=1))
    return meta
