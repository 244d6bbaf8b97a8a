"""Small-face detection: the detector registry, CenterFace on real and pasted faces, the seeded
benchmark and its matching rule, `lrface detect`, and `identify --all-faces`."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import run
from lrface.align import detect_faces, detector_names
from lrface.align.detect import CENTERFACE_TEMPLATE, Face, eye_centres, landmarks_from_points, nms
from lrface.align.transform import DLIB_5PT_TEMPLATE
from lrface.errors import LrfaceError
from lrface.eval.detection import evaluate_detector, match_faces
from lrface.imageio import load_image
from lrface.make.detection import make_detection_benchmark


def test_registry_lists_detectors() -> None:
    assert {"auto", "hog", "mmod", "centerface", "yunet"} <= set(detector_names())
    with pytest.raises(LrfaceError, match="unknown detector"):
        detect_faces(np.zeros((64, 64, 3), np.uint8), "nope")


def test_landmarks_from_points_is_similarity_invariant() -> None:
    """Points that are an exact similarity image of the template give dlib's template under the same map."""
    a, t = 2.0 * np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]]), np.array([40.0, 25.0])
    lm = landmarks_from_points(CENTERFACE_TEMPLATE @ a.T + t, CENTERFACE_TEMPLATE)
    assert np.allclose(lm, DLIB_5PT_TEMPLATE @ a.T + t, atol=1e-9)


def test_nms_keeps_best_of_overlaps() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], float)
    assert sorted(nms(boxes, np.array([0.5, 0.9, 0.7]), 0.3).tolist()) == [1, 2]


def test_centerface_agrees_with_dlib_on_photo(lfw_faces: list[Path]) -> None:
    """On a normal LFW photo CenterFace finds the same face as HOG; eye centres within 0.15 IOD."""
    errs = []
    for p in lfw_faces[:6]:
        im = load_image(p)
        hog, cf = detect_faces(im, "hog")[0], detect_faces(im, "centerface")[0]
        assert cf.points is not None and cf.points.shape == (5, 2)
        errs.append(np.linalg.norm(eye_centres(hog) - eye_centres(cf), axis=1).mean() / hog.eye_distance)
    assert max(errs) < 0.15, errs


def test_auto_uses_dlib_for_big_faces_and_centerface_for_tiny(lfw_faces: list[Path]) -> None:
    im = load_image(lfw_faces[0])
    big = detect_faces(im, "auto")[0]
    assert big.points is None  # HOG found it: exact dlib landmarks
    canvas = np.full((240, 320, 3), 110, np.uint8)
    small = cv2.resize(im, None, fx=0.22, fy=0.22, interpolation=cv2.INTER_AREA)
    canvas[60 : 60 + small.shape[0], 100 : 100 + small.shape[1]] = small
    assert not detect_faces(canvas, "hog")
    tiny = detect_faces(canvas, "auto")
    assert len(tiny) == 1 and tiny[0].points is not None and 7 < tiny[0].eye_distance < 12
    both = np.concatenate([canvas, np.full((240, 250, 3), 110, np.uint8)], 1)
    both = np.concatenate([both, np.full((60, 570, 3), 110, np.uint8)], 0)
    both[20:270, 315:565] = im  # the full photo beside the tiny face
    assert len(detect_faces(both, "auto")) == 1  # HOG finds the big face: one face is enough for verify
    every = detect_faces(both, "auto", complete=True)  # every face: the tiny one too
    assert len(every) == 2 and every[0].points is None and every[1].points is not None


def test_match_faces_rule() -> None:
    truth = [{"eyes": [[100, 100], [112, 100]], "iod": 12}, {"eyes": [[300, 50], [340, 50]], "iod": 40}]

    def face(left, right, score):  # dlib order: points 0, 1 one eye, 2, 3 the other (image left)
        left, right = np.array(left, float), np.array(right, float)
        return Face((0, 0, 1, 1), np.stack([right, right, left, left, (left + right) / 2 + [0, 10]]), score)

    good = face([100.5, 100], [112.5, 100], 0.9)
    too_big = face([80, 100], [132, 100], 0.95)  # right place, IOD 52 vs 12: not the same face
    matched, used = match_faces([too_big, good], truth)
    assert matched == [1, None] and used == [False, True]


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory, datasets: Path) -> Path:
    root = tmp_path_factory.mktemp("detect-bench")
    make_detection_benchmark(root, images=6, faces=6, sizes=(8, 12, 16, 32))
    return root


def test_benchmark_is_seeded_and_centerface_finds_small_faces(bench: Path, tmp_path: Path) -> None:
    truth = json.loads((bench / "truth.json").read_text())
    again = make_detection_benchmark(tmp_path, images=2, faces=6, sizes=(8, 12, 16, 32))
    assert again["truth"][:2] == truth["truth"][:2]
    assert (tmp_path / "images" / "0000.jpg").read_bytes() == (bench / "images" / "0000.jpg").read_bytes()
    cf = evaluate_detector(bench, "centerface", progress=False)
    hog = evaluate_detector(bench, "hog", progress=False)
    by = dict(zip(cf.sizes, cf.recall))
    assert by[16] >= 0.8 and by[32] >= 0.9 and cf.precision_all >= 0.9, cf
    assert dict(zip(hog.sizes, hog.recall))[12] < by[12]  # HOG misses faces this small


def test_detect_cli(bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    code, out, err = run(["detect", "--json", str(bench / "images" / "0000.jpg"), str(bad)], capsys)
    assert code == 0 and "bad.jpg: skipped" in err
    rows = json.loads(out.strip().splitlines()[0])
    assert rows["detector"] == "centerface" and len(rows["faces"]) >= 4
    assert all(len(f["landmarks"]) == 5 and f["r"] > 0 for f in rows["faces"])
    code, _, err = run(["detect", str(bad)], capsys)
    assert code == 1 and "no readable image" in err
    code, _, err = run(["detect", "--detector", "hogg", str(bad)], capsys)
    assert code == 2 and "hogg" in err
