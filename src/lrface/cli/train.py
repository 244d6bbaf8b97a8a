from __future__ import annotations

import json
from pathlib import Path

import click

from ..defaults import SR_SCALES
from ..errors import LrfaceError
from .options import DATA_OPT, DEVICE_OPT, POSITIVE, WEIGHTS_OPT, AutoOrFloat, FiniteFloat, _echo_json


@click.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def models(as_json: bool) -> None:
    """List the registered models (and the routed recognizers of weights/manifest.json), each with
    where its weights come from and the use its licence permits."""
    from ..models.catalog import catalogue
    from ..models.licences import licence_of

    rows = catalogue()
    lic = {name: licence_of(name) for name in rows}
    if as_json:
        _echo_json([{"name": k, "description": v, "weights": lic[k].source, "licence": lic[k].licence,
                     "any_use": lic[k].any_use, "licence_note": lic[k].note} for k, v in rows.items()])
    else:
        for name, text in rows.items():
            click.echo(f"{name:20s} {text}")
            note = f"; {lic[name].note}" if lic[name].note else ""
            click.echo(f"{'':20s}   weights: {lic[name].source}; licence: {lic[name].short()}{note}")


class RecipeHelp(click.Command):
    """`lrface train --help` ends with the recipes and the configuration keys (read when asked)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from ..train.engine import recipe_help

        for title, rows in recipe_help():
            with formatter.section(title):
                formatter.write_dl(rows)


@click.command(cls=RecipeHelp, context_settings={"ignore_unknown_options": True})
@click.argument("config")
@click.argument("overrides", nargs=-1)
@click.option("--resume", is_flag=True, help="continue from OUTPUT/checkpoint.pt if present")
@DATA_OPT
def train(config: str, overrides: tuple[str, ...], resume: bool, data_root: str | None) -> None:
    """Train a recipe (configs/NAME.yaml or a path) with key=value overrides; torchrun-ready."""
    from ..train.engine import train as run_train

    if data_root:
        overrides = (*overrides, f"data_root={data_root}")
    path = run_train(config, overrides, resume=resume)
    click.echo(f"wrote {path}")


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--name", required=True, help="model name to register, e.g. dlib_resnet_lr")
@click.option("--results", required=True, type=click.Path(dir_okay=False), help="lrface eval results.json of this model")
@click.option("--command", "train_command", required=True, help="the command that trained it")
@click.option("--data", "data_desc", default="../shared/datasets/celeba-subset", show_default=True)
def publish(run_dir: str, name: str, results: str, train_command: str, data_desc: str) -> None:
    """Copy a trained model into weights/ with a manifest entry (command, data, commit, metrics, sha256)."""
    from ..models.published import publish as do_publish
    from ..train.engine import load_config

    rows = json.loads(Path(results).read_text())["results"]
    metrics = {f"{r['mode']}_{r['resolution']}": round(100 * r["accuracy"], 2) for r in rows}
    cfg = load_config(str(Path(run_dir) / "config.yaml"))
    dst = do_publish(Path(run_dir), name, cfg["model"]["name"], train_command, data_desc, metrics)
    click.echo(f"wrote {dst} and its manifest entry")


@click.command()
@click.argument("name")
@click.option("--lr", "lr_name", required=True, help="published LR expert (a model in weights/manifest.json)")
@click.option("--hr", "hr_name", default="dlib_resnet", show_default=True, help="HR expert")
@click.option("--cutoff", default="auto", show_default=True, type=AutoOrFloat(1.0, 112.0),
              help="r below which faces go to the LR expert; auto = chosen on LFW View 1 pairsDevTrain")
@click.option("--match-weight", default="auto", show_default=True, type=AutoOrFloat(0.0, 1.0),
              help="weight of the resolution-matched score (the other face brought down to the LR face's r), "
                   "0..1; auto = chosen on LFW View 1 pairsDevTrain")
@DEVICE_OPT
@DATA_OPT
def route(name: str, lr_name: str, hr_name: str, cutoff: float | None, match_weight: float | None, device: str,
          data_root: str | None) -> None:
    """Publish a routed recognizer NAME (HR expert + LR expert) in weights/manifest.json; then run
    `lrface calibrate -m NAME --operating-points --save` for its thresholds at stated error rates."""
    from ..eval.routing import fit_route
    from ..models.published import write_manifest_entry

    entry = fit_route(name, hr_name, lr_name, cutoff, match_weight, device, data_root)
    if "cutoff_table" in entry:
        click.echo("cross-resolution accuracy on LFW pairsDevTrain (HR image vs the other at r):")
        for row in entry["cutoff_table"]:
            click.echo(f"  r = {row['r']:>4g}: HR expert {100 * row['hr']:6.2f}  LR expert {100 * row['lr']:6.2f}")
    if "match_weight_table" in entry:
        click.echo("routed, mean cross-resolution accuracy below the cut-off on pairsDevTrain per match weight:")
        for row in entry["match_weight_table"]:
            click.echo(f"  w = {row['w']:.2f}: {100 * row['accuracy']:6.2f}")
    write_manifest_entry(name, entry)
    value = entry["cutoff"]
    click.echo(f"{name}: faces with r < {value:g} go to {lr_name}, the others to {hr_name} (weights/manifest.json)")


@click.command("export-onnx")
@click.argument("model")
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help="output .onnx file")
@WEIGHTS_OPT
@click.option("--json", "as_json", is_flag=True)
def export_onnx(model: str, out: str, weights: str | None, as_json: bool) -> None:
    """Export MODEL to ONNX (routed models: both experts + a routing JSON); checks parity and speed
    against PyTorch with onnxruntime (batch 32, side by side)."""
    from ..models.export import export_recognizer
    from ..recognize.routing import load_recognizer

    rec = load_recognizer(model, weights, "cpu")
    checks = export_recognizer(rec, out)
    if as_json:
        _echo_json([c.__dict__ for c in checks])
        return
    for c in checks:
        click.echo(f"wrote {c.path}: max |diff| vs PyTorch {c.max_abs_diff:.2e}; onnxruntime "
                   f"{c.onnx_faces_per_s:.0f} faces/s, PyTorch {c.torch_faces_per_s:.0f} faces/s "
                   f"({c.onnx_faces_per_s / c.torch_faces_per_s:.2f}x)")


@click.command("train-sr")
@click.option("--scale", type=click.Choice([str(k) for k in SR_SCALES]), required=True)
@click.option("--steps", default=3000, show_default=True, type=POSITIVE)
@click.option("--batch", default=64, show_default=True, type=POSITIVE)
@click.option("--lr", "learning_rate", default=5e-4, show_default=True, type=FiniteFloat(0.0, 1.0, min_open=True))
@click.option("--identity-weight", default=1.0, show_default=True, type=FiniteFloat(0.0, 100.0),
              help="weight of 1 - cos(HR expert(SR), HR expert(HR))")
@click.option("--pixel-weight", default=0.5, show_default=True, type=FiniteFloat(0.0, 100.0), help="weight of the L1 term")
@click.option("--distill", "distill_file", default=None, type=click.Path(exists=True, dir_okay=False),
              help="distillation set file (default: build or reuse the cached one of celeba-subset + utkface/aligned)")
@click.option("--teacher-weights", default=None, type=click.Path(exists=True, dir_okay=False),
              help="dlib_resnet weights as safetensors (default: converted from face_recognition_models)")
@click.option("--out", "-o", default=None, help="weights file (default weights/face_sr_x{scale}.safetensors, recorded "
                                                "in the manifest)")
@click.option("--seed", default=0, show_default=True)
@DEVICE_OPT
@DATA_OPT
def train_sr_cmd(scale: str, steps: int, batch: int, learning_rate: float, identity_weight: float, pixel_weight: float,
                 distill_file: str | None, teacher_weights: str | None, out: str | None, seed: int, device: str,
                 data_root: str | None) -> None:
    """Train identity-preserving face SR (EDSR-style): L1 + feature distance to the HR expert's
    embedding of the HR face, on realistic LR versions of celeba-subset + utkface chips."""
    from ..atomic import atomic_write_text
    from ..models import create_model
    from ..models.sr import SRTrainConfig, sr_weights_path, train_sr
    from ..recognize.recognizer import resolve_device
    from ..train.distill import build_distill_set, load_distill_set

    sources = ["celeba-subset", "utkface/aligned"]
    ds = load_distill_set(distill_file or build_distill_set(sources, "dlib_resnet", 64, 13, root=data_root))
    if ds.meta.get("teacher") != "dlib_resnet":
        raise LrfaceError(f"the distillation set's teacher is {ds.meta.get('teacher')}, SR needs dlib_resnet's")
    teacher = create_model("dlib_resnet", pretrained=teacher_weights is None, weights=teacher_weights)
    cfg = SRTrainConfig(int(scale), steps, batch, learning_rate, identity_weight, pixel_weight, seed=seed)
    target = Path(out) if out else sr_weights_path(int(scale))
    summary = train_sr(ds.chips, ds.teacher, teacher, cfg, out=target, device=resolve_device(device))
    held = summary["held_out"]
    click.echo(f"x{scale}: {summary['params']} parameters, {steps} steps in {summary['seconds']:.0f} s -> {target}")
    click.echo("held-out identity cosine, SR / bicubic: " +
               ", ".join(f"{s} px {v['sr']:.3f}/{v['bicubic']:.3f}" for s, v in held.items()))
    atomic_write_text(target.with_suffix(".json"), json.dumps(summary, indent=1))
    if out is None:
        from ..models.published import record_weights

        record_weights(target.stem, target, {
            "kind": "sr", "scale": int(scale),
            "command": f"lrface train-sr --scale {scale} --steps {steps} --batch {batch} --lr {learning_rate:g} "
                       f"--identity-weight {identity_weight:g} --pixel-weight {pixel_weight:g}",
            "data": "../shared/datasets/celeba-subset + utkface/aligned (distillation set: 64 px dlib chips, cached "
                    "dlib_resnet embeddings of the 150 px chips)",
            "metrics": {"params": summary["params"], "held_out_identity_cosine": held}})
