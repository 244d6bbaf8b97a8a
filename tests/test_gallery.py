"""Persistent gallery: enrolment refuses faceless images, safe atomic storage, FAISS search with
open-set answers, and `lrface gallery` / `identify --db` end to end on real LFW faces."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run
from lrface.errors import LrfaceError
from lrface.recognize.routing import DEFAULT_MODEL
from lrface.search.gallery import Gallery, fuse_templates, new_gallery

PEOPLE = ["George_W_Bush", "Colin_Powell", "Tony_Blair", "Hugo_Chavez", "Serena_Williams"]


@pytest.fixture(scope="module")
def people(lfw_dir, tmp_path_factory) -> Path:
    """Two images per person, plus a blank 'photo' that must be refused."""
    root = tmp_path_factory.mktemp("people")
    for p in PEOPLE:
        (root / p).mkdir()
        for i in (1, 2):
            shutil.copy(lfw_dir / p / f"{p}_{i:04d}.jpg", root / p)
    Image.new("RGB", (200, 200), (40, 90, 160)).save(root / "Tony_Blair" / "wall.png")
    return root


def test_create_list_identify_and_refuse(people, lfw_dir, tmp_path, capsys) -> None:
    db = tmp_path / "g.npz"
    code, out, err = run(["gallery", "create", str(db), str(people), "--json"], capsys)
    assert code == 0, err
    info = json.loads(out)
    assert info["identities"] == 5 and info["templates"] == 10
    assert [Path(r["file"]).name for r in info["refused"]] == ["wall.png"]  # never enrolled
    code, out, _ = run(["gallery", "list", str(db), "--json"], capsys)
    assert {r["name"]: r["templates"] for r in json.loads(out)} == {p: 2 for p in PEOPLE}
    probe = lfw_dir / "George_W_Bush" / "George_W_Bush_0003.jpg"
    code, out, _ = run(["identify", "--db", str(db), "-p", str(probe), "--json"], capsys)
    res = json.loads(out)
    assert code == 0 and res["identity"] == "George_W_Bush" and res["matches"][0]["accepted"]
    stranger = lfw_dir / "Aaron_Peirsol" / "Aaron_Peirsol_0001.jpg"
    code, out, _ = run(["identify", "--db", str(db), "-p", str(stranger), "--json"], capsys)
    res = json.loads(out)
    assert code == 3 and res["identity"] is None and not res["matches"][0]["accepted"]  # unknown, not "ranked first"
    code, out, _ = run(["identify", "--db", str(db), "-p", str(stranger)], capsys)
    assert code == 3 and "unknown" in out


def test_add_remove_info_and_duplicates(people, lfw_dir, tmp_path, capsys) -> None:
    db = tmp_path / "g.npz"
    assert run(["gallery", "create", str(db), str(people)], capsys)[0] == 0
    before = db.read_bytes()
    code, _, err = run(["gallery", "create", str(db), str(people)], capsys)
    assert code == 1 and "exists" in err and db.read_bytes() == before  # nothing overwritten
    extra = lfw_dir / "Aaron_Peirsol" / "Aaron_Peirsol_0001.jpg"
    code, out, _ = run(["gallery", "add", str(db), str(extra), "--name", "Aaron_Peirsol", "--json"], capsys)
    assert code == 0 and json.loads(out)["identities"] == 6
    code, out, _ = run(["gallery", "add", str(db), str(extra), "--name", "Aaron_Peirsol", "--json"], capsys)
    assert json.loads(out)["added"] == 0 and json.loads(out)["duplicates"] == 1
    code, out, _ = run(["gallery", "remove", str(db), "Colin_Powell", "--json"], capsys)
    assert code == 0 and json.loads(out)["removed"] == {"Colin_Powell": 2}
    code, out, _ = run(["gallery", "info", str(db), "--json"], capsys)
    info = json.loads(out)
    assert info["identities"] == 5 and info["templates"] == 9 and info["model"] == DEFAULT_MODEL
    code, _, err = run(["gallery", "remove", str(db), "Nobody"], capsys)
    assert code == 1 and "no identity 'Nobody'" in err


def test_gallery_file_is_checked(tmp_path, rec) -> None:
    g = new_gallery(rec)
    g.add("a", np.eye(128, dtype=np.float32)[:2], [100, 50], [1, 0.5], ["x", "y"], ["k1", "k2"])
    path = tmp_path / "g.npz"
    g.save(path)
    again = Gallery.load(path)
    assert again.names == ["a"] and np.array_equal(again.emb, g.emb) and again.model_id == rec.model_id
    (tmp_path / "bad.npz").write_bytes(b"not a gallery")
    with pytest.raises(LrfaceError, match="not a readable lrface gallery"):
        Gallery.load(tmp_path / "bad.npz")
    with pytest.raises(LrfaceError, match="non-finite"):
        g.add("b", np.full((1, 128), np.nan, np.float32), [10], [1], ["z"], ["k3"])
    other = new_gallery(rec)
    other.model_id = "0" * 16
    with pytest.raises(LrfaceError, match="re-create the gallery"):
        other.check_recognizer(rec)


def test_index_kinds_agree_with_exact_search() -> None:
    """IVF and HNSW over 5,000 identities find the exact top-1 for (nearly) every probe."""
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(5000, 64)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    probes = emb[:200] + 0.05 * rng.normal(size=(200, 64)).astype(np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    exact = np.argmax(probes @ emb.T, axis=1)
    for kind in ("flat", "ivf", "hnsw"):
        g = Gallery("m", "id", 64, [f"p{i}" for i in range(5000)], emb, np.arange(5000),
                    np.full(5000, 112, np.float32), np.ones(5000, np.float32), [""] * 5000, [""] * 5000, kind)
        res = g.search(probes, [112.0] * 200, k=1, threshold=0.5)
        top = np.array([int(r.matches[0].name[1:]) for r in res])
        assert (top == exact).mean() >= (1.0 if kind == "flat" else 0.98), kind


def test_fused_template_weights_quality() -> None:
    a, b = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    f = fuse_templates(np.stack([a, b]), np.array([3.0, 1.0]))
    assert np.allclose(f, np.array([3, 1]) / np.sqrt(10), atol=1e-6)


def test_vectorised_fusion_matches_per_identity_fusion() -> None:
    """Gallery.fused() (all identities at once) equals fuse_templates() of each identity's templates."""
    rng = np.random.default_rng(0)
    g = Gallery("m", "id", 8)
    for name in "abcd":
        k = int(rng.integers(1, 4))
        e = rng.normal(size=(k, 8)).astype(np.float32)
        e /= np.linalg.norm(e, axis=1, keepdims=True)
        g.add(name, e, rng.uniform(8, 112, k), rng.uniform(0.1, 1, k), [f"{name}{i}" for i in range(k)],
              [f"{name}{i}" for i in range(k)])
    fused, res = g.fused()
    for k, name in enumerate("abcd"):
        sel = g.ident == k
        assert np.allclose(fused[k], fuse_templates(g.emb[sel], g.quality[sel]), atol=1e-6)
        assert res[k] == g.r[sel].max()
    g.remove("b")
    assert g.fused()[0].shape == (3, 8)
