from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import LrfaceError
from .options import (
    DATA_OPT,
    DEVICE_OPT,
    FPIR_OPT,
    MODEL_OPT,
    POSITIVE,
    WEIGHTS_OPT,
    _echo_json,
    _eval_options,
    _output_dir,
    _resolutions,
)


@click.command()
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
    from ..eval.calibrate import fit_operating_points, fit_thresholds, save_thresholds, storable
    from ..recognize.calibration import GRID
    from ..recognize.routing import load_recognizer

    if save:
        storable(model, weights)
    grid_r = None if grid is None else (list(GRID) if grid == "default" else [float(v) for v in _resolutions(grid)])
    rec = load_recognizer(model, weights, device)
    if operating_points:
        _print_operating_points(model, *fit_operating_points(rec, model, data_root, max_images, save))
        if save:
            click.echo(f"saved the operating points of {model} in weights/manifest.json")
        return
    fit = fit_thresholds(rec, data_root, grid_r)
    click.echo(f"{model}: threshold {fit.threshold:.4f} (pairsDevTrain accuracy {100 * fit.train_accuracy:.2f}%, "
               f"pairsDevTest accuracy {100 * fit.test_accuracy:.2f}%)")
    cal = fit.calibration
    if cal is not None:
        click.echo("resolution-aware thresholds thr(r_a, r_b) (rows r_a, columns r_b):")
        click.echo("r      " + " ".join(f"{g:>6g}" for g in cal.grid))
        for g, row in zip(cal.grid, cal.table):
            click.echo(f"{g:<6g} " + " ".join(f"{v:6.3f}" for v in row))
        click.echo("pairsDevTest accuracy at these thresholds, HR vs r (CR) and r vs r (ER):")
        for r, cr, er in fit.test_rows:
            click.echo(f"  r = {r:>5g}: CR {100 * (cr or 0):6.2f}  ER {100 * (er or 0):6.2f}")
    if save:
        save_thresholds(model, fit)
        click.echo(f"saved threshold {fit.threshold:.4f} for {model} in weights/manifest.json")
        if cal is not None:
            click.echo(f"saved the resolution-aware thresholds for {model}")


def _print_operating_points(model: str, far: Any, frr: Any, osc: Any, rows: list) -> None:
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


def _embedder(model: str, weights: str | None, device: str, kernel: str, antialias: bool, flip: str,
              cache: bool, batch_size: int, lr_model: str | None = None, lr_weights: str | None = None,
              cutoff: float | None = None, match_weight: float | None = None):
    from ..degrade import Reduce
    from ..recognize.embeddings import Embedder
    from ..recognize.routing import load_recognizer

    rec = load_recognizer(model, weights, device, batch_size, lr_model=lr_model, lr_weights=lr_weights,
                          cutoff=cutoff, match_weight=match_weight)
    return Embedder(rec, Reduce(kernel, antialias), flip=flip, cache=cache)


@click.command("eval")
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
    from ..eval.sweep import format_table, load_pairset, load_protocols, restrict_folds, run_sweep, write_outputs
    from ..eval.verification import MODES

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

    from .. import __version__
    from ..models.published import sha256

    return {"command": "lrface " + " ".join(shlex.quote(a) for a in sys.argv[1:]), "version": __version__,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "weights_sha256": sha256(Path(weights)) if weights else None}


@click.command("eval-openset")
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
    from ..decision import DEFAULT_FPIR
    from ..eval.openset import CONDITIONS, run_openset
    from ..eval.report import write_openset_report
    from ..recognize.routing import load_recognizer

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
    from ..atomic import atomic_write_text

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


@click.command("eval-quality")
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
    from ..atomic import atomic_write_text
    from ..eval.erc import run_erc
    from ..recognize.routing import load_recognizer

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


@click.command("eval-id")
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

    from ..atomic import atomic_write_text
    from ..data.identities import gallery_probe_split, read_identity_folders
    from ..eval.identification import RANKS, evaluate_identification

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


@click.command("eval-sr")
@click.option("--images", default=300, show_default=True, type=POSITIVE, help="LFW View 2 images to test on")
@click.option("--sizes", default="7,11,14,18,22", show_default=True, help="LR chip sizes (px) for the identity check")
@DATA_OPT
def eval_sr(images: int, sizes: str, data_root: str | None) -> None:
    """The committed SR networks vs bicubic on aligned LFW crops: PSNR/SSIM (144 px centre, bicubic
    LR) and identity (cosine of dlib_resnet's embedding of the restored face to that of the HR face,
    camera-like LR at each size)."""
    from ..eval.sr import sr_rows

    try:
        size_list = [int(v) for v in sizes.split(",")]
    except ValueError:
        raise click.BadParameter(f"{sizes!r}: comma-separated integers", param_hint="--sizes") from None
    if not size_list or min(size_list) < 2 or max(size_list) > 150:
        raise click.BadParameter(f"{sizes!r}: sizes from 2 to 150", param_hint="--sizes")
    n, rows = sr_rows(images, size_list, data_root)
    click.echo(f"{n} LFW crops; PSNR/SSIM on the 144 px centre with bicubic LR; identity = mean cosine to the HR "
               f"embedding at LR sizes {', '.join(map(str, size_list))} px")
    for k, m, ident in rows:
        click.echo(f"x{k}: PSNR {m['psnr_sr']:.2f} dB (bicubic {m['psnr_bicubic']:.2f}), "
                   f"SSIM {m['ssim_sr']:.4f} (bicubic {m['ssim_bicubic']:.4f}); identity SR/bicubic " +
                   "  ".join(f"{s}: {v['sr']:.3f}/{v['bicubic']:.3f}" for s, v in ident.items()))


@click.command("eval-scan")
@click.argument("scan_json", type=click.Path(dir_okay=False))
@click.argument("truth_json", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def eval_scan(scan_json: str, truth_json: str, as_json: bool) -> None:
    """Score a scan (its scan.json) against a test clip's truth.json: track purity, tracks that merge
    two people, ID switches and fragments per person."""
    from ..eval.tracking import track_metrics

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


@click.command("eval-detect")
@click.option("--bench", default="out/detect-bench", show_default=True, type=click.Path(file_okay=False))
@click.option("--detectors", default="centerface,yunet,hog", show_default=True, help="comma-separated registered detectors")
@click.option("--images", default=None, type=POSITIVE, help="only the first N images")
@click.option("--json", "as_json", is_flag=True)
def eval_detect(bench: str, detectors: str, images: int | None, as_json: bool) -> None:
    """Recall, precision and eye-landmark error per face size, and speed, for each detector."""
    from dataclasses import asdict

    from ..align import detector_names
    from ..eval.detection import evaluate_detector

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


@click.command()
@click.argument("results", nargs=-1, required=True, type=click.Path())
@click.option("--out", "-o", default="out/report.html", show_default=True, help="report .html (or .md: markdown + PNGs)")
@click.option("--label", "labels", multiple=True, help="legend name of each results file, in order (repeat)")
def report(results: tuple[str, ...], out: str, labels: tuple[str, ...]) -> None:
    """Plots and tables from one or more `lrface eval` results.json (models overlaid)."""
    from ..eval.report import write_report

    if labels and len(labels) != len(results):
        raise click.BadParameter(f"{len(labels)} labels for {len(results)} results files", param_hint="--label")
    path = write_report([Path(r) for r in results], Path(out), list(labels) or None)
    click.echo(f"wrote {path}")
