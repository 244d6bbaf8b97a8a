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
from lrface.recognizer import PreparedFace
from lrface.scan import Tracker, iou


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, datasets: Path) -> Path:
    from lrface.scan import make_test_video

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
    rows = list(csv.DictReader((out / "tracks.csv").open()))
    assert len(rows) == len(result["tracks"])
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
    from lrface.routed import load_recognizer
    from lrface.scan import scan

    cap = cv2.VideoCapture(str(demo / "video.avi"))
    for i in range(6):
        ok, frame = cap.read()
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), frame)
    (tmp_path / "003.png").write_bytes(b"broken")
    res = scan(tmp_path, load_recognizer(detector="centerface"), None, min_detections=1)
    assert res.frames == 5 and len(res.errors) == 1 and len(res.tracks) >= 2


def _face(box: tuple[float, float, float, float], r: float = 40.0) -> PreparedFace:
    return PreparedFace(np.zeros((150, 150, 3), np.uint8), "x", box[2] - box[0], None, 1, r, box=box)


def test_tracker_links_by_iou_and_embeds_only_what_it_needs() -> None:
    calls = []
    e = np.eye(4, dtype=np.float32)

    def embed(faces):
        calls.append(len(faces))
        return np.stack([e[int(f.box[1] > 100)] for f in faces])

    tr = Tracker(keep=2)
    for step in range(5):
        boxes = [(10 + 2 * step, 10, 50 + 2 * step, 50), (10, 200 + step, 50, 240 + step)]
        tr.update(step, [_face(b) for b in boxes], embed, [0.5, 0.5 - 0.01 * step])
    tracks = tr.finish()
    assert [len(t.frames) for t in tracks] == [5, 5]
    assert sum(calls) < 10 and all(len(t.embeddings) <= 3 for t in tracks)
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)


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
