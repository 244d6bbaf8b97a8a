"""End to end on one real LFW fold: eval sweep, protocols, cache reuse, report; identification on ORL."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run
from lrface.cli import main
from lrface.recognize.embeddings import Embedder


@pytest.fixture(scope="module")
def fold0(tmp_path_factory, datasets):
    out = tmp_path_factory.mktemp("eval")
    args = ["eval", "--folds", "1", "-r", "7,14", "--modes", "cr,er,cr1", "-p", "btm-stm", "--out", str(out)]
    try:
        main(args)
    except SystemExit as e:
        assert not e.code
    return out, args


def test_fold0_results_are_sane(fold0) -> None:
    out, _ = fold0
    data = json.loads((out / "results.json").read_text())
    rows = {(r["mode"], r["resolution"]): r for r in data["results"]}
    assert data["meta"]["dataset"] == "lfw" and all(r["n_pairs"] == 600 for r in rows.values())
    hr = rows[("hr", "112")]["accuracy"]
    assert hr > 0.97
    assert rows[("cr", "7")]["accuracy"] < rows[("cr", "14")]["accuracy"] < hr
    assert rows[("cr", "7")]["accuracy"] < hr - 0.15  # 7 px faces really hurt the HR-trained model
    assert rows[("protocol", "low_res")]["accuracy"] < rows[("protocol", "mid_res")]["accuracy"]
    assert rows[("protocol", "mid_res")]["accuracy"] < rows[("protocol", "high_res")]["accuracy"] + 1e-9
    # CR both orders: two score arrays; cr1 is the second of them
    z = np.load(out / "scores.npz")
    assert np.array_equal(z["cr|7|1"], z["cr1|7|0"])
    assert rows[("cr", "7")]["tar"]["0.001"] <= rows[("cr", "7")]["tar"]["0.1"]
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + len(rows)


def test_rerun_uses_the_cache(fold0, capsys, monkeypatch) -> None:
    out, args = fold0
    calls = []
    real = Embedder._compute
    monkeypatch.setattr(Embedder, "_compute", lambda self, crops, r: calls.append(len(crops)) or real(self, crops, r))
    before = (out / "results.json").read_text()
    code, stdout, _ = run(args, capsys)
    assert code == 0 and calls == []
    assert json.loads(before)["results"] == json.loads((out / "results.json").read_text())["results"]


def test_corrupt_cache_is_recomputed(fold0, isolated_cache, capsys) -> None:
    out, args = fold0
    files = sorted((isolated_cache / "embeddings").rglob("*.npz"))
    assert files
    for f in files:
        f.write_bytes(b"corrupt")
    before = json.loads((out / "results.json").read_text())["results"]
    code, _, err = run(args, capsys)
    assert code == 0, err
    after = json.loads((out / "results.json").read_text())["results"]
    assert [r["accuracy"] for r in before] == pytest.approx([r["accuracy"] for r in after], abs=1e-9)


def test_report_html_and_markdown(fold0, capsys) -> None:
    out, _ = fold0
    code, _, err = run(["report", str(out / "results.json"), "--out", str(out / "r.html")], capsys)
    assert code == 0, err
    html = (out / "r.html").read_text()
    assert html.count("data:image/png;base64,") >= 5 and "low_res" in html
    code, _, _ = run(["report", str(out / "results.json"), "--out", str(out / "r.md")], capsys)
    assert code == 0 and len(list(out.glob("r_fig*.png"))) >= 5


def test_eval_missing_data_is_one_line(tmp_path, capsys) -> None:
    code, _, err = run(["eval", "--data-root", str(tmp_path), "--out", str(tmp_path / "o")], capsys)
    assert code == 1 and "LFW not found" in err and len(err.strip().splitlines()) == 1


def test_identification_on_orl(datasets, tmp_path, capsys) -> None:
    out = tmp_path / "id.json"
    code, stdout, err = run(["eval-id", "-d", str(datasets / "orl"), "-r", "8,112", "--subjects", "20",
                             "--repeats", "3", "--out", str(out)], capsys)
    assert code == 0, err
    res = {r["resolution"]: r for r in json.loads(out.read_text())["results"]}
    assert res["112"]["cmc"]["rank1"] > 0.95
    assert res["8"]["cmc"]["rank1"] < res["112"]["cmc"]["rank1"] - 0.3
    assert res["8"]["cmc"]["rank1"] <= res["8"]["cmc"]["rank5"] <= res["8"]["cmc"]["rank20"]


def test_make_bin_then_eval_it(datasets, tmp_path, capsys) -> None:
    """pairs file -> .bin (CLI) -> eval on the .bin scores every pair as eval on the folder does
    (accuracies differ only through folds: a .bin has 10 equal folds, this pairs file one)."""
    lines = (datasets / "lfw" / "pairs.txt").read_text().splitlines()
    mini = tmp_path / "pairs_mini.txt"
    mini.write_text("1 20\n" + "\n".join(lines[1:21] + lines[301:321]) + "\n")
    images = datasets / "lfw" / "lfw-deepfunneled"
    code, out, err = run(["make-bin", "--pairs", str(mini), "--images", str(images), "--out", str(tmp_path / "m.bin")], capsys)
    assert code == 0 and "wrote 40 pairs" in out, err
    scores = []
    for ds in ([str(mini), "--images", str(images)], [str(tmp_path / "m.bin")]):
        o = tmp_path / f"o{len(scores)}"
        code, _, err = run(["eval", "--dataset", *ds, "-r", "10", "--modes", "er", "--out", str(o)], capsys)
        assert code == 0, err
        scores.append(np.load(o / "scores.npz"))
    for key in ("same", "hr|112|0", "er|10|0"):
        assert np.allclose(scores[0][key], scores[1][key], atol=1e-6), key


def test_flip_fusion(lfw_faces, rec) -> None:
    from lrface.degrade import Reduce

    outs = {}
    for flip in ("none", "sum", "concat"):
        emb = Embedder(rec, Reduce(), flip=flip, cache=False, progress=False)
        cs = emb.crops(lfw_faces[6:10])
        outs[flip] = emb.embed(cs, np.arange(4), 14)
    assert outs["none"].shape == (4, 128) and outs["sum"].shape == (4, 128) and outs["concat"].shape == (4, 256)
    for e in outs.values():
        assert np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert not np.allclose(outs["none"], outs["sum"])
    assert np.allclose(outs["concat"][:, :128] * np.sqrt(2), outs["none"], atol=0.05)
