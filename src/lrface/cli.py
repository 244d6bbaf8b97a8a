"""Command line: ``lrface verify | embed | identify | models | calibrate | eval | eval-id | report | train | ...``."""
from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path
from typing import Any, Callable

import click
import numpy as np

from .defaults import DEFAULT_MODEL, FRAMING_CHOICES
from .errors import LrfaceError



class FiniteFloat(click.FloatRange):
    """A float option that refuses NaN and infinities (FloatRange alone lets NaN through)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        v = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(v, param, ctx)


class Device(click.ParamType):
    """auto, cpu, cuda, cuda:N, mps: refused at the edge when unknown or not present on this machine."""

    name = "device"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from .recognizer import resolve_device

        try:
            resolve_device(value)
        except LrfaceError as e:
            self.fail(str(e), param, ctx)
        return value


class AutoOrFloat(FiniteFloat):
    """``auto`` (None: chosen from data) or a finite number in the range."""

    name = "auto|number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return None if value in (None, "auto") else super().convert(value, param, ctx)


POSITIVE = click.IntRange(min=1)
SCORE = FiniteFloat(-1.0, 1.0)  # cosine-similarity thresholds
MODEL_OPT = click.option("--model", "-m", default=DEFAULT_MODEL, show_default=True, help="registered model name")
WEIGHTS_OPT = click.option("--weights", type=click.Path(dir_okay=False), default=None, help="safetensors weights to load")
DEVICE_OPT = click.option("--device", default="auto", show_default=True, type=Device(), help="auto, cpu, cuda, cuda:1 ...")
ALIGNED_OPT = click.option("--aligned", is_flag=True, help="inputs are already face crops (no detection)")
DETECTOR_CHOICES = ["auto", "hog", "mmod", "centerface", "scrfd", "yunet8", "yunet"]
DETECTOR_OPT = click.option("--detector", default="auto", show_default=True, type=click.Choice(DETECTOR_CHOICES),
                            help="auto: the detector that suits the model's crop (dlib-chip models: dlib HOG, CenterFace "
                                 "when HOG finds no face; ArcFace-crop models: scrfd); hog; mmod (dlib CNN); "
                                 "centerface, scrfd, yunet8 (faces from about 10 px, 5 points, large photos tiled); yunet")
DATA_OPT = click.option("--data-root", envvar="LRFACE_DATA", default=None,
                        help="dataset root (default: $LRFACE_DATA or ../shared/datasets)")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="log details")
def cli(verbose: bool) -> None:
    """lrface: face recognition across resolutions."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def models(as_json: bool) -> None:
    """List the registered models (and the routed recognizers of weights/manifest.json), each with
    where its weights come from and the use its licence permits."""
    from .models import list_models
    from .models.published import read_manifest
    from .models.shipped import licence_of
    from .registry import MODELS

    rows = {name: MODELS.describe(name) for name in list_models()}
    for name, entry in read_manifest().items():
        if entry.get("kind") == "routed":
            rows[name] = (f"routed: faces with r < {entry['cutoff']:g} -> {entry['lr']}, others -> {entry['hr']}"
                          f"{'; operating points' if entry.get('far_tables') else ''}"
                          f"{' (default)' if name == DEFAULT_MODEL else ''}")
    lic = {name: licence_of(name) for name in rows}
    if as_json:
        _echo_json([{"name": k, "description": v, "weights": lic[k].source, "licence": lic[k].licence,
                     "any_use": lic[k].any_use, "licence_note": lic[k].note} for k, v in rows.items()])
    else:
        for name, text in rows.items():
            click.echo(f"{name:20s} {text}")
            note = f"; {lic[name].note}" if lic[name].note else ""
            click.echo(f"{'':20s}   weights: {lic[name].source}; licence: {lic[name].short()}{note}")


def _face_line(label: str, face: Any, expert: str) -> str:
    if face.framing == "photo":
        b = face.box
        where = f" at {b[0]:.0f},{b[1]:.0f}-{b[2]:.0f},{b[3]:.0f}" if b is not None else ""
        many = f" (largest of {face.n_faces})" if face.n_faces > 1 else ""
        what = f"face{where}{many}: {face.face_px:.0f} px wide, {face.eye_px:.0f} px between the eyes"
    else:
        what = f"{face.framing} crop {face.face_px:.0f} px"
    return f"{label}: {what}, {_quality_text(face)}, {expert.upper()} expert"


def _quality_text(face: Any) -> str:
    """r (effective, and geometric when the detail is less) and the quality score."""
    q = face.quality
    if q is None:
        return f"resolution r = {face.r:.0f}"
    geom = f" (geometry {q.r_geom:.0f})" if q.r_geom > face.r + 0.5 else ""
    return f"resolution r = {face.r:.0f}{geom}, quality {q.score:.2f}"


def _face_json(face: Any, expert: str) -> dict[str, Any]:
    return {"source": face.source, "framing": face.framing, "face_px": face.face_px, "eye_px": face.eye_px,
            "r": round(face.r, 2), "expert": expert, "n_faces": face.n_faces,
            "box": None if face.box is None else [round(v, 1) for v in face.box],
            "quality": None if face.quality is None else face.quality.to_dict()}


FAR_OPT = click.option("--far", type=FiniteFloat(1e-6, 0.5), default=None,
                       help="false-accept rate of the decision (default 1e-3: lrface.decision.DEFAULT_FAR)")
FPIR_OPT = click.option("--fpir", type=FiniteFloat(1e-6, 0.5), default=None,
                        help="false-positive identification rate of the open-set decision for this gallery's size "
                             "(default 0.01: lrface.decision.DEFAULT_FPIR)")


CROP_HELP = ("auto (detect; a small image with no detectable face is taken as a tight crop), photo (detect), "
             "or a crop framing: dlib, arcface, tight (face-detector box), loose (about 2.2x the face box)")


@cli.command()
@click.argument("image_a", type=click.Path())
@click.argument("image_b", type=click.Path())
@click.option("--threshold", "-t", type=SCORE, default=None,
              help="cosine-similarity threshold (default: the one at --far for the two faces' resolutions)")
@FAR_OPT
@click.option("--crop-a", default="auto", show_default=True, type=click.Choice(FRAMING_CHOICES), help=CROP_HELP)
@click.option("--crop-b", default="auto", show_default=True, type=click.Choice(FRAMING_CHOICES), help="as --crop-a")
@MODEL_OPT
@WEIGHTS_OPT
@DEVICE_OPT
@ALIGNED_OPT
@DETECTOR_OPT
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def verify(image_a: str, image_b: str, threshold: float | None, far: float | None, crop_a: str, crop_b: str,
           model: str, weights: str | None, device: str, aligned: bool, detector: str, as_json: bool) -> None:
    """Are IMAGE_A and IMAGE_B the same person? Each face's effective resolution is measured, each
    goes to the expert for it, and the threshold is the one at the stated false-accept rate for the
    two resolutions. A face too poor to decide on gets "cannot decide (quality)"."""
    from .routed import load_recognizer

    if threshold is not None and far is not None:
        raise click.UsageError("give --threshold or --far, not both")
    rec = load_recognizer(model, weights, device, detector=detector)
    res = rec.verify(image_a, image_b, threshold=threshold, aligned=aligned, framing_a=crop_a, framing_b=crop_b,
                     far=far)
    notes = [n for f in res.faces for n in f.notes()]
    if as_json:
        click.echo(json.dumps({
            "same": {"same person": True, "different person": False}.get(res.decision), "decision": res.decision,
            "reason": res.reason, "similarity": res.similarity, "threshold": res.threshold, "far": res.far,
            "different_below": res.different_below, "model": rec.model_name,
            "faces": [_face_json(f, e) for f, e in zip(res.faces, res.experts)], "warnings": notes}))
    else:
        how = "" if threshold is not None else (f" at FAR {res.far:g}" if res.far is not None else " calibrated") + \
            f" for r = {res.faces[0].r:.0f} vs {res.faces[1].r:.0f}"
        click.echo(f"{res.explanation} (cosine similarity {res.similarity:.4f}, threshold {res.threshold:.4f}{how})")
        for label, face, expert in zip("AB", res.faces, res.experts):
            click.echo(_face_line(label, face, expert))
    for n in notes:
        click.echo(f"warning: {n}", err=True)


@cli.command()
@click.argument("directory", type=click.Path())
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help="output .npz")
@click.option("--crop", "framing", default="auto", show_default=True, type=click.Choice(FRAMING_CHOICES), help=CROP_HELP)
@MODEL_OPT
@WEIGHTS_OPT
@DEVICE_OPT
@ALIGNED_OPT
@DETECTOR_OPT
@click.option("--json", "as_json", is_flag=True, help="print a JSON summary (bad files still go to stderr)")
@click.option("--batch-size", default=32, show_default=True, type=POSITIVE)
def embed(directory: str, out: str, framing: str, model: str, weights: str | None, device: str, aligned: bool,
          detector: str, batch_size: int, as_json: bool) -> None:
    """Embed every image under DIRECTORY into OUT (.npz: paths, embeddings, resolutions, experts,
    failed, errors)."""
    from .atomic import atomic_write
    from .imageio import list_images
    from .batches import embed_paths
    from .routed import load_recognizer

    paths = list_images(directory)
    if not paths:
        raise LrfaceError(f"no images under {directory}")
    rec = load_recognizer(model, weights, device, batch_size, detector)
    res = embed_paths(rec, paths, aligned, framing, batch_size)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, paths=np.array(res.paths), embeddings=res.embeddings, resolutions=res.resolutions,
                     experts=np.array(res.experts), model=np.array(rec.model_name),
                     failed=np.array([f for f, _ in res.failed]), errors=np.array([e for _, e in res.failed]))

    atomic_write(out, write)
    if as_json:
        _echo_json({"written": out, "embedded": len(res.paths), "images": len(paths),
                    "faces": [{"path": p, "r": round(float(r), 2), "expert": e}
                              for p, r, e in zip(res.paths, res.resolutions, res.experts)],
                    "failed": [{"path": f, "error": e} for f, e in res.failed]})
    else:
        click.echo(f"embedded {len(res.paths)} of {len(paths)} images -> {out}")
    if res.failed:
        click.echo(f"skipped {len(res.failed)} file(s):", err=True)
        for _, err in res.failed:
            click.echo(f"  {err}", err=True)
    if not res.paths:
        raise LrfaceError("no image could be embedded")


@cli.command()
@MODEL_OPT
@WEIGHTS_OPT
@DEVICE_OPT
@DATA_OPT
@click.option("--resolutions", "-r", "grid", default=None,
              help="also fit resolution-aware thresholds on this grid of r (comma-separated; 'default' = "
                   "5..112, 15 values)")
@click.option("--save", is_flag=True, help="store the threshold (and table) in weights/manifest.json (published models)")
@click.option("--operating-points", is_flag=True,
              help="fit thresholds at stated error rates instead: thr(r_a, r_b) at FAR 1e-1..1e-4 and the open-set "
                   "thr(r, N, FPIR), on LFW View 1 peopleDevTrain (minutes; cached)")
@click.option("--max-images", default=10_000, show_default=True, type=POSITIVE,
              help="--operating-points: probe images (the FAR tables use the first 3,000)")
def calibrate(model: str, weights: str | None, device: str, data_root: str | None, grid: str | None,
              save: bool, operating_points: bool, max_images: int) -> None:
    """Best-accuracy threshold on LFW View 1 pairsDevTrain, checked on pairsDevTest; with
    --resolutions, a threshold for every pair of face resolutions (thr(r_a, r_b)); with
    --operating-points, thresholds at stated false-accept and false-positive-identification rates."""
    from .calibration import GRID, fit_calibration
    from .data.lfw import lfw_pairs
    from .degrade import Reduce
    from .eval.embeddings import Embedder
    from .eval.metrics import accuracy, best_threshold
    from .eval.verification import VerificationEval
    from .models.published import read_manifest, set_manifest_field
    from .routed import load_recognizer

    if save and weights is not None:  # --save checks come before minutes of embedding
        raise LrfaceError("--save stores the threshold of a published model's own weights; drop --weights")
    if save and model not in read_manifest():
        from .models.shipped import LICENCES, SHIPPED

        if model not in SHIPPED:
            raise LrfaceError(f"{model} is not in weights/manifest.json; only published models store thresholds")
        from .models.published import write_manifest_entry

        write_manifest_entry(model, {"kind": "shipped", "source": LICENCES[model].source})
    grid_r = None if grid is None else (list(GRID) if grid == "default" else [float(v) for v in _resolutions(grid)])
    rec = load_recognizer(model, weights, device)
    if operating_points:
        _fit_operating_points(rec, model, data_root, max_images, save)
        return
    ev_train = VerificationEval(Embedder(rec, Reduce()), lfw_pairs(data_root, "pairsDevTrain.txt"))
    ev_test = VerificationEval(Embedder(rec, Reduce()), lfw_pairs(data_root, "pairsDevTest.txt"))
    train, test = ev_train.pairs, ev_test.pairs
    thr, acc_train = best_threshold(ev_train.run("hr").scores[0], train.same)
    acc_test = accuracy(ev_test.run("hr").scores[0], test.same, thr)
    click.echo(f"{model}: threshold {thr:.4f} (pairsDevTrain accuracy {100 * acc_train:.2f}%, "
               f"pairsDevTest accuracy {100 * acc_test:.2f}%)")
    cal = None
    if grid_r:
        as_res = lambda r: int(r) if float(r).is_integer() else r  # noqa: E731
        cal = fit_calibration(lambda a, b: ev_train.scores(as_res(a), as_res(b)), train.same, grid_r,
                              source="LFW pairsDevTrain")
        click.echo("resolution-aware thresholds thr(r_a, r_b) (rows r_a, columns r_b):")
        click.echo("r      " + " ".join(f"{g:>6g}" for g in cal.grid))
        for g, row in zip(cal.grid, cal.table):
            click.echo(f"{g:<6g} " + " ".join(f"{v:6.3f}" for v in row))
        rec.calibration = cal
        click.echo("pairsDevTest accuracy at these thresholds, HR vs r (CR) and r vs r (ER):")
        for r in grid_r:
            res_cr, res_er = ev_test.run("cr", int(r)), ev_test.run("er", int(r))
            click.echo(f"  r = {r:>5g}: CR {100 * res_cr.calibrated_accuracy:6.2f}  ER {100 * res_er.calibrated_accuracy:6.2f}")
    if save:
        set_manifest_field(model, "threshold", round(thr, 4))
        click.echo(f"saved threshold {thr:.4f} for {model} in weights/manifest.json")
        if cal is not None:
            set_manifest_field(model, "calibration", cal.to_dict())
            click.echo(f"saved the resolution-aware thresholds for {model}")


def _fit_operating_points(rec: Any, model: str, data_root: str | None, max_images: int, save: bool) -> None:
    from .eval.openset import calibration_bank, fit_operating_points
    from .models.published import set_manifest_field

    probes, gallery = calibration_bank(rec, data_root, max_images)
    far, frr, osc, rows = fit_operating_points(rec, probes, gallery)
    click.echo(f"{model}: operating points on {far.tables[1e-3].source}")
    click.echo("HR vs r: threshold and TAR (genuine pairs of the calibration set) at each FAR")
    fars = sorted(far.tables, reverse=True)
    click.echo("r      " + "".join(f"  thr@{f:<7g} TAR" for f in fars))
    for row in rows:
        r = row["r"]
        click.echo(f"{r:<6g} " + "".join(f"  {far.threshold(112, r, f):.4f} {100 * row[f'TAR@FAR{f:g}']:5.1f}%"
                                         for f in fars))
    click.echo("HR vs r: \"different person\" below these (genuine pairs rejected at FNMR 5% / 1%)")
    click.echo("  " + ", ".join(f"r {r:g}: {frr.threshold(112, r, 0.05):.4f} / {frr.threshold(112, r, 0.01):.4f}"
                                for r in far.tables[1e-3].grid))
    click.echo("open-set threshold at FPIR 1% for a probe at r against N identities (gallery: HR photos)")
    ns = (10, 100, 1000, 10000)
    click.echo("r      " + "".join(f"  N={n:<6d}" for n in ns))
    for r in osc.grid:
        click.echo(f"{r:<6g} " + "".join(f"  {osc.threshold(r, n, 1e-2):.4f}  " for n in ns))
    if save:
        set_manifest_field(model, "far_tables", far.to_dict())
        set_manifest_field(model, "frr_tables", frr.to_dict())
        set_manifest_field(model, "open_set", osc.to_dict())
        click.echo(f"saved the operating points of {model} in weights/manifest.json")


def _resolutions(text: str) -> list:
    from .degrade import parse_resolution

    try:
        out = [parse_resolution(t) for t in text.split(",") if t.strip()]
    except LrfaceError as e:
        raise click.BadParameter(str(e), param_hint="--resolutions") from None
    if not out:
        raise click.BadParameter(f"no resolutions in {text!r}", param_hint="--resolutions")
    return out


def _embedder(model: str, weights: str | None, device: str, kernel: str, antialias: bool, flip: str,
              cache: bool, batch_size: int, lr_model: str | None = None, lr_weights: str | None = None,
              cutoff: float | None = None, match_weight: float | None = None):
    from .degrade import Reduce
    from .eval.embeddings import Embedder
    from .routed import load_recognizer

    rec = load_recognizer(model, weights, device, batch_size, lr_model=lr_model, lr_weights=lr_weights,
                          cutoff=cutoff, match_weight=match_weight)
    return Embedder(rec, Reduce(kernel, antialias), flip=flip, cache=cache)


ROUTE_OPTS = [
    click.option("--lr-model", default=None, help="LR expert architecture (routes faces below --cutoff to it)"),
    click.option("--lr-weights", type=click.Path(dir_okay=False), default=None, help="LR expert weights (safetensors)"),
    click.option("--cutoff", type=FiniteFloat(min=1, max=112), default=None, help="routing: faces with r below this go to the LR expert"),
    click.option("--match-weight", type=click.FloatRange(0, 1), default=None,
                 help="routing: weight of the LR expert's same-resolution score in pairs with an LR face"),
]
EVAL_OPTS = [
    MODEL_OPT, WEIGHTS_OPT, DEVICE_OPT, DATA_OPT, *ROUTE_OPTS,
    click.option("--kernel", default="bicubic", show_default=True, type=click.Choice(["bicubic", "bilinear", "area", "nearest"]),
                 help="downsampling kernel"),
    click.option("--antialias/--no-antialias", default=True, show_default=True),
    click.option("--flip", default="none", show_default=True, type=click.Choice(["none", "sum", "concat"]),
                 help="flip fusion (flip after degrading)"),
    click.option("--no-cache", is_flag=True, help="do not read or write the embedding cache"),
    click.option("--batch-size", default=32, show_default=True, type=POSITIVE),
    click.option("--json", "as_json", is_flag=True, help="print the results as one JSON object instead of a table"),
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
@click.option("--folds", type=click.IntRange(1, 10), default=None, help="use only the first N folds (quick runs)")
@click.option("--out", "-o", default="out/eval", show_default=True, type=click.Path(file_okay=False),
              help="output folder")
@click.option("--label", default=None, help="name of this model in reports (default: model or weights file)")
@_eval_options
def eval_cmd(dataset: str, images: str | None, resolutions: str, modes: str, protocols: str | None,
             folds: int | None, out: str, label: str | None, model: str, weights: str | None, device: str,
             data_root: str | None, lr_model: str | None, lr_weights: str | None, cutoff: float | None,
             match_weight: float | None, kernel: str, antialias: bool, flip: str, no_cache: bool,
             batch_size: int, as_json: bool) -> None:
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
    emb = _embedder(model, weights, device, kernel, antialias, flip, not no_cache, batch_size, lr_model,
                    lr_weights, cutoff, match_weight)
    sweep = run_sweep(emb, pairs, _resolutions(resolutions), mode_list, protos)
    if not as_json:
        click.echo(f"{model} on {pairs.name}: {len(pairs)} pairs, {len(pairs.images)} images, kernel {kernel}"
                   f"{'+aa' if antialias else ''}, flip {flip}, {sweep.seconds:.1f} s")
        click.echo(f"faces: {sweep.detected} detected, {sweep.fallback} in the dataset's median box (detector missed)")
        click.echo(format_table(sweep.results))
    meta = {"model": model, "label": label, "weights": weights, "lr_model": lr_model, "lr_weights": lr_weights,
            "cutoff": getattr(emb.rec, "cutoff", None), "match_weight": getattr(emb.rec, "match_weight", None),
            "model_id": emb.model_id, "dataset": pairs.name,
            "kernel": kernel,
            "antialias": antialias, "flip": flip, "folds": folds, "seconds": sweep.seconds, **_provenance(weights)}
    path = write_outputs(out, meta, sweep.results)
    if as_json:
        _echo_json({"meta": meta, "results": [r.row() for r in sweep.results], "written": str(path)})
    else:
        click.echo(f"wrote {path}, results.csv, scores.npz")


def _provenance(weights: str | None) -> dict[str, Any]:
    """Who made a result: the command line, lrface version, UTC time, sha256 of the weights file."""
    import datetime
    import shlex

    from . import __version__
    from .models.published import sha256

    return {"command": "lrface " + " ".join(shlex.quote(a) for a in sys.argv[1:]), "version": __version__,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "weights_sha256": sha256(Path(weights)) if weights else None}


@cli.command("eval-openset")
@MODEL_OPT
@DEVICE_OPT
@DATA_OPT
@click.option("--conditions", default=None,
              help="comma-separated probe conditions (default: all): r6..r112, cam8/16/24, blur32@8, blur112@10")
@FPIR_OPT
@click.option("--out", "-o", default="out/openset", show_default=True, type=click.Path(file_okay=False),
              help="writes results.json and report.html (DET curves) here")
@click.option("--json", "as_json", is_flag=True, help="print the results as JSON")
def eval_openset(model: str, device: str, data_root: str | None, conditions: str | None, fpir: float | None,
                 out: str, as_json: bool) -> None:
    """Open-set 1:N benchmark (NIST FRVT style) on LFW View 1 peopleDevTest: one HR photo per enrolled
    identity, mated probes and strangers at each probe condition, through the whole pipeline
    (effective resolution, routing, default decision). Prints FNIR at FPIR 1 % / 0.1 % and the
    default decision's measured FPIR."""
    from .decision import DEFAULT_FPIR
    from .eval.openset import CONDITIONS, run_openset
    from .eval.report import write_openset_report
    from .routed import load_recognizer

    conds = CONDITIONS if conditions is None else tuple(c.strip() for c in conditions.split(",") if c.strip())
    bad = [c for c in conds if c not in CONDITIONS]
    if bad or not conds:
        raise click.BadParameter(f"unknown condition(s) {', '.join(bad) or conditions!r}; choose from "
                                 f"{', '.join(CONDITIONS)}", param_hint="--conditions")
    out_dir = _output_dir(out)
    rec = load_recognizer(model, None, device)
    res = run_openset(rec, data_root, conds, fpir)
    res.update({"model": rec.model_name, "fpir": DEFAULT_FPIR if fpir is None else fpir,
                "command": "lrface " + " ".join(sys.argv[1:])})
    from .atomic import atomic_write_text

    atomic_write_text(out_dir / "results.json", json.dumps(res, indent=1))
    write_openset_report(res, out_dir / "report.html")
    if as_json:
        _echo_json({k: v for k, v in res.items()})
        return
    click.echo(f"{rec.model_name}: gallery {res['gallery']} identities, {res['mated']} mated + "
               f"{res['non_mated']} non-mated probes per condition; default decision at FPIR {res['fpir']:g}")
    click.echo(f"{'probes':<11} {'r_eff':>6} {'rank-1':>7} {'FNIR@1%':>8} {'FNIR@0.1%':>9} {'FPIR':>6} "
               f"{'FNIR':>6} {'wrong':>6} {'undecided':>9}   (default decision: last four, %)")
    for name, c in res["conditions"].items():
        click.echo(f"{name:<11} {c['r_eff_median']:6.1f} {100 * c['rank1']:7.1f} {100 * c['FNIR@FPIR1%']:8.1f} "
                   f"{100 * c['FNIR@FPIR0.1%']:9.1f} {100 * c['default_FPIR']:6.2f} {100 * c['default_FNIR']:6.1f} "
                   f"{100 * c['default_wrong_name']:6.2f} {100 * c['cannot_decide']:9.1f}")
    click.echo(f"wrote {out_dir / 'results.json'} and {out_dir / 'report.html'}")


@cli.command("eval-quality")
@MODEL_OPT
@DEVICE_OPT
@DATA_OPT
@click.option("--pairs", "n_pairs", default=None, type=POSITIVE, help="a seeded subset of the 6,000 LFW pairs")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", "-o", default="out/quality", show_default=True, type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print the results as JSON")
def eval_quality(model: str, device: str, data_root: str | None, n_pairs: int | None, seed: int, out: str,
                 as_json: bool) -> None:
    """Error-versus-reject curves on LFW at mixed resolutions (clean, camera-like and blurred second
    images): FNMR at FMR 1e-3 after rejecting the lowest-quality pairs, for each quality measure."""
    from .atomic import atomic_write_text
    from .eval.erc import run_erc
    from .routed import load_recognizer

    out_dir = _output_dir(out)
    rec = load_recognizer(model, None, device)
    res = run_erc(rec, data_root, n_pairs, seed, progress=not as_json)
    res.update({"model": rec.model_name, "command": "lrface " + " ".join(sys.argv[1:])})
    atomic_write_text(out_dir / "erc.json", json.dumps(res, indent=1))
    if as_json:
        _echo_json(res)
        return
    click.echo(f"{rec.model_name}: {res['pairs']} mixed-resolution LFW pairs; FNMR (%) at the FMR 1e-3 threshold "
               "after rejecting the lowest-quality fraction of pairs")
    curves = res["curves"]
    click.echo(f"{'measure':<12}" + "".join(f"{row['reject']:>7.0%}" for row in next(iter(curves.values()))["rows"])
               + "   drop at 20 %")
    for m, c in curves.items():
        click.echo(f"{m:<12}" + "".join(f"{100 * row['fnmr']:7.2f}" for row in c["rows"])
                   + f"   {100 * c['reduction_at_20']:.0f} %")
    click.echo("accuracy by quality decile: " + ", ".join(f"{d['q_lo']:.2f}-{d['q_hi']:.2f}: {100 * d['accuracy']:.0f}%"
                                                          for d in res["quality_by_decile"]))
    click.echo(f"wrote {out_dir / 'erc.json'}")


@cli.command("eval-id")
@click.option("--dataset", "-d", required=True, help="identity-folder dataset (root/<identity>/<image>)")
@click.option("--resolutions", "-r", default="8,12,16,20,24,112", show_default=True)
@click.option("--subjects", default=80, show_default=True, type=POSITIVE, help="subjects per random sub-sample")
@click.option("--repeats", default=10, show_default=True, type=POSITIVE, help="random sub-samples")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", "-o", default=None, help="write results JSON here")
@_eval_options
def eval_id(dataset: str, resolutions: str, subjects: int, repeats: int, seed: int, out: str | None, model: str,
            weights: str | None, device: str, data_root: str | None, lr_model: str | None, lr_weights: str | None,
            cutoff: float | None, match_weight: float | None, kernel: str, antialias: bool, flip: str,
            no_cache: bool, batch_size: int, as_json: bool) -> None:
    """Identification: first image per identity as HR gallery, the others as probes at each r."""
    from dataclasses import asdict

    from .atomic import atomic_write_text
    from .data.identities import gallery_probe_split, read_identity_folders
    from .eval.identification import RANKS, evaluate_identification

    ds = read_identity_folders(dataset)
    split = gallery_probe_split(ds)
    if subjects > len(split.gallery):
        raise click.BadParameter(f"{subjects} subjects asked, but {dataset} has {len(split.gallery)} identities "
                                 "with a probe image", param_hint="--subjects")
    emb = _embedder(model, weights, device, kernel, antialias, flip, not no_cache, batch_size, lr_model,
                    lr_weights, cutoff, match_weight)
    say = (lambda text: None) if as_json else click.echo
    say(f"{model} on {dataset}: gallery {len(split.gallery)}, probes {len(split.probes)}, "
        f"sub-samples {repeats} x {subjects} subjects")
    say(f"{'res':>6s} " + " ".join(f"{'rank' + str(k):>8s}" for k in RANKS) + f" {'rank1 sub':>14s}")
    rows = []
    for r in _resolutions(resolutions):
        res = evaluate_identification(emb, ds, split, r, subjects, repeats, seed)
        rows.append(asdict(res))
        say(f"{res.resolution:>6s} " + " ".join(f"{100 * res.cmc[f'rank{k}']:8.2f}" for k in RANKS)
            + f" {100 * res.sampled_mean['rank1']:7.2f}±{100 * res.sampled_std['rank1']:5.2f}")
    result = {"model": model, "dataset": dataset, "results": rows, **_provenance(weights)}
    if out:
        atomic_write_text(out, json.dumps(result, indent=1))
    if as_json:
        _echo_json(result)


@cli.command("make-protocol")
@click.option("--pairs", "n_pairs", type=POSITIVE, default=None, help="number of pairs (default: LFW's 6000)")
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


class RecipeHelp(click.Command):
    """`lrface train --help` ends with the recipes and the configuration keys (read when asked)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from .train import recipe_help

        for title, rows in recipe_help():
            with formatter.section(title):
                formatter.write_dl(rows)


@cli.command(cls=RecipeHelp, context_settings={"ignore_unknown_options": True})
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
    `lrface calibrate --model NAME -r default --save` for its resolution-aware thresholds."""
    from .data.lfw import lfw_pairs
    from .models.published import read_manifest, write_manifest_entry
    from .recognizer import Recognizer
    from .routed import RoutedRecognizer, choose_cutoff, choose_match_weight

    value, weight = cutoff, match_weight
    if lr_name not in read_manifest():
        raise LrfaceError(f"{lr_name} is not a published model (weights/manifest.json)")
    hr, lr = Recognizer(hr_name, device=device), Recognizer(lr_name, device=device)
    entry: dict[str, Any] = {"kind": "routed", "hr": hr_name, "lr": lr_name,
                             "command": f"lrface route {name} --lr {lr_name} --hr {hr_name} "
                                        f"--cutoff {'auto' if cutoff is None else f'{cutoff:g}'} "
                                        f"--match-weight {'auto' if match_weight is None else f'{match_weight:g}'}"}
    dev_train = lfw_pairs(data_root, "pairsDevTrain.txt") if value is None or weight is None else None
    if value is None:
        value, rows = choose_cutoff(hr, lr, dev_train)
        click.echo("cross-resolution accuracy on LFW pairsDevTrain (HR image vs the other at r):")
        for row in rows:
            click.echo(f"  r = {row['r']:>4g}: HR expert {100 * row['hr']:6.2f}  LR expert {100 * row['lr']:6.2f}")
        entry["cutoff_table"] = rows
    if weight is None:
        weight, rows = choose_match_weight(RoutedRecognizer(hr, lr, value), dev_train)
        click.echo("routed, mean cross-resolution accuracy below the cut-off on pairsDevTrain per match weight:")
        for row in rows:
            click.echo(f"  w = {row['w']:.2f}: {100 * row['accuracy']:6.2f}")
        entry["match_weight_table"] = rows
    entry["cutoff"], entry["match_weight"] = value, weight
    write_manifest_entry(name, entry)
    click.echo(f"{name}: faces with r < {value:g} go to {lr_name}, the others to {hr_name} (weights/manifest.json)")


NOT_IDENTIFIED = 3  # exit status of `identify` when no probe matched anyone in the gallery


def _output_dir(out: str) -> Path:
    """An output folder, made now (before minutes of compute): a file or an unwritable place is refused."""
    d = Path(out)
    if d.exists() and not d.is_dir():
        raise click.BadParameter(f"{out} is a file, not a folder", param_hint="--out")
    try:
        d.mkdir(parents=True, exist_ok=True)
        probe = d / ".lrface-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise LrfaceError(f"cannot write to {out}: {e.strerror or e}") from None
    return d


def _report_refused(refused: list[tuple[str, str]], what: str) -> None:
    if refused:
        click.echo(f"{len(refused)} {what} refused (no usable face), not enrolled:", err=True)
        for _, reason in refused:
            click.echo(f"  {reason}", err=True)


def _echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=None))


@cli.command()
@click.option("--db", default=None, type=click.Path(dir_okay=False), help="gallery file (`lrface gallery create`)")
@click.option("--gallery", "-g", default=None, type=click.Path(), help="or a folder with one sub-folder per identity")
@click.option("--probe", "-p", required=True, type=click.Path(), help="probe image or folder of probe images")
@click.option("--crop", "framing", default="auto", show_default=True, type=click.Choice(FRAMING_CHOICES), help=CROP_HELP)
@click.option("--top-k", "-k", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--over", default="fused", show_default=True, type=click.Choice(["fused", "templates"]),
              help="search fused identity templates, or every template (best per identity)")
@click.option("--threshold", "-t", type=SCORE, default=None,
              help="open-set threshold (default: the one at --fpir for the probe's r and the gallery's size)")
@FPIR_OPT
@click.option("--method", default="plain", show_default=True, type=click.Choice(["plain", "mitm"]),
              help="mitm: meet-in-the-middle matching (needs --gallery folder)")
@click.option("--fusion", default="s_max_add", show_default=True, help="mitm: t_add, t_concat, s_add, s_max, s_max_add")
@click.option("--scales", default="2,4,8", show_default=True, help="mitm: SR magnifications of the probe")
@click.option("--degradations", default=16, show_default=True, type=click.IntRange(0, 256),
              help="mitm: gallery degradation chains")
@MODEL_OPT
@WEIGHTS_OPT
@DEVICE_OPT
@ALIGNED_OPT
@click.option("--all-faces", is_flag=True, help="identify every detected face of each probe photo, not only the largest")
@DETECTOR_OPT
@click.option("--json", "as_json", is_flag=True, help="print one JSON object per probe")
def identify(db: str | None, gallery: str | None, probe: str, framing: str, top_k: int, over: str,
             threshold: float | None, fpir: float | None, method: str, fusion: str, scales: str, degradations: int, model: str,
             weights: str | None, device: str, aligned: bool, all_faces: bool, detector: str, as_json: bool) -> None:
    """Who is in PROBE? Top-k identities with scores and an open-set decision: a name only when the
    best score reaches the threshold at which a stranger would be named with probability --fpir in
    a gallery of this size (for the probe's effective resolution), else "unknown"; a probe too poor
    to decide on gets "cannot decide (quality)". Exit status 0 when a probe was identified, 3 when none."""
    from .gallery import Gallery, enroll, identity_items, new_gallery
    from .imageio import list_images
    from .batches import iter_prepared
    from .routed import load_recognizer

    if all_faces and (method == "mitm" or aligned or framing not in ("auto", "photo")):
        raise click.UsageError("--all-faces detects faces in photos: it takes neither --method mitm, --aligned nor a "
                               "crop framing")
    if threshold is not None and fpir is not None:
        raise click.UsageError("give --threshold or --fpir, not both")
    if (db is None) == (gallery is None):
        raise LrfaceError("give either --db (a gallery file) or --gallery (a folder of identity folders)")
    if method == "mitm" and gallery is None:
        raise LrfaceError("--method mitm needs --gallery (it degrades the gallery images themselves)")
    if db is not None:
        g = Gallery.load(db)
        rec = load_recognizer(g.model, None, device, detector=detector) if model == DEFAULT_MODEL and weights is None \
            else load_recognizer(model, weights, device, detector=detector)
        g.check_recognizer(rec)
    else:
        rec = load_recognizer(model, weights, device, detector=detector)
        g = new_gallery(rec)
        rep = enroll(g, rec, identity_items(gallery), progress=False)
        _report_refused(rep.refused, "gallery image(s)")
        if not len(g):
            raise LrfaceError(f"no usable gallery image under {gallery}")
    probe_paths = [Path(probe)] if Path(probe).is_file() else list_images(probe)
    if not probe_paths:
        raise LrfaceError(f"no probe images at {probe}")
    if all_faces:
        results = _all_faces(rec, g, probe_paths, top_k, over, threshold, fpir)
    elif method == "mitm":
        mitm = _mitm_setup(rec, g, gallery, scales, degradations, fusion)
        results: Any = ((str(p), f, None if isinstance(f, str) else _mitm_search(mitm, f, g, rec, top_k, threshold, fpir))
                        for p, f in iter_prepared(rec, probe_paths, aligned, framing))
    else:
        results = g.identify(rec, probe_paths, top_k, framing, aligned, over, threshold, fpir=fpir)
    identified = 0
    for path, face, res in results:
        if isinstance(face, str):
            click.echo(f"{path}: skipped ({face})", err=True)
            continue
        identified += res.identity is not None
        box = None if face.box is None else [round(v, 1) for v in face.box]
        if as_json:
            _echo_json({"probe": str(path), "expert": rec.expert_for_face(face), "box": box, "n_faces": face.n_faces,
                        **res.to_dict()})
            continue
        verdict = res.identity if res.identity is not None else (res.reason or res.decision)
        where = "" if box is None else f", face at {box[0]:.0f},{box[1]:.0f}-{box[2]:.0f},{box[3]:.0f}" + \
            (f" (largest of {face.n_faces})" if face.n_faces > 1 and not all_faces else "")
        at = f", FPIR {res.fpir:g} for {len(g.names)} identities" if res.fpir is not None else ""
        click.echo(f"{path}: {verdict} ({_quality_text(face)}, {rec.expert_for_face(face).upper()} expert{where}{at})")
        for n in face.notes():
            click.echo(f"  note: {n}")
        for rank, m in enumerate(res.matches, 1):
            thr = "" if m.threshold is None else f"  (threshold {m.threshold:.4f})"
            click.echo(f"  {rank}. {m.name:30s} {m.score:.4f}{thr if rank == 1 else ''}")
    if not identified:
        sys.exit(NOT_IDENTIFIED)


def _all_faces(rec: Any, g: Any, paths: list[Path], top_k: int, over: str, threshold: float | None,
               fpir: float | None) -> Any:
    """(path, face or reason, result) for every detected face of every probe photo."""
    for p in paths:
        try:
            faces = rec.prepare_all(p)
        except LrfaceError as e:
            yield str(p), str(e).removeprefix(f"{p}: "), None
            continue
        if not faces:
            yield str(p), "no face found", None
            continue
        emb = rec.embed_assessed(faces)
        for f, res in zip(faces, g.search(emb, [f.r for f in faces], rec, top_k, over, threshold, fpir, faces)):
            yield str(p), f, res


def _mitm_setup(rec: Any, g: Any, folder: str | None, scales: str, degradations: int, fusion: str) -> Any:
    """The meet-in-the-middle matcher over the enrolled gallery images (aligned chips)."""
    from .data.facecache import aligned_crops
    from .match import MitmConfig, MitmMatcher

    try:
        scale_t = tuple(int(v) for v in scales.split(","))
    except ValueError:
        raise LrfaceError(f"bad --scales {scales!r}: comma-separated integers from 1, 2, 4, 8") from None
    if not scale_t or any(k not in (1, 2, 4, 8) for k in scale_t):
        raise LrfaceError(f"bad --scales {scales!r}: comma-separated integers from 1, 2, 4, 8")
    cfg = MitmConfig(scales=scale_t, degradations=degradations, fusion=fusion)
    hr = getattr(rec, "hr", rec)  # MITM matches in the HR expert's space
    cs = aligned_crops([Path(p) for p in g.sources], hr.style, hr.input_size[0], progress=False)
    return MitmMatcher(hr, cfg, expert=getattr(rec, "lr", None)), cs


def _mitm_search(mitm: Any, face: Any, g: Any, rec: Any, top_k: int, threshold: float | None,
                 fpir: float | None) -> Any:
    """MITM ranks the gallery; with ``threshold`` it also decides on its own score, else the one
    default open-set rule decides on the calibrated (plain) score of each ranked identity."""
    from .gallery import Match, SearchResult, top_identities
    from .match import mitm_scores

    matcher, cs = mitm
    small = _probe_small(face, matcher.rec.input_size[0])
    sim = mitm_scores(matcher, [small], cs.crops, cs.keys, small.shape[0])[0]
    ranked = top_identities(g.ident, sim, top_k)
    if threshold is not None:
        return SearchResult([Match(g.names[i], s, threshold) for i, s in ranked], face.r)
    emb = rec.embed_assessed([face])
    base = g.search(emb, [face.r], rec, 1, fpir=fpir, faces=[face])[0]  # threshold, quality, decision rule
    plain = g.fused()[0] @ emb[0]
    thr = base.matches[0].threshold
    base.matches = [Match(g.names[i], float(plain[i]), thr, rank_score=s) for i, s in ranked]
    return base


def _probe_small(face: Any, size: int) -> np.ndarray:
    """The probe at its own resolution: the face's native-size chip when it is small, else its
    chip reduced to the size its resolution supports."""
    from .degrade import target_size
    from .match import resize, to_tensor

    if face.small_chip is not None:
        return face.small_chip
    px = max(4, min(size, target_size(face.r, "dlib", size)[0]))
    t = resize(to_tensor(face.crop[None]), px)[0]
    return (t.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


@cli.group("gallery")
def gallery_group() -> None:
    """A persistent gallery: enrol once (create / add / remove), inspect (list / info), search with
    `lrface identify --db DB`."""


@gallery_group.command("create")
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("folder", type=click.Path())
@click.option("--name", default=None, help="FOLDER holds images of this one person (else one sub-folder per identity)")
@click.option("--crop", "framing", default="photo", show_default=True, type=click.Choice(FRAMING_CHOICES),
              help="photo: detect, refuse images without a face; or the framing of pre-cut crops")
@click.option("--index", default="flat", show_default=True, type=click.Choice(["flat", "ivf", "hnsw"]))
@click.option("--force", is_flag=True, help="overwrite an existing gallery file")
@MODEL_OPT
@WEIGHTS_OPT
@DEVICE_OPT
@click.option("--json", "as_json", is_flag=True)
def gallery_create(db: str, folder: str, name: str | None, framing: str, index: str, force: bool, model: str,
                   weights: str | None, device: str, as_json: bool) -> None:
    """Enrol FOLDER (one sub-folder per identity) into a new gallery file DB."""
    from .gallery import enroll, identity_items, new_gallery
    from .routed import load_recognizer

    if Path(db).exists() and not force:
        raise LrfaceError(f"{db} exists: use `lrface gallery add`, or --force to replace it")
    if Path(db).is_dir():
        raise LrfaceError(f"{db} is a directory: give a file name, e.g. {Path(db) / 'gallery.npz'}")
    items = identity_items(folder, name)
    if not items:
        raise LrfaceError(f"no images under {folder}")
    rec = load_recognizer(model, weights, device)
    g = new_gallery(rec, index)
    rep = enroll(g, rec, items, framing)
    _report_refused(rep.refused, "image(s)")
    if not len(g):
        raise LrfaceError(f"no image under {folder} could be enrolled; gallery not written")
    g.save(db)
    _gallery_summary(g, db, rep, as_json)


@gallery_group.command("add")
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("source", type=click.Path())
@click.option("--name", default=None, help="SOURCE (image or folder) is this one person")
@click.option("--crop", "framing", default="photo", show_default=True, type=click.Choice(FRAMING_CHOICES))
@DEVICE_OPT
@click.option("--json", "as_json", is_flag=True)
def gallery_add(db: str, source: str, name: str | None, framing: str, device: str, as_json: bool) -> None:
    """Add images to DB: SOURCE is a folder of identity folders, or an image / folder with --name."""
    from .gallery import Gallery, enroll, identity_items
    from .routed import load_recognizer

    g = Gallery.load(db)
    rec = load_recognizer(g.model, None, device)
    g.check_recognizer(rec)
    rep = enroll(g, rec, identity_items(source, name), framing)
    _report_refused(rep.refused, "image(s)")
    if rep.added:
        g.save(db)
    _gallery_summary(g, db, rep, as_json)


@gallery_group.command("remove")
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("names", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
def gallery_remove(db: str, names: tuple[str, ...], as_json: bool) -> None:
    """Remove identities (all their templates) from DB."""
    from .gallery import Gallery

    g = Gallery.load(db)
    removed = {n: g.remove(n) for n in names}
    g.save(db)
    if as_json:
        _echo_json({"removed": removed, "identities": len(g.names), "templates": len(g)})
    else:
        for n, k in removed.items():
            click.echo(f"removed {n} ({k} template(s))")


@gallery_group.command("list")
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def gallery_list(db: str, as_json: bool) -> None:
    """Identities in DB with their number of templates and best resolution."""
    from .gallery import Gallery

    g = Gallery.load(db)
    rows = []
    for k, (n, c) in enumerate(g.counts().items()):
        sel = g.ident == k
        rows.append({"name": n, "templates": c, "best_r": round(float(g.r[sel].max()), 1) if c else None,
                     "quality": round(float(g.quality[sel].mean()), 3) if c else None})
    if as_json:
        _echo_json(rows)
    else:
        for row in rows:
            click.echo(f"{row['name']:30s} {row['templates']:4d} template(s)  best r {row['best_r']}  "
                       f"quality {row['quality']}")


@gallery_group.command("info")
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def gallery_info(db: str, as_json: bool) -> None:
    """What DB holds and which recognizer made it."""
    from .gallery import Gallery

    g = Gallery.load(db)
    info = {"file": db, "bytes": Path(db).stat().st_size, "model": g.model, "model_id": g.model_id, "dim": g.dim,
            "identities": len(g.names), "templates": len(g), "index": g.index_kind, **g.meta}
    if as_json:
        _echo_json(info)
    else:
        for k, v in info.items():
            click.echo(f"{k:12s} {v}")


def _gallery_summary(g: Any, db: str, rep: Any, as_json: bool) -> None:
    if as_json:
        _echo_json({"file": db, "added": rep.added, "duplicates": rep.skipped_duplicates,
                    "refused": [{"file": f, "reason": r} for f, r in rep.refused],
                    "identities": len(g.names), "templates": len(g)})
    else:
        click.echo(f"{db}: {len(g.names)} identities, {len(g)} templates (+{rep.added} added"
                   f"{f', {rep.skipped_duplicates} already enrolled' if rep.skipped_duplicates else ''}"
                   f"{f', {len(rep.refused)} refused' if rep.refused else ''})")


@cli.command("export-onnx")
@click.argument("model")
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help="output .onnx file")
@WEIGHTS_OPT
@click.option("--json", "as_json", is_flag=True)
def export_onnx(model: str, out: str, weights: str | None, as_json: bool) -> None:
    """Export MODEL to ONNX (routed models: both experts + a routing JSON); checks parity and speed
    against PyTorch with onnxruntime (batch 32, side by side)."""
    from .export import export_recognizer
    from .routed import load_recognizer

    rec = load_recognizer(model, weights, "cpu")
    checks = export_recognizer(rec, out)
    if as_json:
        _echo_json([c.__dict__ for c in checks])
        return
    for c in checks:
        click.echo(f"wrote {c.path}: max |diff| vs PyTorch {c.max_abs_diff:.2e}; onnxruntime "
                   f"{c.onnx_faces_per_s:.0f} faces/s, PyTorch {c.torch_faces_per_s:.0f} faces/s "
                   f"({c.onnx_faces_per_s / c.torch_faces_per_s:.2f}x)")


@cli.command("train-sr")
@click.option("--scale", type=click.Choice(["2", "4", "8"]), required=True)
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
    from .atomic import atomic_write_text
    from .data.distill import build_distill_set, load_distill_set
    from .match.sr import SRTrainConfig, sr_weights_path, train_sr
    from .models import create_model
    from .recognizer import resolve_device

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
        from .models.published import record_weights

        record_weights(target.stem, target, {
            "kind": "sr", "scale": int(scale),
            "command": f"lrface train-sr --scale {scale} --steps {steps} --batch {batch} --lr {learning_rate:g} "
                       f"--identity-weight {identity_weight:g} --pixel-weight {pixel_weight:g}",
            "data": "../shared/datasets/celeba-subset + utkface/aligned (distillation set: 64 px dlib chips, cached "
                    "dlib_resnet embeddings of the 150 px chips)",
            "metrics": {"params": summary["params"], "held_out_identity_cosine": held}})


@cli.command("eval-sr")
@click.option("--images", default=300, show_default=True, type=POSITIVE, help="LFW View 2 images to test on")
@click.option("--sizes", default="7,11,14,18,22", show_default=True, help="LR chip sizes (px) for the identity check")
@DATA_OPT
def eval_sr(images: int, sizes: str, data_root: str | None) -> None:
    """The committed SR networks vs bicubic on aligned LFW crops: PSNR/SSIM (144 px centre, bicubic
    LR) and identity (cosine of dlib_resnet's embedding of the restored face to that of the HR face,
    camera-like LR at each size)."""
    import torch

    from .data.facecache import aligned_crops
    from .data.lfw import lfw_pairs
    from .match.sr import SCALES, evaluate_sr, identity_similarity, load_sr
    from .recognizer import Recognizer

    try:
        size_list = [int(v) for v in sizes.split(",")]
    except ValueError:
        raise click.BadParameter(f"{sizes!r}: comma-separated integers", param_hint="--sizes") from None
    if not size_list or min(size_list) < 2 or max(size_list) > 150:
        raise click.BadParameter(f"{sizes!r}: sizes from 2 to 150", param_hint="--sizes")
    paths = lfw_pairs(data_root).images[:images]
    cs = aligned_crops(paths, "dlib", 150, progress=False)
    chips = cs.crops[cs.status != 2]
    hr = torch.from_numpy(chips[:, 3:147, 3:147]).permute(0, 3, 1, 2).float() / 255
    teacher = Recognizer("dlib_resnet", device="cpu")
    hr_emb = teacher.embed_crops(chips)
    click.echo(f"{len(hr)} LFW crops; PSNR/SSIM on the 144 px centre with bicubic LR; identity = mean cosine to the HR "
               f"embedding at LR sizes {', '.join(map(str, size_list))} px")
    for k in SCALES:
        model = load_sr(k)
        m = evaluate_sr(model, hr)
        ident = identity_similarity(model, teacher.model, chips, hr_emb, size_list)
        click.echo(f"x{k}: PSNR {m['psnr_sr']:.2f} dB (bicubic {m['psnr_bicubic']:.2f}), "
                   f"SSIM {m['ssim_sr']:.4f} (bicubic {m['ssim_bicubic']:.4f}); identity SR/bicubic " +
                   "  ".join(f"{s}: {v['sr']:.3f}/{v['bicubic']:.3f}" for s, v in ident.items()))


@cli.command()
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--detector", default="centerface", show_default=True, type=click.Choice(DETECTOR_CHOICES))
@click.option("--min-r", default=0.0, show_default=True, type=FiniteFloat(0.0, 1000.0),
              help="report only faces of at least this measured resolution r")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per image")
def detect(images: tuple[str, ...], detector: str, min_r: float, as_json: bool) -> None:
    """Every face in IMAGES (files or folders): box, score, 5 landmarks, inter-ocular distance,
    geometric resolution r, and the face's quality (effective resolution r_eff: the detail it
    holds). Bad files are reported and skipped; exit 1 if none could be read."""
    from tqdm import tqdm

    from .align import align, detect_faces
    from .align.framing import landmarks_resolution
    from .imageio import list_images, load_image
    from .quality import measure, yaw_proxy

    paths: list[Path] = []
    for item in images:
        paths += list_images(item) if Path(item).is_dir() else [Path(item)]
    read = 0
    for p in tqdm(paths, desc="detect", unit="img", disable=as_json or len(paths) <= 20):
        try:
            rgb = load_image(p)
        except LrfaceError as e:
            click.echo(f"{p}: skipped ({str(e).removeprefix(f'{p}: ')})", err=True)
            continue
        read += 1
        faces = [f for f in detect_faces(rgb, detector) if landmarks_resolution(f.landmarks) >= min_r]
        qual = [measure(align(rgb, f.landmarks, 150, "dlib"), landmarks_resolution(f.landmarks),
                        yaw_proxy(f.landmarks, f.points), f.score) for f in faces]
        rows = [{"box": [round(v, 1) for v in f.box], "score": round(f.score, 3),
                 "landmarks": np.round(f.points if f.points is not None else f.landmarks, 1).tolist(),
                 "eye_px": round(f.eye_distance, 1), "r": round(landmarks_resolution(f.landmarks), 1),
                 "quality": q.to_dict()} for f, q in zip(faces, qual)]
        if as_json:
            _echo_json({"image": str(p), "width": rgb.shape[1], "height": rgb.shape[0], "detector": detector,
                        "faces": rows})
            continue
        tiny = " (too small to search: a face crop? verify/identify take it with --crop-a/--crop tight)" \
            if min(rgb.shape[:2]) < 32 and not rows else ""
        click.echo(f"{p}: {len(rows)} face(s) ({detector}){tiny}")
        for i, row in enumerate(rows):
            b = row["box"]
            click.echo(f"  {i}. box {b[0]:.0f},{b[1]:.0f}-{b[2]:.0f},{b[3]:.0f}  score {row['score']:.2f}  "
                       f"eyes {row['eye_px']:.1f} px  r = {row['r']:.0f}  r_eff = {row['quality']['r_eff']:.0f}  "
                       f"quality {row['quality']['score']:.2f}")
    if not read:
        raise LrfaceError("no readable image among the inputs")


@cli.command()
@click.argument("source", type=click.Path())
@click.option("--gallery", "db", default=None, type=click.Path(dir_okay=False),
              help="gallery file (`lrface gallery create`); without it tracks are found but not named")
@click.option("--out", "-o", default="out/scan", show_default=True, type=click.Path(file_okay=False))
@click.option("--every", default=1, show_default=True, type=POSITIVE, help="scan every Nth frame")
@click.option("--min-detections", default=2, show_default=True, type=POSITIVE,
              help="drop tracks with fewer faces (likely false detections)")
@click.option("--top-k", "-k", default=3, show_default=True, type=POSITIVE)
@click.option("--threshold", "-t", default=None, type=SCORE,
              help="fixed threshold (default: the open-set one at --fpir for each track's r)")
@FPIR_OPT
@click.option("--detector", default="centerface", show_default=True, type=click.Choice(DETECTOR_CHOICES))
@MODEL_OPT
@DEVICE_OPT
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def scan(source: str, db: str | None, out: str, every: int, min_detections: int, top_k: int, threshold: float | None,
         fpir: float | None, detector: str, model: str, device: str, as_json: bool) -> None:
    """Find, follow and name the people in a video (or a folder of frames): every face detected,
    tracked across frames, fused per track by quality and matched against a gallery. Writes
    scan.json, tracks.csv and contact_sheet.html under --out."""
    from tqdm import tqdm

    from .gallery import Gallery
    from .routed import load_recognizer
    from .scan import scan as run_scan
    from .scan import write_outputs

    if Path(out).is_file():
        raise click.BadParameter(f"{out} is a file", param_hint="--out")
    g = Gallery.load(db) if db else None
    name = g.model if g is not None and model == DEFAULT_MODEL else model
    rec = load_recognizer(name, None, device, detector=detector)
    if g is not None:
        g.check_recognizer(rec)
    bar = tqdm(desc="scan", unit="frame", disable=as_json)

    def progress(done: int, total: int) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        result = run_scan(Path(source), rec, g, every, min_detections, top_k, threshold, progress, fpir)
    finally:
        bar.close()
    paths = write_outputs(result, Path(out), str(source))
    for e in result.errors:
        click.echo(f"warning: {e}", err=True)
    if as_json:
        _echo_json({"source": str(source), **result.to_dict(), "outputs": {k: str(v) for k, v in paths.items()}})
        return
    click.echo(f"{source}: {result.frames} frames in {result.seconds:.1f} s ({result.frames / max(result.seconds, 1e-9):.1f} "
               f"frames/s), {len(result.tracks)} tracks")
    for t in result.to_dict()["tracks"]:
        top = t["matches"][0] if t["matches"] else None
        who = t["identity"] or t.get("reason") or t.get("decision") or "unknown"
        score = f" (best {top['name']} {top['score']:.3f}, threshold {top['threshold']:.3f})" if top else ""
        click.echo(f"  track {t['track']}: {t['start_s']:.1f}-{t['end_s']:.1f} s, {t['detections']} faces, r {t['r']:.0f}: "
                   f"{who}{score}")
    click.echo(f"wrote {paths['json']}, {paths['csv']}, {paths['html']}")


@cli.command("make-test-video")
@click.option("--out", "-o", default="out/scan-demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--frames", default=60, show_default=True, type=click.IntRange(2, 10000))
@click.option("--people", default=3, show_default=True, type=click.IntRange(1, 6))
@click.option("--seed", default=0, show_default=True)
@click.option("--crossing", is_flag=True, help="people cross paths and occlude each other (tracker test)")
@DATA_OPT
def make_test_video_cmd(out: str, frames: int, people: int, seed: int, crossing: bool, data_root: str | None) -> None:
    """Write a 640x480 test video of LFW people moving and shrinking (inter-ocular distance 48 ->
    8 px) over a real background, plus a gallery folder (another photo of each, and distractors).
    With --crossing they walk across each other instead (score a scan with `lrface eval-scan`)."""
    from .scan import make_test_video

    if Path(out).is_file():
        raise click.BadParameter(f"{out} is a file", param_hint="--out")
    m = make_test_video(Path(out), frames, people, seed=seed, data_root=data_root, crossing=crossing)
    click.echo(f"wrote {out}/video.avi ({frames} frames, {m['fps']:g} fps; people: {', '.join(m['people'])}) and "
               f"{out}/gallery ({len(m['people']) + len(m['distractors'])} identities)")


@cli.command("eval-scan")
@click.argument("scan_json", type=click.Path(dir_okay=False))
@click.argument("truth_json", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def eval_scan(scan_json: str, truth_json: str, as_json: bool) -> None:
    """Score a scan (its scan.json) against a test clip's truth.json: track purity, tracks that merge
    two people, ID switches and fragments per person."""
    from .eval.tracking import track_metrics

    def read(path: str) -> Any:
        try:
            return json.loads(Path(path).read_text())
        except (OSError, ValueError) as e:
            raise LrfaceError(f"cannot read {path}: {e}") from None

    scan_d, truth = read(scan_json), read(truth_json)
    try:
        m = track_metrics(scan_d, truth)
    except (KeyError, TypeError, ValueError) as e:
        raise LrfaceError(f"{scan_json} / {truth_json}: not an lrface scan.json and truth.json ({e})") from None
    if as_json:
        _echo_json(m)
        return
    click.echo(f"{m['tracks']} tracks, {m['faces']} faces ({m['false_detections']} not on a person): purity "
               f"{m['purity']:.4f}, {m['merged']} tracks merging people, {m['id_switches']} ID switches; tracks per "
               "person: " + ", ".join(f"{k} {v}" for k, v in m["fragments"].items()))


@cli.command("make-detect-benchmark")
@click.option("--out", "-o", default="out/detect-bench", show_default=True, type=click.Path(file_okay=False))
@click.option("--images", default=100, show_default=True, type=POSITIVE)
@click.option("--faces", default=6, show_default=True, type=POSITIVE, help="faces pasted per image")
@click.option("--seed", default=0, show_default=True)
@click.option("--crowd", is_flag=True, help="the crowd case: 4,000 x 3,000 canvases with 300 faces at IOD 6-20 px "
                                           "(use with e.g. --images 3 -o out/crowd-bench)")
@DATA_OPT
def make_detect_benchmark(out: str, images: int, faces: int, seed: int, crowd: bool, data_root: str | None) -> None:
    """Write the small-face detection benchmark: LFW faces pasted at inter-ocular distances
    4..64 px into real backgrounds (640x480), with ground truth; --crowd: a crowd photo's case."""
    from .eval.detection import make_detection_benchmark

    if Path(out).exists() and not Path(out).is_dir():
        raise click.BadParameter(f"{out} is a file", param_hint="--out")
    m = make_detection_benchmark(Path(out), images, faces, seed=seed, data_root=data_root, crowd=crowd)
    n = sum(len(t["faces"]) for t in m["truth"])
    click.echo(f"wrote {out}: {images} images, {n} faces at IOD {', '.join(map(str, m['sizes']))} px, seed {seed}")


@cli.command("eval-detect")
@click.option("--bench", default="out/detect-bench", show_default=True, type=click.Path(file_okay=False))
@click.option("--detectors", default="centerface,yunet,hog", show_default=True, help="comma-separated registered detectors")
@click.option("--images", default=None, type=POSITIVE, help="only the first N images")
@click.option("--json", "as_json", is_flag=True)
def eval_detect(bench: str, detectors: str, images: int | None, as_json: bool) -> None:
    """Recall, precision and eye-landmark error per face size, and speed, for each detector."""
    from dataclasses import asdict

    from .align import detector_names
    from .eval.detection import evaluate_detector

    names = [d.strip() for d in detectors.split(",") if d.strip()]
    unknown = [d for d in names if d not in detector_names()]
    if unknown or not names:
        raise click.BadParameter(f"unknown detector {unknown[0] if unknown else ''!r}; choose from "
                                 f"{', '.join(detector_names())}", param_hint="--detectors")
    if not (Path(bench) / "truth.json").is_file():
        raise LrfaceError(f"no benchmark at {bench}: make it with `lrface make-detect-benchmark -o {bench}`")
    results = [evaluate_detector(Path(bench), d, images, progress=not as_json) for d in names]
    if as_json:
        _echo_json([asdict(r) for r in results])
        return
    click.echo("IOD px        " + "".join(f"{s:>7d}" for s in results[0].sizes))
    click.echo("faces         " + "".join(f"{n:>7d}" for n in results[0].faces))
    for r in results:
        click.echo(f"{r.detector}: precision {r.precision_all:.3f} overall, {r.ms_per_image:.0f} ms per image")
        for label, row in (("  recall", r.recall), ("  precision", r.precision), ("  eye error", r.landmark_error)):
            click.echo(f"{label:14s}" + "".join("      -" if v != v else f"{v:7.2f}" for v in row))


@cli.command("make-id-benchmark")
@click.option("--out", "-o", default="out/lfw-id", show_default=True, type=click.Path(file_okay=False))
@click.option("--sizes", default="8,12,16,20,24", show_default=True, help="probe resolutions r (px of a 112 crop)")
@click.option("--identities", default=100, show_default=True, type=POSITIVE)
@click.option("--probes-per-id", default=1, show_default=True, type=POSITIVE)
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
@click.option("--label", "labels", multiple=True, help="legend name of each results file, in order (repeat)")
def report(results: tuple[str, ...], out: str, labels: tuple[str, ...]) -> None:
    """Plots and tables from one or more `lrface eval` results.json (models overlaid)."""
    from .eval.report import write_report

    if labels and len(labels) != len(results):
        raise click.BadParameter(f"{len(labels)} labels for {len(results)} results files", param_hint="--label")
    path = write_report([Path(r) for r in results], Path(out), list(labels) or None)
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
