"""Declared crop framings and measured resolution, on real LFW / CelebA-subset / UTKFace faces."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from lrface.align import ARCFACE_EYE_DISTANCE, align, detect_faces
from lrface.align.framing import (
    FRAMINGS,
    crop_landmarks,
    crop_resolution,
    eye_fraction,
    landmarks_resolution,
    resolution_from_eyes,
)
from lrface.errors import LrfaceError
from lrface.imageio import load_image


def test_resolution_unit_matches_the_arcface_crop() -> None:
    """r is the face in a 112 px ArcFace crop: such a crop measures r = 112, and r scales with size."""
    assert crop_resolution(112, 112, "arcface") == pytest.approx(112.0)
    assert crop_resolution(28, 28, "arcface") == pytest.approx(28.0)
    assert resolution_from_eyes(35.24) == pytest.approx(112.0, rel=1e-3)
    # a dlib chip frames the face larger than an ArcFace crop of the same size: r = size / 0.904
    assert crop_resolution(150, 150, "dlib") == pytest.approx(150 / 0.904, rel=0.01)
    with pytest.raises(LrfaceError, match="unknown framing"):
        crop_landmarks(10, 10, "wide")


def _sample(root: Path, pattern: str, n: int) -> list[Path]:
    files = sorted(root.glob(pattern))
    random.Random(3).shuffle(files)
    return files[:n]


@pytest.mark.parametrize("source,pattern", [("lfw/lfw-deepfunneled", "*/*.jpg"), ("celeba-subset", "*/*.jpg"),
                                            ("utkface/aligned", "*.jpg")])
def test_tight_template_remeasured(datasets, source, pattern) -> None:
    """The tight template is the median of HOG detections: re-measured on other images it agrees."""
    inbox = []
    for f in _sample(datasets / source, pattern, 25):
        img = load_image(f)
        faces = detect_faces(img)
        if faces:
            l, t, r, _ = faces[0].box
            inbox.append((faces[0].landmarks - [l, t]) / (r - l))
    assert len(inbox) >= 20
    med = np.median(np.array(inbox), 0)
    assert np.abs(med - FRAMINGS["tight"]).max() < 0.05


def test_loose_template_on_lfw(lfw_faces) -> None:
    """LFW images are 'loose' crops: the template's landmarks lie near the detected ones."""
    err = []
    for f in lfw_faces:
        img = load_image(f)
        lm = detect_faces(img)[0].landmarks
        err.append(np.abs(lm - crop_landmarks(*img.shape[:2], "loose")).max() / img.shape[1])
    assert np.median(err) < 0.04


def test_declared_crops_embed_like_detected_faces(lfw_faces, rec) -> None:
    """A face cut out as an ArcFace crop, a detector box or a loose crop, aligned from its declared
    framing alone, embeds like the same face detected and aligned from landmarks."""
    sims = {"arcface": [], "tight": [], "loose": [], "dlib": []}
    for f in lfw_faces[:8]:
        img = load_image(f)
        face = detect_faces(img)[0]
        ref = align(img, face.landmarks, 150, "dlib")
        left, top, right, bottom = (max(0, int(round(v))) for v in face.box)
        crops = {"arcface": align(img, face.landmarks, 112, "arcface"), "tight": img[top:bottom, left:right],
                 "loose": img, "dlib": ref}
        chips = [ref] + [align(c, crop_landmarks(*c.shape[:2], k), 150, "dlib") for k, c in crops.items()]
        e = rec.embed_crops(np.stack(chips))
        for j, k in enumerate(crops):
            sims[k].append(float(e[0] @ e[j + 1]))
    for k, v in sims.items():
        assert np.median(v) > 0.97 and min(v) > 0.9, (k, v)  # same-person threshold is 0.91


def test_measured_resolution_of_detected_faces(lfw_faces) -> None:
    img = load_image(lfw_faces[0])
    face = detect_faces(img)[0]
    r = landmarks_resolution(face.landmarks)
    assert r == pytest.approx(face.eye_distance * 112 / ARCFACE_EYE_DISTANCE)
    half = img[::2, ::2]
    assert landmarks_resolution(detect_faces(half)[0].landmarks) == pytest.approx(r / 2, rel=0.12)
    assert 0.15 < eye_fraction("loose") < 0.2 and 0.38 < eye_fraction("tight") < 0.45


def test_cli_framing_choices_are_the_framings() -> None:
    """The light defaults module (the CLI's start-up) names exactly the registered framings."""
    from lrface.align.framing import FRAMINGS
    from lrface.defaults import FRAMING_NAMES

    assert tuple(FRAMINGS) == FRAMING_NAMES


def test_help_starts_without_torch() -> None:
    """`lrface --help` imports neither torch nor cv2 (it used to take about 5 s)."""
    import subprocess
    import sys

    code = ("import sys, lrface.cli\n"
            "assert 'torch' not in sys.modules and 'cv2' not in sys.modules, sorted(sys.modules)[:5]")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
