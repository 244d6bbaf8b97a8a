"""A hostile new user's battery: every case ends in one clear line on stderr and a non-zero exit status
(2 for a bad argument, 1 for bad data), never a traceback; batch commands keep the good items."""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from conftest import run

LFW = "Colin_Powell/Colin_Powell_0001.jpg"


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory, lfw_dir: Path) -> dict[str, Path]:
    """Broken and hostile inputs, written once."""
    d = tmp_path_factory.mktemp("bad")
    files = {"empty.jpg": b"", "text.jpg": b"this is not an image\n" * 10,
             "truncated.jpg": (lfw_dir / LFW).read_bytes()[:600],
             "eps.eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
             "weights.safetensors": b"\x00" * 64}
    for name, data in files.items():
        (d / name).write_bytes(data)
    # a 30000 x 30000 PNG that is a few kB on disk (decompression bomb)
    raw = zlib.compress(b"\x00" * (1 + 30000 // 8) * 100)
    chunk = lambda t, b: struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))  # noqa: E731
    (d / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 1, 0, 0, 0, 0))
                                 + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    Image.fromarray(np.full((120, 100, 3), 128, np.uint8)).save(d / "flat.png")
    Image.fromarray(np.zeros((3, 3, 3), np.uint8)).save(d / "dot.png")
    save_file({"x": torch.full((3,), float("nan"))}, str(d / "nan.safetensors"))
    (d / "dir.jpg").mkdir()
    (d / "results.json").write_text("{not json")
    (d / "gallery.lrg").write_bytes(b"garbage" * 100)
    (d / "a_file").write_text("x")
    return d


def _face(lfw_dir: Path) -> str:
    return str(lfw_dir / LFW)


ARG_CASES = {  # exit 2: refused at the edge, before any work
    "verify nan threshold": ["verify", "{face}", "{face}", "-t", "nan"],
    "verify inf threshold": ["verify", "{face}", "{face}", "-t", "inf"],
    "verify threshold out of range": ["verify", "{face}", "{face}", "-t", "2.5"],
    "verify typo option": ["verify", "{face}", "{face}", "--treshold", "0.5"],
    "verify unknown framing": ["verify", "{face}", "{face}", "--crop-a", "tigth"],
    "typo command": ["verfy", "{face}", "{face}"],
    "embed negative batch": ["embed", "{lfw}/Colin_Powell", "-o", "{tmp}/e.npz", "--batch-size", "-1"],
    "embed zero batch": ["embed", "{lfw}/Colin_Powell", "-o", "{tmp}/e.npz", "--batch-size", "0"],
    "identify k 0": ["identify", "-g", "{lfw}/Colin_Powell", "-p", "{face}", "-k", "0"],
    "identify negative degradations": ["identify", "-g", "{lfw}", "-p", "{face}", "--method", "mitm",
                                       "--degradations", "-1"],
    "identify nan threshold": ["identify", "-g", "{lfw}", "-p", "{face}", "-t", "nan"],
    "eval folds 0": ["eval", "--folds", "0"],
    "eval resolution 0": ["eval", "-r", "0"],
    "eval negative resolution": ["eval", "-r", "-5"],
    "eval resolution above the crop": ["eval", "-r", "500"],
    "eval resolution word": ["eval", "-r", "tiny"],
    "eval empty resolutions": ["eval", "-r", ","],
    "eval out is a file": ["eval", "-r", "14", "-o", "{bad}/a_file"],
    "eval nan cutoff": ["eval", "-r", "14", "--cutoff", "nan"],
    "eval match weight above 1": ["eval", "-r", "14", "--match-weight", "2"],
    "eval missing device": ["eval", "-r", "14", "--device", "cuda:7"],
    "eval unknown device": ["eval", "-r", "14", "--device", "banana"],
    "eval-id more subjects than ORL has": ["eval-id", "-d", "{data}/orl", "--subjects", "80", "-r", "12"],
    "eval-id zero repeats": ["eval-id", "-d", "{data}/orl", "--repeats", "0"],
    "make-protocol zero pairs": ["make-protocol", "--pairs", "0", "--range", "5-40", "-o", "{tmp}/p.csv"],
    "train-sr zero steps": ["train-sr", "--scale", "4", "--steps", "0"],
    "train-sr nan identity weight": ["train-sr", "--scale", "4", "--identity-weight", "nan"],
    "train-sr scale 3": ["train-sr", "--scale", "3"],
    "detect typo detector": ["detect", "{face}", "--detector", "centreface"],
    "detect nan min-r": ["detect", "{face}", "--min-r", "nan"],
    "scan every 0": ["scan", "{tmp}/v.avi", "--every", "0"],
    "scan out is a file": ["scan", "{face}", "-o", "{face}"],
    "scan nan threshold": ["scan", "{tmp}/v.avi", "-t", "nan"],
    "make-test-video one frame": ["make-test-video", "--frames", "1", "-o", "{tmp}/v"],
    "eval-detect unknown detector": ["eval-detect", "--detectors", "hog,nope"],
    "eval-sr bad sizes": ["eval-sr", "--sizes", "7,x"],
    "identify all faces with mitm": ["identify", "-g", "{lfw}/Colin_Powell", "-p", "{face}", "--all-faces",
                                     "--method", "mitm"],
}

DATA_CASES = {  # exit 1: the data is bad, one line says which and why
    "verify missing file": ["verify", "{tmp}/nope.jpg", "{face}"],
    "verify empty file": ["verify", "{bad}/empty.jpg", "{face}"],
    "verify text as jpg": ["verify", "{bad}/text.jpg", "{face}"],
    "verify truncated jpeg": ["verify", "{bad}/truncated.jpg", "{face}"],
    "verify decompression bomb": ["verify", "{bad}/bomb.png", "{face}"],
    "verify postscript refused": ["verify", "{bad}/eps.eps", "{face}"],
    "verify a directory": ["verify", "{bad}/dir.jpg", "{face}"],
    "verify flat crop": ["verify", "{bad}/flat.png", "{face}", "--crop-a", "tight"],
    "verify 3 px image": ["verify", "{bad}/dot.png", "{face}"],
    "verify garbage weights": ["verify", "{face}", "{face}", "--weights", "{bad}/weights.safetensors"],
    "verify nan weights": ["verify", "{face}", "{face}", "--weights", "{bad}/nan.safetensors"],
    "verify unknown model": ["verify", "{face}", "{face}", "-m", "dlib_resnett"],
    "identify corrupt gallery db": ["identify", "--db", "{bad}/gallery.lrg", "-p", "{face}"],
    "identify missing probe": ["identify", "-g", "{lfw}/Colin_Powell", "-p", "{tmp}/none.jpg"],
    "identify mitm bad scales": ["identify", "-g", "{lfw}/Colin_Powell", "-p", "{face}", "--method", "mitm",
                                 "--scales", "3"],
    "gallery add to a missing db": ["gallery", "add", "{tmp}/missing.lrg", "{lfw}/Colin_Powell", "--name", "x"],
    "gallery info of garbage": ["gallery", "info", "{bad}/gallery.lrg"],
    "report of broken json": ["report", "{bad}/results.json", "-o", "{tmp}/r.html"],
    "export-onnx unknown model": ["export-onnx", "nope", "-o", "{tmp}/m.onnx"],
    "train unknown recipe": ["train", "nope"],
    "train typo key": ["train", "bt_m", "optim.lrr=0.01"],
    "train nan lr": ["train", "bt_m", "optim.lr=nan"],
    "train negative steps": ["train", "bt_m", "schedule.steps=-1"],
    "train unknown backbone": ["train", "bt_m", "model.name=resnet9000"],
    "make-protocol reversed range": ["make-protocol", "--range", "40-5", "-o", "{tmp}/p.csv"],
    "detect only bad files": ["detect", "{bad}/empty.jpg", "{bad}/text.jpg"],
    "scan missing video": ["scan", "{tmp}/none.avi", "-o", "{tmp}/s"],
    "scan text as video": ["scan", "{bad}/text.jpg", "-o", "{tmp}/s"],
    "scan empty folder": ["scan", "{tmp}", "-o", "{tmp}/s"],
    "scan with a garbage gallery": ["scan", "{tmp}", "--gallery", "{bad}/gallery.lrg", "-o", "{tmp}/s"],
    "eval-detect missing benchmark": ["eval-detect", "--bench", "{tmp}/nobench"],
}


def _fill(args: list[str], lfw_dir: Path, bad: dict, tmp_path: Path) -> list[str]:
    sub = {"face": _face(lfw_dir), "lfw": str(lfw_dir), "bad": str(bad), "tmp": str(tmp_path),
           "data": str(lfw_dir.parents[1])}
    return [a.format(**sub) for a in args]


def _one_clear_line(err: str) -> None:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip() and not ln.startswith(("Usage:", "Try "))]
    assert lines, "no message"
    assert any(ln.lower().startswith(("error", "warning")) for ln in lines), err


@pytest.mark.parametrize("case", list(ARG_CASES))
def test_bad_argument_exit_2(case, lfw_dir, bad, tmp_path, capsys) -> None:
    code, out, err = run(_fill(ARG_CASES[case], lfw_dir, bad, tmp_path), capsys)
    assert code == 2, (code, out, err)
    _one_clear_line(err)
    assert not (tmp_path / "e.npz").exists() and not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_data_one_line(case, lfw_dir, bad, tmp_path, capsys) -> None:
    code, out, err = run(_fill(DATA_CASES[case], lfw_dir, bad, tmp_path), capsys)
    assert code == 1, (code, out, err)
    _one_clear_line(err)


def test_embed_keeps_the_good_items(lfw_dir, bad, tmp_path, capsys) -> None:
    """A folder of two faces and five broken files: both faces are written, every bad file is named."""
    src = tmp_path / "mixed"
    src.mkdir()
    for i in (1, 2):
        (src / f"good{i}.jpg").write_bytes((lfw_dir / f"Colin_Powell/Colin_Powell_000{i}.jpg").read_bytes())
    for name in ("empty.jpg", "text.jpg", "truncated.jpg", "bomb.png", "dot.png"):
        (src / name).write_bytes((bad / name).read_bytes())
    code, out, err = run(["embed", str(src), "-o", str(tmp_path / "e.npz")], capsys)
    assert "Traceback" not in err
    with np.load(tmp_path / "e.npz") as z:
        names = sorted(Path(p).name for p in z["paths"])
        assert names == ["good1.jpg", "good2.jpg"] and np.isfinite(z["embeddings"]).all()
    for name in ("empty.jpg", "text.jpg", "truncated.jpg", "bomb.png", "dot.png"):
        assert name in err, err


def test_broken_manifest_does_not_break_unrelated_commands(tmp_path, monkeypatch, capsys) -> None:
    """A garbage weights/manifest.json costs a warning and its own models, not `lrface models`."""
    from lrface.models import factory as models

    (tmp_path / "manifest.json").write_text("{broken")
    monkeypatch.setenv("LRFACE_WEIGHTS", str(tmp_path))
    monkeypatch.setattr(models, "_published_done", False)
    code, out, err = run(["models"], capsys)
    assert code == 0 and "dlib_resnet" in out and "Traceback" not in err
    monkeypatch.setattr(models, "_published_done", False)


def test_resume_from_garbage_checkpoint(datasets, tmp_path, capsys) -> None:
    (tmp_path / "checkpoint.pt").write_bytes(b"garbage")
    code, out, err = run(["train", "bt_m", f"data.root={datasets / 'orl'}", f"output={tmp_path}", "device=cpu",
                          "schedule.steps=1", "batch_size=4", "--resume"], capsys)
    assert code == 1 and "cannot load checkpoint" in err
    _one_clear_line(err)


def test_verify_json_is_json(lfw_dir, capsys) -> None:
    code, out, err = run(["verify", _face(lfw_dir), _face(lfw_dir), "--json"], capsys)
    assert code == 0 and json.loads(out)["same"] is True


def test_concurrent_landmark_stores_keep_each_others_entries(tmp_path) -> None:
    """Two evals that loaded the cache before either saved: both sets of landmarks survive."""
    from lrface.data.facecache import LandmarkStore

    a, b = LandmarkStore("hog", tmp_path), LandmarkStore("hog", tmp_path)
    a.rows["a" * 40] = np.ones(15)
    b.rows["b" * 40] = np.full(15, 2.0)
    a.save()
    b.save()
    assert set(LandmarkStore("hog", tmp_path).rows) == {"a" * 40, "b" * 40}


def test_unwritable_cache_is_a_warning_and_stale_tmp_is_cleaned(tmp_path, caplog) -> None:
    import os
    import time

    from lrface.atomic import update_keyed_npz

    target = tmp_path / "t.npz"
    stale = tmp_path / ".t.npz.abc.tmp"
    stale.write_bytes(b"left by a killed writer")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    update_keyed_npz(target, "emb", {"k" * 40: np.ones(4, np.float32)}, 4)
    assert target.is_file() and not stale.exists()
    blocked = tmp_path / "file_not_dir"
    blocked.write_text("x")
    rows = update_keyed_npz(blocked / "t.npz", "emb", {"k" * 40: np.ones(4, np.float32)}, 4)
    assert len(rows) == 1 and "cache not written" in caplog.text


def test_rotated_photos_are_warned_about(lfw_dir, tmp_path, capsys) -> None:
    """Sideways: no upright face, the error says which turn finds one; upside down: HOG still fires
    (weakly), so the result comes with a warning to rotate the image."""
    Image.open(lfw_dir / LFW).rotate(90).save(tmp_path / "side.jpg")
    code, out, err = run(["verify", str(tmp_path / "side.jpg"), _face(lfw_dir), "--crop-a", "photo"], capsys)
    assert code == 1 and "turned 270 degrees clockwise" in err, err
    Image.open(lfw_dir / LFW).rotate(180).save(tmp_path / "upside.jpg")
    code, out, err = run(["verify", str(tmp_path / "upside.jpg"), _face(lfw_dir)], capsys)
    assert "looks upside down" in err and "Traceback" not in err, err
    code, out, err = run(["verify", _face(lfw_dir), _face(lfw_dir)], capsys)
    assert code == 0 and "upside down" not in err
    # a 112 px model detects with SCRFD, whose five points look upright even on a turned face: its score decides
    code, out, err = run(["verify", "-m", "mbf_routed", str(tmp_path / "upside.jpg"), _face(lfw_dir)], capsys)
    assert "looks upside down" in err and "Traceback" not in err, err
    code, out, err = run(["verify", "-m", "mbf_routed", _face(lfw_dir), _face(lfw_dir)], capsys)
    assert code == 0 and "upside down" not in err


@pytest.mark.parametrize("payload", [
    b"\x80\x04c__builtin__\neval\n(S'1+1'\ntR.",  # code execution attempt
    b"\x80\x04cbuiltins\nbytearray\n(\x8a\x06\x00\x00\x00\x00\x00 tR.",  # bytearray(2**45): 32 TiB
    b"\x80\x04\x8e\x00\x00\x00\x00\x00\x00\x00\x10.",  # BINBYTES8 claiming 2**60 bytes
    b"\x80\x04(lp0\n.",  # truncated
])
def test_hostile_bin_files_are_refused(tmp_path, payload) -> None:
    from lrface.data.binset import read_bin
    from lrface.errors import LrfaceError

    f = tmp_path / "x.bin"
    f.write_bytes(payload)
    with pytest.raises(LrfaceError, match="not a valid insightface .bin|expected a"):
        read_bin(f)


def test_resume_from_checkpoint_of_another_model(datasets, tmp_path, capsys) -> None:
    torch.save({"model": {"nope": torch.zeros(1)}, "head": {}, "optim": {}, "sched": {}, "step": 3},
               tmp_path / "checkpoint.pt")
    code, out, err = run(["train", "bt_m", f"data.root={datasets / 'orl'}", f"output={tmp_path}", "device=cpu",
                          "schedule.steps=1", "batch_size=4", "--resume"], capsys)
    assert code == 1 and "does not fit this recipe" in err
    _one_clear_line(err)


def _damaged_galleries(src: Path, d: Path) -> dict[str, Path]:
    """Copies of a real gallery, each damaged one way."""
    import zipfile

    from lrface.search.gallery import Gallery
    from lrface.search.persist import save_npz

    out = {"zero bytes": d / "zero.lrg"}
    out["zero bytes"].write_bytes(b"")
    legacy = d / "legacy.lrg"  # the old single-file format, damaged below
    save_npz(Gallery.load(src), legacy)
    database, src = src, legacy
    data = bytearray(src.read_bytes())
    crc = d / "crc.lrg"
    with zipfile.ZipFile(src) as zf:
        info = zf.getinfo("emb.npy")
    at = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200  # inside emb.npy's data
    data[at] ^= 0xFF
    crc.write_bytes(bytes(data))
    out["crc error"] = crc
    with np.load(src) as z:
        arrays = {k: z[k] for k in z.files}

    def variant(name: str, **changes: np.ndarray) -> None:
        with open(d / f"{name}.lrg", "wb") as fh:
            np.savez(fh, **{**arrays, **changes})
        out[name] = d / f"{name}.lrg"

    variant("negative identity", ident=np.full_like(arrays["ident"], -1))
    pages = bytearray(database.read_bytes())  # the database format, its pages overwritten
    pages[100:] = b"\xff" * (len(pages) - 100)
    (d / "pages.lrg").write_bytes(bytes(pages))
    out["database with garbage pages"] = d / "pages.lrg"
    variant("all-NaN templates", emb=np.full_like(arrays["emb"], np.nan))
    huge = d / "huge.lrg"  # a header promising 1e9 x 128 floats over a few bytes of data
    with zipfile.ZipFile(huge, "w") as zf:
        for k, v in arrays.items():
            if k == "emb":
                header = ("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 128), }").ljust(117) + "\n"
                zf.writestr("emb.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
                            + b"\x00" * 64)
            else:
                buf = __import__("io").BytesIO()
                np.save(buf, v)
                zf.writestr(f"{k}.npy", buf.getvalue())
    out["header promising 1e9 x 128 floats"] = huge
    return out


def test_damaged_gallery_files_are_one_line(lfw_dir, tmp_path, capsys) -> None:
    """Zero bytes, a CRC error, a huge promised array, a negative identity index, NaN templates:
    one line and exit 1, never a traceback, never a name credited from damaged data."""
    db = tmp_path / "ok.lrg"
    code, _, err = run(["gallery", "create", str(db), str(lfw_dir / "Colin_Powell"), "--name", "Colin"], capsys)
    assert code == 0, err
    for case, path in _damaged_galleries(db, tmp_path).items():
        code, out, err = run(["identify", "--db", str(path), "-p", _face(lfw_dir)], capsys)
        assert code == 1, (case, code, out, err)
        assert "Colin" not in out, case
        _one_clear_line(err)


def test_unwritable_output_fails_before_compute_and_leaves_nothing(lfw_dir, tmp_path, capsys) -> None:
    code, _, err = run(["embed", str(lfw_dir / "Colin_Powell"), "-o", "/proc/x.npz"], capsys)
    assert code == 1 and "cannot write /proc/x.npz" in err
    _one_clear_line(err)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        code, _, err = run(["gallery", "create", str(ro / "g.lrg"), str(lfw_dir / "Colin_Powell"), "--name", "C"],
                           capsys)
        if code == 0:  # running as root: permissions do not stop writes
            return
        assert code == 1 and "cannot write" in err
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)


@pytest.mark.parametrize("args,expect", [
    (["train", "bt_m", "optim.lr=[unclosed"], "not valid YAML"),
    (["gallery", "create", "{tmp}/g.lrg", "{lfw}/Colin_Powell", "--name", " "], "cannot be empty"),
    (["identify", "-g", "{lfw}/Colin_Powell", "-p", "{tmp}/none.jpg"], "no such file or folder"),
    (["verify", "{tmp}/fifo.jpg", "{face}"], "not a regular file"),
])
def test_messages_say_what_is_wrong(args, expect, lfw_dir, bad, tmp_path, capsys) -> None:
    import os

    os.mkfifo(tmp_path / "fifo.jpg")
    code, _, err = run(_fill(args, lfw_dir, bad, tmp_path), capsys)
    assert code == 1 and expect in err, err
    _one_clear_line(err)


def test_weights_of_the_wrong_dtype_are_refused(lfw_dir, tmp_path, capsys) -> None:
    from lrface.models import create_model

    sd = {k: v.half() if v.is_floating_point() else v for k, v in create_model("lrnet32", False).state_dict().items()}
    save_file(sd, str(tmp_path / "half.safetensors"))
    code, _, err = run(["verify", _face(lfw_dir), _face(lfw_dir), "-m", "lrnet32", "--weights",
                        str(tmp_path / "half.safetensors")], capsys)
    assert code == 1 and "types" in err, err
    _one_clear_line(err)


def test_bin_with_wrong_field_types_is_refused(tmp_path) -> None:
    import pickle

    from lrface.data.binset import read_bin
    from lrface.errors import LrfaceError

    for obj in [(None, [True]), ([b"a", b"b"], [0.5]), ([b"a", b"b"], "x"), (["a", "b"], [True])]:
        (tmp_path / "x.bin").write_bytes(pickle.dumps(obj))
        with pytest.raises(LrfaceError):
            read_bin(tmp_path / "x.bin")


def test_identify_hints_name_its_own_options(lfw_dir, tmp_path, capsys) -> None:
    """A small image with no face: identify's hint names --crop (verify's names --crop-a/--crop-b);
    a probe taken as a crop is reported as a warning, as verify does."""
    img = np.asarray(Image.open(lfw_dir / LFW).convert("RGB"))[90:160, 85:165]
    Image.fromarray(np.ascontiguousarray(img)).resize((20, 18)).save(tmp_path / "small.png")
    (tmp_path / "g" / "Colin").mkdir(parents=True)
    (tmp_path / "g" / "Colin" / "a.jpg").write_bytes((lfw_dir / "Colin_Powell/Colin_Powell_0002.jpg").read_bytes())
    code, out, err = run(["identify", "-g", str(tmp_path / "g"), "--crop", "auto", "-p", str(tmp_path / "small.png")],
                         capsys)
    text = out + err
    assert "Traceback" not in text
    assert "--crop-a" not in text, text
    assert "taken as a" in err and "--crop" in err, err


def test_aligned_non_faces_are_never_the_same_person(tmp_path, capsys) -> None:
    """Two textured non-faces declared as aligned crops used to verify as "same person" (0.99):
    a crop in which no detector finds a face gets "cannot decide", never a name."""
    rng = np.random.default_rng(0)
    for k in range(2):
        Image.fromarray((rng.random((150, 150, 3)) * 255).astype(np.uint8)).save(tmp_path / f"noise{k}.png")
    xx, yy = np.meshgrid(np.arange(150), np.arange(150))
    for k in range(2):
        tex = np.sin(xx / (3 + k) + k) * np.cos(yy / (5 + k)) * 127 + 128
        Image.fromarray(tex[..., None].repeat(3, 2).astype(np.uint8)).save(tmp_path / f"tex{k}.png")
    for a, b in (("noise0", "noise1"), ("tex0", "tex1")):
        code, out, _ = run(["verify", str(tmp_path / f"{a}.png"), str(tmp_path / f"{b}.png"), "--aligned", "--json"],
                           capsys)
        res = json.loads(out)
        assert code == 0 and res["decision"] == "cannot decide" and "no face" in res["reason"], res


def test_model_cache_entry_of_the_wrong_shape_is_recomputed(tmp_path, monkeypatch) -> None:
    """A converted-weights cache file with the right names but wrong shapes is re-made, not loaded."""
    from lrface.models import dlib_resnet as dr
    from lrface.paths import dlib_model_file

    monkeypatch.setenv("LRFACE_CACHE", str(tmp_path))
    good = dr.load_dlib_state_dict()
    cached = next((tmp_path / "models").glob("dlib_resnet_v1-*.safetensors"))
    save_file({k: torch.zeros(1) for k in good}, str(cached))  # every name, every shape wrong
    again = dr.load_dlib_state_dict(dlib_model_file(dr.DLIB_MODEL_FILE))
    assert all(again[k].shape == v.shape and torch.equal(again[k], v) for k, v in good.items())
