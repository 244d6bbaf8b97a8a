"""Command line: ``lrface verify | embed | identify | models | calibrate | eval | eval-id | report | train | ...``."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Callable

import click
import numpy as np

from .errors import LrfaceError

MODEL_OPT = click.option("--model", "-m", default="dlib_resnet", show_default=True, help="registered model name")
WEIGHTS_OPT = click.option("--weights", type=click.Path(dir_okay=False), default=None, help="safetensors weights to load")
DEVICE_OPT = click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ...")
ALIGNED_OPT = click.option("--aligned", is_flag=True, help="inputs are already face crops (no detection)")
DETECTOR_OPT = click.option("--detector", default="hog", show_default=True, type=click.Choice(["hog", "mmod"]),
                            help="dlib HOG (fast) or MMOD CNN (slower, more poses)")
DATA_OPT = click.option("--data-root", envvar="LRFACE_DATA", default=None,
                        help="dataset root (default: $LRFACE_DATA or ../shared/datasets)")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="log details")
def cli(verbose: bool) -> None:
    """lrface: face recognition across resolutions."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")


@cli.command()
def models() -> None:
    """List the registered models."""
    from .models import list_models
    from .registry import MODELS

    for name in list_models():
        click.echo(f"{name:20s} {MODELS.describe(name)}")


def _face_line(label: str, face: Any) -> str:
    if face.eye_px is not None:
        return f"{label}: face {face.face_px:.0f} px wide, {face.eye_px:.0f} px between the eyes"
    return f"{label}: aligned crop {face.face_px:.0f} px"


@cli.command()
@click.argument("image_a", type=click.Path())
@click.argument("image_b", type=click.Path())
@click.option("--threshold", "-t", type=float, default=None, help="cosine-similarity threshold (default: calibrated)")
@MODEL_OPT
@WEIGHTS_OPT
@DEVICE_OPT
@ALIGNED_OPT
@DETECTOR_OPT
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def verify(image_a: str, image_b: str, threshold: float | None, model: str, weights: str | None, device: str,
           aligned: bool, detector: str, as_json: bool) -> None:
    """Are IMAGE_A and IMAGE_B the same person?"""
    from .recognizer import Recognizer

    rec = Recognizer(model, weights=weights, device=device, detector=detector)
    res = rec.verify(image_a, image_b, threshold=threshold, aligned=aligned)
    notes = [n for f in res.faces for n in f.notes()]
    if as_json:
        click.echo(json.dumps({
            "same": res.same, "similarity": res.similarity, "threshold": res.threshold,
            "faces": [{"source": f.source, "face_px": f.face_px, "eye_px": f.eye_px, "n_faces": f.n_faces}
                      for f in res.faces], "warnings": notes}))
    else:
        verdict = "same" if res.same else "different"
        click.echo(f"{verdict} person (cosine similarity {res.similarity:.4f}, threshold {res.threshold:.4f})")
        for label, face in zip("AB", res.faces):
            click.echo(_face_line(label, face))
    for n in notes:
        click.echo(f"warning: {n}", err=True)


@cli.command()
@click.argument("directory", type=click.Path())
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help="output .npz")
@MODEL_OPT
@WEIGHTS_OPT
@DEVICE_OPT
@ALIGNED_OPT
@DETECTOR_OPT
@click.option("--batch-size", default=32, show_default=True)
def embed(directory: str, out: str, model: str, weights: str | None, device: str, aligned: bool, detector: str,
          batch_size: int) -> None:
    """Embed every image under DIRECTORY into OUT (.npz: paths, embeddings, failed, errors)."""
    from tqdm import tqdm

    from .atomic import atomic_write
    from .imageio import list_images
    from .recognizer import Recognizer, iter_prepared

    paths = list_images(directory)
    if not paths:
        raise LrfaceError(f"no images under {directory}")
    rec = Recognizer(model, weights=weights, device=device, batch_size=batch_size, detector=detector)
    good: list[str] = []
    embs: list[np.ndarray] = []
    failed: list[tuple[str, str]] = []
    batch: list[np.ndarray] = []

    def flush() -> None:
        if batch:
            embs.append(rec.embed_crops(np.stack(batch)))
            batch.clear()

    for p, face in tqdm(iter_prepared(rec, paths, aligned), total=len(paths), desc="embed", unit="img"):
        if isinstance(face, str):
            failed.append((str(p), face))
            continue
        good.append(str(p))
        batch.append(face.crop)
        if len(batch) >= batch_size:
            flush()
    flush()
    emb = np.concatenate(embs) if embs else np.zeros((0, rec.model.embedding_dim), np.float32)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, paths=np.array(good), embeddings=emb, model=np.array(model),
                     failed=np.array([f for f, _ in failed]), errors=np.array([e for _, e in failed]))

    atomic_write(out, write)
    click.echo(f"embedded {len(good)} of {len(paths)} images -> {out}")
    if failed:
        click.echo(f"skipped {len(failed)} file(s):", err=True)
        for _, err in failed:
            click.echo(f"  {err}", err=True)
    if not good:
        raise LrfaceError("no image could be embedded")


@cli.command()
@MODEL_OPT
@WEIGHTS_OPT
@DEVICE_OPT
@DATA_OPT
@click.option("--save", is_flag=True, help="store the threshold in weights/manifest.json (published models)")
def calibrate(model: str, weights: str | None, device: str, data_root: str | None, save: bool) -> None:
    """Best-accuracy threshold on LFW View 1 pairsDevTrain, checked on pairsDevTest."""
    from .data.lfw import lfw_pairs
    from .eval.metrics import accuracy, best_threshold
    from .eval.verification import pair_scores
    from .models.published import read_manifest, set_manifest_field
    from .recognizer import Recognizer

    if save and weights is not None:  # --save checks come before minutes of embedding
        raise LrfaceError("--save stores the threshold of a published model's own weights; drop --weights")
    if save and model not in read_manifest():
        raise LrfaceError(f"{model} is not in weights/manifest.json; only published models store thresholds")
    rec = Recognizer(model, weights=weights, device=device)
    train, test = lfw_pairs(data_root, "pairsDevTrain.txt"), lfw_pairs(data_root, "pairsDevTest.txt")
    thr, acc_train = best_threshold(pair_scores(rec, train), train.same)
    acc_test = accuracy(pair_scores(rec, test), test.same, thr)
    click.echo(f"{model}: threshold {thr:.4f} (pairsDevTrain accuracy {100 * acc_train:.2f}%, "
               f"pairsDevTest accuracy {100 * acc_test:.2f}%)")
    if save:
        set_manifest_field(model, "threshold", round(thr, 4))
        click.echo(f"saved threshold {thr:.4f} for {model} in weights/manifest.json")


def _resolutions(text: str) -> list:
    from .degrade import parse_resolution

    return [parse_resolution(t) for t in text.split(",") if t.strip()]


def _embedder(model: str, weights: str | None, device: str, kernel: str, antialias: bool, flip: str,
              cache: bool, batch_size: int):
    from .degrade import Reduce
    from .eval.embeddings import Embedder
    from .recognizer import Recognizer

    rec = Recognizer(model, weights=weights, device=device, batch_size=batch_size)
    return Embedder(rec, Reduce(kernel, antialias), flip=flip, cache=cache)


EVAL_OPTS = [
    MODEL_OPT, WEIGHTS_OPT, DEVICE_OPT, DATA_OPT,
    click.option("--kernel", default="bicubic", show_default=True, type=click.Choice(["bicubic", "bilinear", "area", "nearest"]),
                 help="downsampling kernel"),
    click.option("--antialias/--no-antialias", default=True, show_default=True),
    click.option("--flip", default="none", show_default=True, type=click.Choice(["none", "sum", "concat"]),
                 help="flip fusion (flip after degrading)"),
    click.option("--no-cache", is_flag=True, help="do not read or write the embedding cache"),
    click.option("--batch-size", default=32, show_default=True),
]


def _eval_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(EVAL_OPTS):
        fn = opt(fn)
    return fn


@cli.command("eval")
@click.option("--dataset", "-d", default="lfw", show_default=True, help="lfw, an insightface .bin, or a pairs file")
@click.option("--images", default=None, help="image root for a pairs-file dataset")
@click.option("--resolutions", "-r", default="5,6,7,8,10,12,14,16,20,24,28,40,56,112", show_default=True,
              help="comma-separated r (px of a 112 crop) or WxH")
@click.option("--modes", default="cr,er", show_default=True, help="cr (both orders), cr1 (2nd image only), er")
@click.option("--protocols", "-p", default=None, help="btm-stm and/or protocol CSV paths, comma-separated")
@click.option("--folds", type=int, default=None, help="use only the first N folds (quick runs)")
@click.option("--out", "-o", default="out/eval", show_default=True, help="output folder")
@click.option("--label", default=None, help="name of this model in reports (default: model or weights file)")
@_eval_options
def eval_cmd(dataset: str, images: str | None, resolutions: str, modes: str, protocols: str | None,
             folds: int | None, out: str, label: str | None, model: str, weights: str | None, device: str,
             data_root: str | None, kernel: str, antialias: bool, flip: str, no_cache: bool, batch_size: int) -> None:
    """Verification at full, cross (CR) and equal (ER) resolution, plus protocol files."""
    from .eval.sweep import format_table, load_pairset, load_protocols, restrict_folds, run_sweep, write_outputs
    from .eval.verification import MODES

    mode_list = [m.strip() for m in modes.split(",") if m.strip()]
    for m in mode_list:
        if m not in MODES:
            raise LrfaceError(f"unknown mode {m!r}; choose from {', '.join(MODES)}")
    pairs = load_pairset(dataset, images, data_root)
    protos = load_protocols(protocols, dataset)
    pairs, protos = restrict_folds(pairs, protos, folds)
    emb = _embedder(model, weights, device, kernel, antialias, flip, not no_cache, batch_size)
    sweep = run_sweep(emb, pairs, _resolutions(resolutions), mode_list, protos)
    click.echo(f"{model} on {pairs.name}: {len(pairs)} pairs, {len(pairs.images)} images, kernel {kernel}"
               f"{'+aa' if antialias else ''}, flip {flip}, {sweep.seconds:.1f} s")
    click.echo(f"faces: {sweep.detected} detected, {sweep.fallback} in the dataset's median box (detector missed)")
    click.echo(format_table(sweep.results))
    meta = {"model": model, "label": label, "weights": weights, "model_id": emb.model_id, "dataset": pairs.name,
            "kernel": kernel,
            "antialias": antialias, "flip": flip, "folds": folds, "seconds": sweep.seconds}
    path = write_outputs(out, meta, sweep.results)
    click.echo(f"wrote {path}, results.csv, scores.npz")


@cli.command("eval-id")
@click.option("--dataset", "-d", required=True, help="identity-folder dataset (root/<identity>/<image>)")
@click.option("--resolutions", "-r", default="8,12,16,20,24,112", show_default=True)
@click.option("--subjects", default=80, show_default=True, help="subjects per random sub-sample")
@click.option("--repeats", default=10, show_default=True, help="random sub-samples")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", "-o", default=None, help="write results JSON here")
@_eval_options
def eval_id(dataset: str, resolutions: str, subjects: int, repeats: int, seed: int, out: str | None, model: str,
            weights: str | None, device: str, data_root: str | None, kernel: str, antialias: bool, flip: str,
            no_cache: bool, batch_size: int) -> None:
    """Identification: first image per identity as HR gallery, the others as probes at each r."""
    from dataclasses import asdict

    from .atomic import atomic_write_text
    from .data.identities import gallery_probe_split, read_identity_folders
    from .eval.identification import RANKS, evaluate_identification

    ds = read_identity_folders(dataset)
    split = gallery_probe_split(ds)
    emb = _embedder(model, weights, device, kernel, antialias, flip, not no_cache, batch_size)
    click.echo(f"{model} on {dataset}: gallery {len(split.gallery)}, probes {len(split.probes)}, "
               f"sub-samples {repeats} x {subjects} subjects")
    click.echo(f"{'res':>6s} " + " ".join(f"{'rank' + str(k):>8s}" for k in RANKS) + f" {'rank1 sub':>14s}")
    rows = []
    for r in _resolutions(resolutions):
        res = evaluate_identification(emb, ds, split, r, subjects, repeats, seed)
        rows.append(asdict(res))
        click.echo(f"{res.resolution:>6s} " + " ".join(f"{100 * res.cmc[f'rank{k}']:8.2f}" for k in RANKS)
                   + f" {100 * res.sampled_mean['rank1']:7.2f}±{100 * res.sampled_std['rank1']:5.2f}")
    if out:
        atomic_write_text(out, json.dumps({"model": model, "dataset": dataset, "results": rows}, indent=1))


@cli.command("make-protocol")
@click.option("--pairs", "n_pairs", type=int, default=None, help="number of pairs (default: LFW's 6000)")
@click.option("--range", "rng", required=True, help="LOW-HIGH, e.g. 5-40")
@click.option("--seed", default=0, show_default=True)
@click.option("--both", is_flag=True, help="reduce both images (ER-style) instead of only the second")
@click.option("--out", "-o", required=True)
def make_protocol(n_pairs: int | None, rng: str, seed: int, both: bool, out: str) -> None:
    """Generate a mixed-resolution protocol CSV (btm-stm format) with a seed."""
    from .data.protocols import generate_protocol, write_protocol

    try:
        low, high = (int(v) for v in rng.split("-"))
    except ValueError:
        raise LrfaceError(f"bad --range {rng!r}: use LOW-HIGH like 5-40") from None
    values = generate_protocol(n_pairs or 6000, low, high, seed, both)
    write_protocol(out, values)
    click.echo(f"wrote {len(values) // 2} pairs, resolutions {low}..{high}, seed {seed} -> {out}")


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("config")
@click.argument("overrides", nargs=-1)
@click.option("--resume", is_flag=True, help="continue from OUTPUT/checkpoint.pt if present")
@DATA_OPT
def train(config: str, overrides: tuple[str, ...], resume: bool, data_root: str | None) -> None:
    """Train a recipe (configs/NAME.yaml or a path) with key=value overrides; torchrun-ready."""
    from .train import train as run_train

    if data_root:
        overrides = (*overrides, f"data_root={data_root}")
    path = run_train(config, overrides, resume=resume)
    click.echo(f"wrote {path}")


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--name", required=True, help="model name to register, e.g. dlib_resnet_lr")
@click.option("--results", required=True, type=click.Path(dir_okay=False), help="lrface eval results.json of this model")
@click.option("--command", "train_command", required=True, help="the command that trained it")
@click.option("--data", "data_desc", default="../shared/datasets/celeba-subset", show_default=True)
def publish(run_dir: str, name: str, results: str, train_command: str, data_desc: str) -> None:
    """Copy a trained model into weights/ with a manifest entry (command, data, commit, metrics, sha256)."""
    from .models.published import publish as do_publish
    from .train import load_config

    rows = json.loads(Path(results).read_text())["results"]
    metrics = {f"{r['mode']}_{r['resolution']}": round(100 * r["accuracy"], 2) for r in rows}
    cfg = load_config(str(Path(run_dir) / "config.yaml"))
    dst = do_publish(Path(run_dir), name, cfg["model"]["name"], train_command, data_desc, metrics)
    click.echo(f"wrote {dst} and its manifest entry")


@cli.command()
@click.option("--gallery", "-g", required=True, type=click.Path(), help="folder with one sub-folder per identity")
@click.option("--probe", "-p", required=True, type=click.Path(), help="probe image or folder of probe images")
@click.option("--method", default="plain", show_default=True, type=click.Choice(["plain", "mitm"]))
@click.option("--top-k", "-k", default=5, show_default=True)
@click.option("--fusion", default="s_max_add", show_default=True, help="mitm: t_add, t_concat, s_add, s_max, s_max_add")
@click.option("--scales", default="2,4,8", show_default=True, help="mitm: SR magnifications of the probe")
@click.option("--degradations", default=16, show_default=True, help="mitm: gallery degradation chains")
@MODEL_OPT
@WEIGHTS_OPT
@DEVICE_OPT
@ALIGNED_OPT
def identify(gallery: str, probe: str, method: str, top_k: int, fusion: str, scales: str, degradations: int,
             model: str, weights: str | None, device: str, aligned: bool) -> None:
    """Who is in PROBE? Top-k gallery identities with scores (the best image of each identity)."""
    from .data.facecache import aligned_crops
    from .data.identities import read_identity_folders
    from .imageio import list_images
    from .match import MitmConfig, MitmMatcher, mitm_scores
    from .recognizer import Recognizer, iter_prepared

    rec = Recognizer(model, weights=weights, device=device)
    ds = read_identity_folders(gallery)
    cs = aligned_crops(ds.images, rec.style, rec.input_size[0], progress=False)
    ok = np.flatnonzero(cs.status != 2)
    for i in np.flatnonzero(cs.status == 2):
        click.echo(f"warning: gallery image skipped: {cs.errors.get(int(i), ds.images[i])}", err=True)
    if not len(ok):
        raise LrfaceError(f"no usable gallery image under {gallery}")
    g_crops, g_keys, g_labels = cs.crops[ok], [cs.keys[i] for i in ok], ds.labels[ok]
    probe_paths = [Path(probe)] if Path(probe).is_file() else list_images(probe)
    if not probe_paths:
        raise LrfaceError(f"no probe images at {probe}")
    matcher, g_emb = None, None
    if method == "plain":
        g_emb = rec.embed_crops(g_crops)  # once per gallery, not once per probe
    else:
        cfg = MitmConfig(scales=tuple(int(v) for v in scales.split(",")), degradations=degradations, fusion=fusion)
        matcher = MitmMatcher(rec, cfg)
    for path, face in iter_prepared(rec, probe_paths, aligned):
        if isinstance(face, str):
            click.echo(f"{path}: skipped ({face})", err=True)
            continue
        if g_emb is not None:
            sim = rec.embed_crops(face.crop[None])[0] @ g_emb.T
        else:
            small = _probe_small(face, rec.input_size[0])
            sim = mitm_scores(matcher, [small], g_crops, g_keys, small.shape[0])[0]
        best = {}
        for lab, sc in zip(g_labels, sim):
            best[int(lab)] = max(best.get(int(lab), -np.inf), float(sc))
        ranked = sorted(best.items(), key=lambda kv: -kv[1])[:top_k]
        click.echo(f"{path}:")
        for rank, (lab, sc) in enumerate(ranked, 1):
            click.echo(f"  {rank}. {ds.names[lab]:30s} {sc:.4f}")


def _probe_small(face: Any, size: int) -> np.ndarray:
    """The probe at its own resolution: an aligned crop as given (squared), or a detected face's
    chip reduced to the size its inter-ocular distance supports."""
    from .align import chip_eye_distance
    from .match import resize, to_tensor

    px = int(face.face_px) if face.eye_px is None else int(round(face.eye_px * size / chip_eye_distance(size)))
    px = max(4, min(size, px))
    t = resize(to_tensor(face.crop[None]), px)[0]
    return (t.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


@cli.command("train-sr")
@click.option("--scale", type=click.Choice(["2", "4", "8"]), required=True)
@click.option("--steps", default=1500, show_default=True)
@click.option("--batch", default=16, show_default=True)
@click.option("--dataset", default="celeba-subset", show_default=True, help="identity folders under the data root")
@click.option("--out", "-o", default=None, help="weights file (default weights/face_sr_x{scale}.safetensors)")
@DATA_OPT
def train_sr_cmd(scale: str, steps: int, batch: int, dataset: str, out: str | None, data_root: str | None) -> None:
    """Train the face super-resolution network (EDSR-style, L1) on aligned CelebA-subset crops."""
    from .data.facecache import aligned_crops
    from .data.identities import read_identity_folders
    from .match.sr import sr_weights_path, train_sr
    from .paths import data_root as root_of

    root = Path(dataset) if Path(dataset).is_absolute() else root_of(data_root) / dataset
    if "lfw" in str(root).lower():
        raise LrfaceError("refusing to train on LFW (evaluation data)")
    cs = aligned_crops(read_identity_folders(root).images, "dlib", 150)
    target = Path(out) if out else sr_weights_path(int(scale))
    summary = train_sr(cs.crops[cs.status != 2], int(scale), steps=steps, batch=batch, out=target)
    click.echo(f"x{scale}: {summary['params']} parameters, {steps} steps in {summary['seconds']:.0f} s, "
               f"final L1 {summary['final_l1']:.4f} -> {target}")
    if out is None:
        from .models.published import record_weights

        record_weights(target.stem, target, {
            "kind": "sr", "scale": int(scale), "command": f"lrface train-sr --scale {scale} --steps {steps} --batch {batch}",
            "data": f"../shared/datasets/{dataset} (dlib chips)",
            "metrics": {"final_l1": round(summary["final_l1"], 4), "params": summary["params"]}})


@cli.command("eval-sr")
@click.option("--images", default=300, show_default=True, help="LFW View 2 images to test on")
@DATA_OPT
def eval_sr(images: int, data_root: str | None) -> None:
    """PSNR/SSIM of the committed SR networks vs bicubic on aligned LFW crops (144 px centre)."""
    import torch

    from .data.facecache import aligned_crops
    from .data.lfw import lfw_pairs
    from .match.sr import SCALES, evaluate_sr, load_sr

    paths = lfw_pairs(data_root).images[:images]
    cs = aligned_crops(paths, "dlib", 150, progress=False)
    hr = torch.from_numpy(cs.crops[cs.status != 2][:, 3:147, 3:147]).permute(0, 3, 1, 2).float() / 255
    click.echo(f"{len(hr)} LFW crops, 144x144, LR = bicubic antialiased downsampling")
    for k in SCALES:
        m = evaluate_sr(load_sr(k), hr)
        click.echo(f"x{k}: PSNR {m['psnr_sr']:.2f} dB (bicubic {m['psnr_bicubic']:.2f}), "
                   f"SSIM {m['ssim_sr']:.4f} (bicubic {m['ssim_bicubic']:.4f})")


@cli.command("make-id-benchmark")
@click.option("--out", "-o", default="out/lfw-id", show_default=True)
@click.option("--sizes", default="8,12,16,20,24", show_default=True, help="probe resolutions r (px of a 112 crop)")
@click.option("--identities", default=100, show_default=True)
@click.option("--probes-per-id", default=1, show_default=True)
@click.option("--seed", default=0, show_default=True)
@DATA_OPT
def make_id_benchmark(out: str, sizes: str, identities: int, probes_per_id: int, seed: int,
                      data_root: str | None) -> None:
    """Write the LFW cross-resolution identification benchmark (HR gallery, degraded LR probes)."""
    from .match.benchmark import make_lfw_benchmark

    m = make_lfw_benchmark(Path(out), [int(v) for v in sizes.split(",")], identities, probes_per_id, seed,
                           data_root=data_root)
    click.echo(f"wrote {out}: gallery {m['gallery']}, {m['probes']} probes x {len(m['sizes'])} sizes, seed {seed}")


@cli.command("make-bin")
@click.option("--pairs", "pairs_file", required=True, type=click.Path(), help="LFW-format pairs file")
@click.option("--images", required=True, type=click.Path(), help="image root the pairs refer to")
@click.option("--out", "-o", required=True, help="output .bin")
def make_bin(pairs_file: str, images: str, out: str) -> None:
    """Write an insightface-style .bin verification set from a pairs file and an image folder."""
    from .data.binset import write_bin
    from .data.pairs import read_pairs

    pairs = read_pairs(pairs_file, images)
    missing = [p for p in pairs.images if not p.is_file()]
    if missing:
        raise LrfaceError(f"{len(missing)} image(s) of the pairs file are missing, e.g. {missing[0]}")
    write_bin(out, pairs)
    click.echo(f"wrote {len(pairs)} pairs ({2 * len(pairs)} images) -> {out}")


@cli.command()
@click.argument("results", nargs=-1, required=True, type=click.Path())
@click.option("--out", "-o", default="out/report.html", show_default=True, help="report .html (or .md: markdown + PNGs)")
def report(results: tuple[str, ...], out: str) -> None:
    """Plots and tables from one or more `lrface eval` results.json (models overlaid)."""
    from .eval.report import write_report

    path = write_report([Path(r) for r in results], Path(out))
    click.echo(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit status 1."""
    try:
        cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except LrfaceError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)




if __name__ == "__main__":
    main()
