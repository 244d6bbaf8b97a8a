"""Detection and alignment against dlib's own chips; the similarity transform."""
from __future__ import annotations

import dlib
import numpy as np

from lrface.align import (
    ARCFACE_EYE_DISTANCE,
    align,
    arcface_matrix,
    chip_eye_distance,
    detect_faces,
    resize_crop,
    similarity_transform,
)
from lrface.align.transform import ARCFACE_112
from lrface.imageio import load_image
from lrface.paths import dlib_model_file


def test_similarity_transform_recovers_known_map() -> None:
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    a, s, t = 0.3, 1.7, np.array([5.0, -3.0])
    rot = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    m = similarity_transform(src, src @ rot.T + t)
    assert np.allclose(m[:, :2], rot) and np.allclose(m[:, 2], t)


def test_dlib_chip_matches_dlib(lfw_faces) -> None:
    sp = dlib.shape_predictor(str(dlib_model_file("shape_predictor_5_face_landmarks.dat")))
    for p in lfw_faces[:6]:
        img = load_image(p)
        face = detect_faces(img)[0]
        ref = dlib.get_face_chip(img, sp(img, dlib.rectangle(*(int(v) for v in face.box))), 150, 0.25)
        mine = align(img, face.landmarks, style="dlib")
        diff = np.abs(mine.astype(int) - ref.astype(int))
        assert diff.max() <= 1 and diff.mean() < 0.01, (p, diff.max(), diff.mean())


def test_arcface_crop_puts_eyes_on_template(lfw_faces) -> None:
    img = load_image(lfw_faces[0])
    face = detect_faces(img)[0]
    m = arcface_matrix(face.landmarks)
    eyes = np.stack([face.landmarks[2:4].mean(0), face.landmarks[0:2].mean(0)])
    mapped = eyes @ m[:, :2].T + m[:, 2]
    assert np.allclose(mapped, ARCFACE_112[:2], atol=1e-6)
    crop = align(img, face.landmarks, style="arcface")
    assert crop.shape == (112, 112, 3) and crop.mean() > 30
    assert abs(ARCFACE_EYE_DISTANCE - 35.24) < 0.01
    assert 50 < chip_eye_distance() < 55


def test_big_face_uses_pyramid_and_stays_close(lfw_faces) -> None:
    """A 4x enlarged image gives nearly the same chip as the original (no aliasing)."""
    img = load_image(lfw_faces[2])
    big = resize_crop(img, (1000, 1000))
    a = align(img, detect_faces(img)[0].landmarks)
    b = align(big, detect_faces(big)[0].landmarks)
    assert np.abs(a.astype(float) - b.astype(float)).mean() < 12


def test_detect_several_faces_largest_first(lfw_faces) -> None:
    a, b = load_image(lfw_faces[0]), load_image(lfw_faces[4])
    small = resize_crop(b, (180, 180))
    canvas = np.zeros((250, 430, 3), np.uint8)
    canvas[:, :250] = a
    canvas[35:215, 250:430] = small
    faces = detect_faces(canvas)
    assert len(faces) == 2 and faces[0].width > faces[1].width and faces[0].box[0] < 250
