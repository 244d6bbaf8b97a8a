"""Routing by measured resolution, per-image framings in the API, and routed evaluation plumbing."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from lrface.align import detect_faces
from lrface.degrade import Reduce
from lrface.errors import LrfaceError
from lrface.imageio import load_image
from lrface.recognize.recognizer import Recognizer
from lrface.recognize.routing import HR, LR, RoutedRecognizer, load_recognizer


@pytest.fixture(scope="module")
def lr_weights(tmp_path_factory) -> str:
    """An untrained lrnet32 (routing is tested, not accuracy), saved like `lrface train` saves it."""
    from lrface.models import create_model

    torch.manual_seed(0)
    m = create_model("lrnet32", pretrained=False).eval()
    path = tmp_path_factory.mktemp("lrx") / "model.safetensors"
    save_file({k: v.contiguous() for k, v in m.state_dict().items()}, str(path), metadata={"model": "lrnet32"})
    return str(path)


@pytest.fixture(scope="module")
def routed(lr_weights, rec) -> RoutedRecognizer:
    r = load_recognizer("dlib_resnet", device="cpu", lr_weights=lr_weights, cutoff=30)
    assert isinstance(r, RoutedRecognizer)
    return r


def test_expert_for_resolution(routed) -> None:
    assert routed.expert_for(7) == LR and routed.expert_for(29) == LR
    assert routed.expert_for(30) == HR and routed.expert_for(112) == HR and routed.expert_for((20, 40)) == LR


def test_embed_at_routes_and_hr_is_untouched(routed, rec, lfw_faces) -> None:
    """Above the cut-off the routed embeddings are the HR expert's, bit for bit; below, the LR expert's."""
    from lrface.data.facecache import aligned_crops

    cs = aligned_crops(lfw_faces[:4], "dlib", 150, progress=False)
    x = torch.from_numpy(cs.crops).permute(0, 3, 1, 2).float() / 255
    red = Reduce()
    assert np.array_equal(routed.embed_at(x, 112, red), rec.embed_at(x, 112, red))
    assert np.array_equal(routed.embed_at(x, 40, red), rec.embed_at(x, 40, red))
    low = routed.embed_at(x, 10, red)
    small = red.down(x, 10, "dlib")
    assert small.shape[-1] == 9
    assert np.allclose(low, routed.embed_lr_chips(small), atol=1e-6)
    assert not np.allclose(low, rec.embed_at(x, 10, red), atol=1e-3)
    assert np.allclose(np.linalg.norm(low, axis=1), 1, atol=1e-5)
    assert routed.model_id != rec.model_id


def test_faces_route_by_measured_resolution(routed, lfw_faces) -> None:
    img = load_image(lfw_faces[6])
    big = routed.prepare(img)
    assert big.framing == "photo" and big.r_geom > 100 and big.r >= 24 and routed.expert_for_face(big) == HR
    face = detect_faces(img)[0]
    left, top, right, bottom = (int(round(v)) for v in face.box)
    tiny = np.asarray(Image.fromarray(img[top:bottom, left:right]).resize((14, 14), Image.Resampling.BOX))
    small = routed.prepare(tiny)  # auto: too small to detect in -> a tight crop
    assert small.framing == "tight" and small.fallback and 17 < small.r_geom < 20  # eyes 5.8 px apart
    assert small.r <= small.r_geom  # effective: no more detail than its pixels
    assert small.small_chip is not None and small.small_chip.shape[0] == max(4, round(0.904 * small.r))
    assert routed.expert_for_face(small) == LR
    e = routed.embed_faces([big, small])
    assert e.shape == (2, 128) and np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    with pytest.raises(LrfaceError, match="no face found"):
        routed.prepare(tiny, framing="photo")


def test_images_as_paths_arrays_and_pil(rec, lfw_faces) -> None:
    path = lfw_faces[0]
    arr = load_image(path)
    e_path, e_arr = rec.embed(path), rec.embed(arr)
    e_pil = rec.embed(Image.open(path))
    e_float = rec.embed(arr.astype(np.float32) / 255.0)
    assert np.allclose(e_path, e_arr, atol=1e-6) and np.allclose(e_path, e_pil, atol=1e-6)
    assert float((e_float * e_path).sum()) > 0.999
    with pytest.raises(LrfaceError, match="array image"):
        rec.prepare(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(LrfaceError, match="not an image"):
        rec.prepare(42)  # type: ignore[arg-type]
    with pytest.raises(LrfaceError, match="unknown framing"):
        rec.prepare(arr, framing="wide")


def test_load_recognizer_errors(lr_weights) -> None:
    with pytest.raises(LrfaceError, match="--cutoff / --match-weight need"):
        load_recognizer("dlib_resnet", cutoff=20)
    assert isinstance(load_recognizer("dlib_resnet"), Recognizer)


def test_default_model_falls_back_without_manifest(tmp_path, monkeypatch, caplog) -> None:
    """Without the published routed default (an empty weights folder), the HR expert alone serves,
    (logged); --weights without --model loads into the HR architecture."""
    import logging

    from lrface.recognize.routing import DEFAULT_MODEL

    caplog.set_level(logging.INFO)
    monkeypatch.setenv("LRFACE_WEIGHTS", str(tmp_path))
    rec = load_recognizer(device="cpu")
    assert rec.model_name == "dlib_resnet" and DEFAULT_MODEL in caplog.text


def _tiny_crop(path, side: int, out) -> str:
    """The detector's face box of an LFW photo, shrunk to ``side`` px: what a far-away camera sees."""
    img = load_image(path)
    left, top, right, bottom = (int(round(v)) for v in detect_faces(img)[0].box)
    Image.fromarray(img[top:bottom, left:right]).resize((side, side), Image.Resampling.BOX).save(out)
    return str(out)


def test_tiny_crop_vs_photo_end_to_end_with_the_default_model(lfw_dir, tmp_path, capsys) -> None:
    """`lrface verify tiny.png photo.jpg` with the published default (dlib_routed): the 16 px crop is
    measured, routed to the LR expert, and decided at FAR 1e-3 for (its r, the photo's r): Colin
    Powell's crop is never called a different person from another photo of him, nor the same
    person as George W. Bush."""
    import json

    from conftest import run
    from lrface.decision import DEFAULT_FAR
    from lrface.recognize.routing import DEFAULT_MODEL

    tiny = _tiny_crop(lfw_dir / "Colin_Powell/Colin_Powell_0002.jpg", 16, tmp_path / "tiny.png")
    photo = str(lfw_dir / "Colin_Powell/Colin_Powell_0001.jpg")
    other = str(lfw_dir / "George_W_Bush/George_W_Bush_0001.jpg")
    code, out, err = run(["verify", tiny, photo, "--json"], capsys)
    v = json.loads(out)
    assert code == 0 and v["model"] == DEFAULT_MODEL and v["far"] == DEFAULT_FAR, (out, err)
    assert v["decision"] in ("same person", "cannot decide") and v["same"] is not False
    a, b = v["faces"]
    assert a["expert"] == "lr" and a["framing"] == "tight" and a["r"] < 24 and b["expert"] == "hr"
    assert a["quality"]["r_geom"] > 18 and a["quality"]["score"] < b["quality"]["score"]
    code, out, err = run(["verify", tiny, other, "--json"], capsys)
    w = json.loads(out)
    assert code == 0 and w["decision"] in ("different person", "cannot decide") and w["same"] is not True


def test_cutoff_and_match_weight_selection_on_dev_pairs(datasets) -> None:
    """`lrface route`'s choices on 60 pairsDevTrain pairs with the published experts: the cut-off follows
    its rule over the table, each table entry is the pooled best-threshold CR accuracy, and the chosen
    match weight is the best row and is left set on the recognizer."""
    from lrface.data.lfw import lfw_pairs
    from lrface.eval.routing import choose_cutoff, choose_match_weight
    from lrface.eval.verification import VerificationEval
    from lrface.metrics import best_threshold
    from lrface.recognize.embeddings import Embedder

    dev = lfw_pairs(datasets, "pairsDevTrain.txt")
    pairs = dev.subset(np.isin(np.arange(len(dev)), np.r_[0:30, len(dev) - 30:len(dev)]), "dev60")
    hr, lr = Recognizer("dlib_resnet", device="cpu"), Recognizer("dlib_lr150", device="cpu")
    cutoff, rows = choose_cutoff(hr, lr, pairs, grid=(12, 40))
    ev = VerificationEval(Embedder(hr, Reduce(), progress=False), pairs)
    s = np.concatenate(ev.run("cr", 12).scores)
    assert rows[0]["hr"] == best_threshold(s, np.concatenate([pairs.same, pairs.same]))[1]
    wins = [row["hr"] >= row["lr"] for row in rows]
    assert cutoff == (12.0 if all(wins) else 40.0 if wins[1] else 41.0)
    routed = RoutedRecognizer(hr, lr, 24)
    w, table = choose_match_weight(routed, pairs, weights=(0.0, 0.5), rs=(8, 40))
    assert [row["w"] for row in table] == [0.0, 0.5] and set(table[0]) == {"w", "accuracy", "r8"}
    assert w == max(table, key=lambda row: row["accuracy"])["w"] and routed.match_weight == w
