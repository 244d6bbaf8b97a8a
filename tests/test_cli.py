"""`lrface verify / embed / models` on real LFW faces and on every kind of bad input."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run


def test_models_lists_registry(capsys) -> None:
    code, out, _ = run(["models"], capsys)
    assert code == 0 and "dlib_resnet" in out


def test_verify_same_and_different(lfw_faces, capsys) -> None:
    a1, a2, b1 = lfw_faces[6], lfw_faces[7], lfw_faces[8]  # George W Bush x2, Hugo Chavez
    code, out, _ = run(["verify", str(a1), str(a2)], capsys)
    assert code == 0 and out.startswith("same person"), out
    assert "between the eyes" in out
    code, out, _ = run(["verify", str(a1), str(b1), "--json"], capsys)
    res = json.loads(out)
    assert code == 0 and res["same"] is False and res["similarity"] < res["threshold"]


def test_verify_tiny_aligned_crops_warn(lfw_faces, tmp_path, capsys) -> None:
    from lrface.align import align, detect_faces
    from lrface.imageio import load_image

    paths = []
    for i, p in enumerate(lfw_faces[6:8]):
        img = load_image(p)
        crop = align(img, detect_faces(img)[0].landmarks, style="arcface")
        small = tmp_path / f"tiny{i}.png"
        Image.fromarray(crop).resize((8, 8), Image.Resampling.BICUBIC).save(small)
        paths.append(str(small))
    code, out, err = run(["verify", *paths, "--crop-a", "photo"], capsys)
    assert code == 1 and "no face found" in err and "--crop-a" in err and "Traceback" not in err
    code, out, err = run(["verify", *paths], capsys)  # auto: too small to detect in -> taken as crops
    assert code == 0 and "taken as a tight face crop" in err and "small face" in err
    code, out, err = run(["verify", *paths, "--crop-a", "arcface", "--crop-b", "arcface"], capsys)
    assert code == 0 and "A: arcface crop 8 px, resolution r = 8" in out
    code, out, err = run(["verify", *paths, "--aligned"], capsys)  # the model's own framing (dlib chip)
    assert code == 0 and "dlib crop 8 px" in out and "small face" in err


@pytest.fixture(scope="module")
def image_zoo(lfw_faces, tmp_path_factory) -> dict[str, Path]:
    """Good images in awkward formats and bad files, generated from a real face."""
    d = tmp_path_factory.mktemp("zoo")
    face = Image.open(lfw_faces[0]).convert("RGB")
    other = Image.open(lfw_faces[4]).convert("RGB")
    files: dict[str, Path] = {}

    def put(name: str, save) -> None:
        files[name] = d / name
        save(files[name])

    put("good.jpg", lambda p: face.save(p))
    put("gray.png", lambda p: face.convert("L").save(p))
    put("rgba.png", lambda p: face.convert("RGBA").save(p))
    put("palette.png", lambda p: face.convert("P", palette=Image.Palette.ADAPTIVE).save(p))
    put("cmyk.jpg", lambda p: face.convert("CMYK").save(p))
    arr16 = (np.asarray(face.convert("L"), np.uint16) * 257)
    put("sixteen.png", lambda p: Image.fromarray(arr16).save(p))
    put("huge.jpg", lambda p: face.resize((5000, 5000), Image.Resampling.BILINEAR).save(p, quality=80))
    canvas = Image.new("RGB", (430, 250))
    canvas.paste(face, (0, 0))
    canvas.paste(other.resize((180, 180)), (250, 35))
    put("two_faces.jpg", lambda p: canvas.save(p))
    put("empty.jpg", lambda p: p.write_bytes(b""))
    put("truncated.jpg", lambda p: p.write_bytes(lfw_faces[0].read_bytes()[:3000]))
    put("text.jpg", lambda p: p.write_text("this is not an image\n"))
    put("one_pixel.png", lambda p: Image.new("RGB", (1, 1), (128, 0, 0)).save(p))
    put("no_face.png", lambda p: Image.new("RGB", (200, 200), (40, 90, 160)).save(p))
    return files


GOOD = ["good.jpg", "gray.png", "rgba.png", "palette.png", "cmyk.jpg", "sixteen.png", "huge.jpg", "two_faces.jpg"]
BAD = {"empty.jpg": "empty file", "truncated.jpg": "unreadable image", "text.jpg": "not an image",
       "one_pixel.png": "no face", "no_face.png": "no face"}


@pytest.mark.parametrize("name", GOOD)
def test_awkward_but_valid_images_verify(image_zoo, lfw_faces, name, capsys) -> None:
    code, out, err = run(["verify", str(image_zoo[name]), str(lfw_faces[1])], capsys)
    assert code == 0, err
    assert out.startswith("same person"), (name, out)  # Aaron Peirsol 1 vs 2
    if name == "two_faces.jpg":
        assert "2 faces found" in err and "using the largest" in err


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_images_one_line_error(image_zoo, lfw_faces, name, capsys) -> None:
    code, out, err = run(["verify", str(image_zoo[name]), str(lfw_faces[1])], capsys)
    assert code == 1
    assert BAD[name] in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_missing_file_and_directory(tmp_path, lfw_faces, capsys) -> None:
    code, _, err = run(["verify", str(tmp_path / "nope.jpg"), str(lfw_faces[1])], capsys)
    assert code == 1 and "no such file" in err
    code, _, err = run(["verify", str(tmp_path), str(lfw_faces[1])], capsys)
    assert code == 1 and "directory" in err


def test_embed_skips_bad_keeps_good(image_zoo, tmp_path, capsys) -> None:
    d = tmp_path / "mixed"
    d.mkdir()
    for name, p in image_zoo.items():
        shutil.copy(p, d / name)
    out_file = tmp_path / "emb.npz"
    code, out, err = run(["embed", str(d), "--out", str(out_file)], capsys)
    assert code == 0, err
    z = np.load(out_file)
    good = sorted(Path(p).name for p in z["paths"])
    assert good == sorted(GOOD)
    assert sorted(Path(p).name for p in z["failed"]) == sorted(BAD)
    assert z["embeddings"].shape == (len(GOOD), 128)
    assert np.allclose(np.linalg.norm(z["embeddings"], axis=1), 1, atol=1e-5)
    assert f"skipped {len(BAD)} file(s)" in err and "Traceback" not in err
    # the same face in every format embeds close to the original
    e = dict(zip((Path(p).name for p in z["paths"]), z["embeddings"]))
    for name in ["gray.png", "rgba.png", "cmyk.jpg", "sixteen.png", "huge.jpg"]:
        assert float(e[name] @ e["good.jpg"]) > 0.9, name


def test_embed_all_bad_fails(image_zoo, tmp_path, capsys) -> None:
    d = tmp_path / "bad"
    d.mkdir()
    shutil.copy(image_zoo["text.jpg"], d / "x.jpg")
    code, _, err = run(["embed", str(d), "--out", str(tmp_path / "e.npz")], capsys)
    assert code == 1 and "no image could be embedded" in err
    code, _, err = run(["embed", str(tmp_path / "missing"), "--out", str(tmp_path / "e.npz")], capsys)
    assert code == 1 and "no such file or folder" in err  # a missing folder is named as missing


def test_unknown_model_is_clear(lfw_faces, capsys) -> None:
    code, _, err = run(["verify", str(lfw_faces[0]), str(lfw_faces[1]), "--model", "nope"], capsys)
    assert code == 1 and "unknown model 'nope'" in err


def test_verify_with_mmod_detector(lfw_faces, capsys) -> None:
    code, out, err = run(["verify", str(lfw_faces[6]), str(lfw_faces[7]), "--detector", "mmod"], capsys)
    assert code == 0 and out.startswith("same person"), err


def test_verify_published_model_and_uncalibrated_weights(lfw_faces, capsys) -> None:
    from lrface.paths import weights_dir

    a, b = str(lfw_faces[6]), str(lfw_faces[7])  # George W Bush x2
    code, out, err = run(["verify", a, b, "--model", "dlib_resnet_lr", "--json"], capsys)
    res = json.loads(out)
    assert code == 0 and res["same"] is True and res["threshold"] == pytest.approx(0.9156)
    weights = str(weights_dir() / "dlib_resnet_lr.safetensors")
    code, _, err = run(["verify", a, b, "--weights", weights], capsys)
    assert code == 1 and "--threshold" in err and "Traceback" not in err
    code, out, _ = run(["verify", a, b, "--weights", weights, "--threshold", "0.9"], capsys)
    assert code == 0 and out.startswith("same person")


def test_calibrate_save_refuses_before_computing(capsys) -> None:
    """--save only for a published model's own weights; refused at once, not after the calibration."""
    code, _, err = run(["calibrate", "--model", "dlib_resnet", "--save"], capsys)
    assert code == 1 and "not in weights/manifest.json" in err and "Traceback" not in err
    code, _, err = run(["calibrate", "--model", "dlib_resnet_lr", "--weights", "x.safetensors", "--save"], capsys)
    assert code == 1 and "drop --weights" in err
