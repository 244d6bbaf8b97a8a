"""The training engine on real ORL faces: every recipe, exact resume after SIGKILL, DDP parity."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from lrface.errors import LrfaceError
from lrface.train.engine import CONFIG_DIR, load_config, train

RECIPES = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if p.stem != "base")


def quick(datasets: Path, out: Path, steps: int = 2, batch: int = 4) -> list[str]:
    """Tiny runs on ORL; distillation recipes build their (small) distillation set from ORL."""
    return [f"data.root={datasets / 'orl'}", f"data.sources=[{datasets / 'orl'}]", "data.max_images=48",
            f"batch_size={batch}", f"schedule.steps={steps}", "schedule.warmup_steps=1", f"output={out}",
            "log_every=1", "device=cpu"]


def test_all_recipes_exist() -> None:
    """The ten recipes the papers define, lrface's distill_lr (the shipped model's) and distill_k4, and
    the LR experts of the routed recognizers (native lrnet32, fine-tuned 150 px dlib copy, fine-tuned
    MobileFaceNet)."""
    assert set(RECIPES) == {"baseline_hr", "baseline_randres", "siamese_k4", "bt_r", "bt_m", "st_r", "st_m1",
                            "st_m2", "maug_logexp", "cs_mhl", "distill_lr", "distill_k4", "lr_expert",
                            "lr_expert150", "lr_expert_mbf"}


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_runs_and_learns_something(recipe, datasets, tmp_path) -> None:
    path = train(recipe, quick(datasets, tmp_path, steps=2), progress=False)
    sd = load_file(str(path))
    assert len(sd) > 20 and all(torch.isfinite(v).all() for v in sd.values())
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2]
    assert all(float(r["loss"]) == float(r["loss"]) and float(r["loss"]) > 0 for r in rows)
    from lrface.models import create_model

    cfg = load_config(recipe)
    torch.manual_seed(int(cfg["seed"]))  # the engine's initialisation of an untrained model
    base = create_model(cfg["model"]["name"], pretrained=cfg["model"].get("pretrained", True)).state_dict()
    assert any(not torch.equal(base[k], sd[k]) for k in base)  # weights moved


def _ablation_variants() -> dict[str, tuple[str, list[str]]]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("ablation", Path(__file__).parents[1] / "bench" / "ablation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.VARIANTS


VARIANTS = _ablation_variants()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_ablation_variant_trains(variant, datasets, tmp_path) -> None:
    """Each paper-claim variant of bench/ablation.py (a recipe plus overrides) is a valid config that trains."""
    recipe, overrides = VARIANTS[variant]
    cfg = load_config(recipe, overrides)
    assert cfg != load_config(recipe)  # the variant really changes the recipe
    train(recipe, overrides + quick(datasets, tmp_path, steps=1), progress=False)
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert len(rows) == 1 and float(rows[0]["loss"]) > 0


def test_config_overrides_and_errors(tmp_path) -> None:
    cfg = load_config("maug_logexp", ["optim.lr=0.05", "head.s=10", "branches=[full]"])
    assert cfg["optim"]["lr"] == 0.05 and cfg["head"]["s"] == 10 and cfg["branches"] == ["full"]
    assert cfg["terms"][0]["distance"] == "logexp" and cfg["cls_weights"] == [0.5, 0.5]
    with pytest.raises(LrfaceError, match="recipes:"):
        load_config("nope")
    with pytest.raises(LrfaceError, match="key=value"):
        load_config("bt_m", ["oops"])


def test_refuses_lfw(datasets, tmp_path) -> None:
    with pytest.raises(LrfaceError, match="LFW is evaluation data"):
        train("baseline_hr", quick(datasets, tmp_path) + [f"data.root={datasets / 'lfw' / 'lfw-deepfunneled'}"],
              progress=False)


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lrface", "train", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_sigkill_then_resume_matches_uninterrupted(datasets, tmp_path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    steps = ["schedule.steps=8", "ckpt_every=2"]
    ref_out, cut_out = tmp_path / "ref", tmp_path / "cut"
    ref = _cli(["maug_logexp", *quick(datasets, ref_out, 8), *steps], env)
    assert ref.wait(timeout=300) == 0, ref.stderr.read()
    victim = _cli(["maug_logexp", *quick(datasets, cut_out, 8), *steps], env)
    ckpt = cut_out / "checkpoint.pt"
    deadline = time.time() + 240
    while time.time() < deadline and not ckpt.is_file():
        time.sleep(0.05)
    assert ckpt.is_file(), "no checkpoint written"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    state = torch.load(ckpt, weights_only=True)
    assert 2 <= state["step"] < 8
    resumed = _cli(["maug_logexp", *quick(datasets, cut_out, 8), *steps, "--resume"], env)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    a, b = load_file(str(ref_out / "model.safetensors")), load_file(str(cut_out / "model.safetensors"))
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-5


def test_sigterm_writes_checkpoint_and_says_how_to_resume(datasets, tmp_path) -> None:
    """SIGTERM (a scheduler's pre-emption) between steps: the step in flight ends, a checkpoint of exactly
    that step is written, one line says how to resume, exit status 1; --resume then finishes the run."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = ["maug_logexp", *quick(datasets, tmp_path, 10_000), "ckpt_every=0"]
    victim = _cli(args, env)
    log = tmp_path / "log.csv"
    deadline = time.time() + 240
    while time.time() < deadline and not (log.is_file() and len(log.read_text().splitlines()) >= 3):
        time.sleep(0.05)
    victim.send_signal(signal.SIGTERM)
    assert victim.wait(timeout=120) == 1
    err = victim.stderr.read()
    assert "stopped by SIGTERM" in err and "--resume" in err and "Traceback" not in err, err
    step = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"]
    assert 2 <= step < 10_000
    resumed = _cli([*args[:-1], f"schedule.steps={step + 2}", "--resume"], env)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    rows = [int(r["step"]) for r in csv.DictReader(open(log))]
    assert rows[-2:] == [step + 1, step + 2]


def test_two_ranks_match_one_rank(datasets, tmp_path) -> None:
    """torchrun with 2 CPU ranks (gloo) vs 1 rank, same global batch: same losses and weights."""
    common = ["maug_logexp", *quick(datasets, tmp_path / "x", 4, batch=8)]
    outs = {}
    for n in (1, 2):
        out = tmp_path / f"r{n}"
        args = [a if not a.startswith("output=") else f"output={out}" for a in common]
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(n), "--master_port",
               str(29500 + n + os.getpid() % 1000), "-m", "lrface", "train", *args]
        proc = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs[n] = out
    logs = {n: [float(r["loss"]) for r in csv.DictReader(open(outs[n] / "log.csv"))] for n in outs}
    assert len(logs[1]) == len(logs[2]) == 4
    assert logs[1] == pytest.approx(logs[2], rel=1e-4, abs=1e-5)
    a, b = load_file(str(outs[1] / "model.safetensors")), load_file(str(outs[2] / "model.safetensors"))
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-4


def test_recordio_roundtrip_and_training(datasets, tmp_path) -> None:
    from lrface.data.identities import read_identity_folders
    from lrface.data.recordio import RecordIO, read_recordio_crops, unpack_payload, write_recordio

    ds = read_identity_folders(datasets / "orl")
    images = [p.read_bytes() for p in ds.images[:30]]
    # PGM is not a RecordIO format: re-encode as JPEG like insightface's packer does
    import cv2
    import numpy as np

    jpgs = [cv2.imencode(".jpg", cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR))[1].tobytes() for b in images]
    rec_dir = tmp_path / "rec"
    rec_dir.mkdir()
    write_recordio(rec_dir / "train.rec", jpgs, ds.labels[:30].tolist())
    rec = RecordIO(rec_dir / "train.rec")
    header, _ = unpack_payload(rec.read(0))
    assert header == [31.0, 34.0]  # 30 images, 3 identities
    label, img = unpack_payload(rec.read(12))
    assert label == float(ds.labels[11]) and img == jpgs[11]
    crops, labels = read_recordio_crops(rec_dir, 150)
    assert crops.shape == (30, 150, 150, 3) and labels.tolist() == ds.labels[:30].tolist()
    path = train("baseline_hr", quick(datasets, tmp_path / "out", steps=1) +
                 [f"data.root={rec_dir}", "data.kind=recordio"], progress=False)
    assert path.is_file()


def test_publish_registers_and_checks_sha(datasets, tmp_path, monkeypatch) -> None:
    from lrface.models import create_model
    from lrface.models.published import publish, read_manifest, register_published

    monkeypatch.setenv("LRFACE_WEIGHTS", str(tmp_path / "weights"))
    run = tmp_path / "run"
    train("baseline_hr", quick(datasets, run, steps=1), progress=False)
    dst = publish(run, "test_published_model", "dlib_resnet", "lrface train baseline_hr ...", "orl", {"hr": 1.0})
    entry = read_manifest()["test_published_model"]
    assert entry["recipe"] == "baseline_hr" and entry["base_model"] == "dlib_resnet" and len(entry["sha256"]) == 64
    register_published()
    model = create_model("test_published_model")
    trained = load_file(str(run / "model.safetensors"))
    assert all(torch.equal(model.state_dict()[k], trained[k]) for k in trained)
    dst.write_bytes(dst.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(LrfaceError, match="sha256"):
        create_model("test_published_model")
    # over the size limit: stored as float16 at half the size, read back as float32 near the trained weights
    half = publish(run, "test_half_model", "dlib_resnet", "lrface train baseline_hr ...", "orl", {"hr": 1.0},
                   max_mb=(run / "model.safetensors").stat().st_size / 2**20 * 0.6)
    assert read_manifest()["test_half_model"]["stored_dtype"] == "float16"
    assert half.stat().st_size < 0.55 * (run / "model.safetensors").stat().st_size
    register_published()
    sd = create_model("test_half_model").state_dict()
    assert all(sd[k].dtype == trained[k].dtype and torch.allclose(sd[k], trained[k], rtol=1e-3, atol=1e-4) for k in trained)
    with pytest.raises(LrfaceError, match="even in float16"):
        publish(run, "test_too_big", "dlib_resnet", "c", "orl", {}, max_mb=1.0)
