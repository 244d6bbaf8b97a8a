"""`lrface scan` on a test video made by `lrface make-test-video`: tracks, names, outputs, bad input;
the tracker alone; `identify --all-faces` on a frame of it."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import run
from lrface.recognize.recognizer import PreparedFace
from lrface.video.scan import Tracker, iou


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, datasets: Path) -> Path:
    from lrface.make.video import make_test_video

    root = tmp_path_factory.mktemp("scan-demo")
    make_test_video(root, frames=16, people=2, seed=1)
    return root


@pytest.fixture(scope="module")
def gallery_db(demo: Path) -> Path:
    from lrface.cli import main

    db = demo / "gallery.npz"
    try:
        main(["gallery", "create", str(db), str(demo / "gallery")])
    except SystemExit as e:
        assert e.code in (0, None)
    assert db.is_file()
    return db


def test_scan_names_every_person(demo: Path, gallery_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = json.loads((demo / "truth.json").read_text())
    out = demo / "result"
    code, stdout, _ = run(["scan", str(demo / "video.avi"), "--gallery", str(gallery_db), "-o", str(out)], capsys)
    assert code == 0, stdout
    result = json.loads((out / "scan.json").read_text())
    assert result["frames_scanned"] == 16 and not result["errors"]
    named = {t["identity"] for t in result["tracks"] if t["identity"]}
    assert named == set(truth["people"])  # every actor found, no distractor named
    for person in truth["people"]:  # each actor followed through (nearly) the whole clip
        longest = max(t["detections"] for t in result["tracks"] if t["identity"] == person)
        assert longest >= 12  # the IOD falls below 10 px in the last two frames
    rows = list(csv.DictReader((out / "tracks.csv").open()))  # one row per face, with its frame and box
    assert len(rows) == sum(t["detections"] for t in result["tracks"])
    assert all(len(t["faces"]) == t["detections"] and t["faces"][0]["box"] for t in result["tracks"])
    page = (out / "contact_sheet.html").read_text()
    assert page.count("data:image/png;base64,") == len(result["tracks"]) and truth["people"][0] in page


def test_scan_every_nth_and_truncated_video(demo: Path, gallery_db: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(["scan", str(demo / "video.avi"), "--every", "4", "-o", str(tmp_path / "a"), "--json"], capsys)
    assert code == 0 and json.loads(stdout)["frames_scanned"] == 4
    data = (demo / "video.avi").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 2 // 3])
    code, stdout, err = run(["scan", str(cut), "--gallery", str(gallery_db), "-o", str(tmp_path / "b")], capsys)
    if code == 0:  # partial results kept and the stop reported
        result = json.loads((tmp_path / "b" / "scan.json").read_text())
        assert 0 < result["frames_scanned"] < 16
    else:
        assert code == 1 and err.strip().count("\n") == 0
    (tmp_path / "junk.avi").write_bytes(b"\x00" * 1000)
    code, _, err = run(["scan", str(tmp_path / "junk.avi"), "-o", str(tmp_path / "c")], capsys)
    assert code == 1 and "not a readable video" in err and "Traceback" not in err


def test_scan_folder_of_frames_skips_bad_ones(demo: Path, tmp_path: Path) -> None:
    from lrface.recognize.routing import load_recognizer
    from lrface.video.scan import scan

    cap = cv2.VideoCapture(str(demo / "video.avi"))
    for i in range(6):
        ok, frame = cap.read()
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), frame)
    (tmp_path / "003.png").write_bytes(b"broken")
    res = scan(tmp_path, load_recognizer(detector="centerface"), None, min_detections=1)
    assert res.frames == 5 and len(res.errors) == 1 and len(res.tracks) >= 2


def _face(box: tuple[float, float, float, float], r: float = 40.0) -> PreparedFace:
    return PreparedFace(np.zeros((150, 150, 3), np.uint8), "x", box[2] - box[0], None, 1, r, box=box)


def test_tracker_never_merges_people_who_cross() -> None:
    """Two people walk into each other's place: IoU alone would swap or merge them; the identity
    check keeps each track pure (and a stranger at a scene cut starts a new track)."""
    e = np.eye(4, dtype=np.float32)
    tr = Tracker(threshold=lambda ra, rb: 0.8)
    for step in range(9):
        x = 10 + 15 * step  # A moves right, B moves left: they overlap around step 4
        boxes = [(x, 100, x + 40, 140), (130 - 15 * step, 104, 170 - 15 * step, 144)]
        tr.update(step, [_face(b) for b in boxes], np.stack([e[0], e[1]]), [0.5, 0.5])
    tr.update(9, [_face((130, 100, 170, 140))], e[2:3], [0.5])  # someone else where A just was
    tracks = tr.finish()
    assert [len(t.frames) for t in tracks] == [9, 9, 1]
    for t, who in zip(tracks, (0, 1, 2)):
        assert all(float(emb @ e[who]) == 1.0 for emb in t.recent)
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)


def test_tracker_gates_by_motion() -> None:
    """The same face far from where the track could have moved starts a new track."""
    e = np.eye(2, dtype=np.float32)
    tr = Tracker(threshold=lambda ra, rb: 0.5)
    tr.update(0, [_face((10, 10, 50, 50))], e[:1], [0.5])
    tr.update(1, [_face((400, 300, 440, 340))], e[:1], [0.5])
    assert len(tr.finish()) == 2


def test_scan_never_merges_people_who_cross(tmp_path: Path, datasets: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Three people walk across each other's paths, the later occluding the earlier: no track
    holds two people (purity >= 0.99), scored through the CLI (eval-scan)."""
    from lrface.make.video import make_test_video

    make_test_video(tmp_path / "x", frames=16, people=3, seed=2, crossing=True)
    code, _, err = run(["scan", str(tmp_path / "x" / "video.avi"), "-o", str(tmp_path / "s"), "--json"], capsys)
    assert code == 0, err
    code, out, _ = run(["eval-scan", str(tmp_path / "s" / "scan.json"), str(tmp_path / "x" / "truth.json"), "--json"],
                       capsys)
    m = json.loads(out)
    assert code == 0 and m["merged"] == 0 and m["purity"] >= 0.99 and m["labelled"] >= 30, m


def test_identify_all_faces_in_a_frame(demo: Path, gallery_db: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    truth = json.loads((demo / "truth.json").read_text())
    cap = cv2.VideoCapture(str(demo / "video.avi"))
    ok, frame = cap.read()
    cv2.imwrite(str(tmp_path / "frame.png"), frame)
    code, out, _ = run(["identify", "--db", str(gallery_db), "-p", str(tmp_path / "frame.png"), "--all-faces",
                        "--json"], capsys)
    found = [json.loads(line) for line in out.strip().splitlines()]
    assert code == 0 and {f["identity"] for f in found} >= set(truth["people"])
    assert all(f["box"] is not None and f["n_faces"] == len(found) for f in found)
    code, out, _ = run(["identify", "--db", str(gallery_db), "-p", str(tmp_path / "frame.png")], capsys)
    assert "face at" in out and f"largest of {len(found)}" in out
