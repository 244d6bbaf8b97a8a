"""Trustworthy decisions: effective resolution, quality, operating points, open-set decisions,
through the library and the CLI on real LFW faces."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from conftest import run
from lrface.data.facecache import FAILED, aligned_crops
from lrface.degrade import Reduce
from lrface.recognize.operating import OpenSetCalibration, fpir_curve, impostor_quantile
from lrface.recognize.quality import DETAIL_REFERENCE, detail_resolution, fit_detail_reference, quality_score, yaw_proxy


@pytest.fixture(scope="module")
def chips(lfw_dir: Path) -> torch.Tensor:
    """60 LFW faces as 150 px dlib chips (float, N x 3 x 150 x 150)."""
    files = sorted(lfw_dir.glob("*/*_0001.jpg"))
    random.Random(3).shuffle(files)
    cs = aligned_crops(files[:60], "dlib", 150, "hog", progress=False)
    return torch.from_numpy(cs.crops[cs.status != FAILED]).permute(0, 3, 1, 2).float() / 255


def test_detail_reference_is_what_the_fit_measures(datasets: Path) -> None:
    """DETAIL_REFERENCE re-measured on other sharp chips (celeba-subset) agrees within the spread."""
    files = sorted((datasets / "celeba-subset").glob("*/*.jpg"))
    random.Random(7).shuffle(files)
    cs = aligned_crops(files[:80], "dlib", 150, "hog", progress=False)
    x = torch.from_numpy(cs.crops[cs.status != FAILED]).permute(0, 3, 1, 2).float() / 255
    assert np.abs(fit_detail_reference(x) - DETAIL_REFERENCE).max() < 0.6


def test_detail_resolution_reads_reduction_and_blur(chips: torch.Tensor) -> None:
    red = Reduce()
    med = {r: float(np.median(detail_resolution(red(chips, r, "dlib")))) for r in (8, 16, 32)}
    assert 6 <= med[8] <= 11 and 12 <= med[16] <= 21 and 24 <= med[32] <= 42
    assert np.median(detail_resolution(chips)) > 45  # LFW photos: detail of a large face
    noisy = (chips + 0.03 * torch.randn_like(chips)).clamp(0, 1)
    assert np.median(detail_resolution(noisy)) > 45  # sensor noise is not detail


def test_blurred_large_crop_gets_low_effective_resolution_and_quality(rec, lfw_faces: list[Path], tmp_path: Path) -> None:
    """A 200 px photo blurred so that it carries the detail of a small face: its geometric r stays
    large, its effective r and quality fall, and it is routed like the small face it is."""
    from lrface.recognize.routing import LR, load_recognizer

    img = Image.open(lfw_faces[4])
    sharp = rec.prepare(img)
    blurred_img = img.filter(ImageFilter.GaussianBlur(5))
    blurred = rec.prepare(blurred_img)
    assert blurred.quality.r_geom == pytest.approx(sharp.quality.r_geom, rel=0.1) and blurred.quality.r_geom > 80
    assert blurred.r < 24 < sharp.r and blurred.quality.blurred and not sharp.quality.blurred
    assert blurred.quality.score < 0.7 * sharp.quality.score
    routed = load_recognizer(device="cpu")
    assert routed.expert_for_face(routed.prepare(blurred_img)) == LR
    assert any("blurred face" in n for n in blurred.notes())


def test_quality_terms() -> None:
    assert quality_score(112) == pytest.approx(1.0) and quality_score(8) < quality_score(16) < quality_score(32)
    assert quality_score(112, yaw=0.5) < quality_score(112, yaw=0.1) < 1.0
    assert quality_score(112, consistency=0.6) < quality_score(112, consistency=0.95)
    lm = np.array([[70, 50], [60, 50], [30, 50], [40, 50], [50.0, 70]])  # frontal: nose under the eye midpoint
    assert yaw_proxy(lm) == pytest.approx(0.0)
    lm[4, 0] = 65  # nose towards one eye: turned head
    assert abs(yaw_proxy(lm)) > 0.3


def test_impostor_quantile_and_fpir_by_hand() -> None:
    s = np.arange(1000, dtype=np.float64) / 1000  # 0.000 .. 0.999
    t = impostor_quantile(s, 0.01)  # 10 scores at or above t
    assert (s >= t).sum() == 10
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 0.1, (200, 5000))
    ts = np.array([0.2, 0.3, 0.4])
    emp = [(scores[:, :100].max(1) >= v).mean() for v in ts]
    model = fpir_curve(scores, ts, 100)
    assert np.all(np.diff(model) <= 0) and model[0] == pytest.approx(emp[0], abs=0.1)


def test_open_set_threshold_grows_with_gallery_size_and_strictness() -> None:
    grid, ns, fp = [8.0, 112.0], [1, 100, 10000], [0.1, 0.01]
    table = np.array([[[0.5, 0.6], [0.7, 0.8], [0.85, 0.9]], [[0.4, 0.5], [0.6, 0.7], [0.8, 0.85]]])
    osc = OpenSetCalibration(grid, ns, fp, table)
    assert osc.threshold(112, 10, 0.01) < osc.threshold(112, 1000, 0.01)
    assert osc.threshold(112, 100, 0.1) < osc.threshold(112, 100, 0.01)
    assert osc.threshold(8, 100, 0.01) == pytest.approx(0.8) and osc.threshold(300, 1, 0.1) == pytest.approx(0.4)
    assert OpenSetCalibration.from_dict(osc.to_dict()).threshold(20, 500, 0.03) == pytest.approx(osc.threshold(20, 500, 0.03))


def test_default_model_has_operating_points() -> None:
    from lrface.decision import DEFAULT_FAR, DEFAULT_FPIR, open_set_threshold, verification_threshold
    from lrface.recognize.routing import load_recognizer

    rec = load_recognizer(device="cpu")
    assert rec.far_tables is not None and rec.open_set is not None
    strict, loose = verification_threshold(rec, 16, 112, 1e-4), verification_threshold(rec, 16, 112, 1e-2)
    assert strict > verification_threshold(rec, 16, 112, DEFAULT_FAR) > loose
    assert open_set_threshold(rec, 16, 10, DEFAULT_FPIR) < open_set_threshold(rec, 16, 10_000, DEFAULT_FPIR)


def _tight_crop(path: Path, side: int, out: Path) -> str:
    from lrface.align import detect_faces
    from lrface.imageio import load_image

    img = load_image(path)
    left, top, right, bottom = detect_faces(img, "hog")[0].box
    Image.fromarray(img).crop((int(left), int(top), int(right), int(bottom))).resize(
        (side, side), Image.Resampling.BICUBIC).save(out)
    return str(out)


def test_strangers_tiny_crops_are_never_named(lfw_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Tiny crops of people who are not enrolled, against a small gallery, through the CLI with the
    defaults: every answer is "unknown" or "cannot decide", and identify exits 3."""
    enrolled = ["Colin_Powell", "George_W_Bush", "Hugo_Chavez", "Serena_Williams", "Tony_Blair"]
    for name in enrolled:
        (tmp_path / "gallery" / name).mkdir(parents=True)
        src = lfw_dir / name / f"{name}_0001.jpg"
        (tmp_path / "gallery" / name / src.name).write_bytes(src.read_bytes())
    strangers = ["Aaron_Peirsol", "Alvaro_Uribe", "Jennifer_Aniston", "Luiz_Inacio_Lula_da_Silva", "Gerhard_Schroeder",
                 "Vladimir_Putin", "Ariel_Sharon", "Junichiro_Koizumi"]
    (tmp_path / "probes").mkdir()
    for name in strangers:
        for side in (5, 12, 20):
            _tight_crop(lfw_dir / name / f"{name}_0001.jpg", side, tmp_path / "probes" / f"{name}_{side}.png")
    code, out, err = run(["identify", "-g", str(tmp_path / "gallery"), "-p", str(tmp_path / "probes"), "--crop", "tight",
                          "--json"], capsys)
    answers = [json.loads(line) for line in out.strip().splitlines()]
    assert len(answers) == 3 * len(strangers), err
    assert code == 3 and all(a["identity"] is None for a in answers)
    assert {a["decision"] for a in answers} <= {"unknown", "cannot decide"}
    five = [a for a in answers if a["probe"].endswith("_5.png")]
    assert all(a["decision"] == "cannot decide" and a["quality"]["r_eff"] < 8 for a in five)


def test_verify_far_option_and_cannot_decide(lfw_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = str(lfw_dir / "Colin_Powell/Colin_Powell_0001.jpg")
    other = str(lfw_dir / "Colin_Powell/Colin_Powell_0002.jpg")
    thr = {}
    for far in ("0.01", "0.0001"):
        code, out, _ = run(["verify", photo, other, "--far", far, "--json"], capsys)
        v = json.loads(out)
        assert code == 0 and v["far"] == float(far) and v["decision"] in ("same person", "different person")
        thr[far] = v["threshold"]
    assert thr["0.0001"] > thr["0.01"]
    tiny = _tight_crop(lfw_dir / "Colin_Powell/Colin_Powell_0003.jpg", 5, tmp_path / "five.png")
    code, out, _ = run(["verify", tiny, photo, "--crop-a", "tight"], capsys)
    assert code == 0 and out.startswith("cannot decide (quality)")
    Image.open(tiny).resize((5, 7), Image.Resampling.BICUBIC).save(tmp_path / "five_by_seven.png")  # below the detector
    code, out, err = run(["verify", str(tmp_path / "five_by_seven.png"), photo, "--json"], capsys)
    v = json.loads(out)
    assert code == 0 and v["decision"] == "cannot decide" and v["faces"][0]["framing"] == "tight", err
    code, _, err = run(["verify", photo, other, "--far", "2"], capsys)
    assert code == 2 and "Traceback" not in err


def test_new_options_fail_cleanly(tmp_path: Path, lfw_faces: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    """Bad values and files for the decision options and the new commands: one line, no traceback."""
    a, b = str(lfw_faces[0]), str(lfw_faces[1])
    for args, want in ((["verify", a, b, "--far", "0"], 2), (["verify", a, b, "--far", "0.01", "-t", "0.9"], 2),
                       (["identify", "-g", str(tmp_path), "-p", a, "--fpir", "nan"], 2),
                       (["eval-scan", str(tmp_path / "no.json"), str(tmp_path / "none.json")], 1),
                       (["eval-openset", "--conditions", "r7"], 2)):
        code, _, err = run(args, capsys)
        assert code == want and "Traceback" not in err and err.strip(), (args, code, err)
    (tmp_path / "scan.json").write_text('{"tracks": 3}')
    (tmp_path / "truth.json").write_text("{}")
    code, _, err = run(["eval-scan", str(tmp_path / "scan.json"), str(tmp_path / "truth.json")], capsys)
    assert code == 1 and "not an lrface scan.json" in err
