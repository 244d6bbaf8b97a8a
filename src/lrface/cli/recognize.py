from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..defaults import DEFAULT_MODEL, FIND_DETECTOR, FRAMING_CHOICES, ID_METHODS, SEARCH_OVER
from ..errors import LrfaceError
from .options import (
    ALIGNED_OPT,
    CROP_HELP,
    DETECTOR_CHOICES,
    DETECTOR_OPT,
    DEVICE_OPT,
    FAR_OPT,
    FPIR_OPT,
    MODEL_OPT,
    NOT_IDENTIFIED,
    POSITIVE,
    SCORE,
    WEIGHTS_OPT,
    FiniteFloat,
    _echo_json,
    _face_json,
    _face_line,
    _quality_text,
    _report_refused,
)


@click.command()
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
    from ..recognize.routing import load_recognizer

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


@click.command()
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
    from ..atomic import check_writable
    from ..imageio import list_images
    from ..recognize.batches import embed_paths
    from ..recognize.routing import load_recognizer

    paths = list_images(directory)
    if not paths:
        raise LrfaceError(f"no images under {directory}")
    check_writable(out)
    rec = load_recognizer(model, weights, device, batch_size, detector)
    res = embed_paths(rec, paths, aligned, framing, batch_size)

    res.save(out, rec.model_name)
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


@click.command()
@click.option("--db", default=None, type=click.Path(dir_okay=False), help="gallery file (`lrface gallery create`)")
@click.option("--gallery", "-g", default=None, type=click.Path(), help="or a folder with one sub-folder per identity")
@click.option("--probe", "-p", required=True, type=click.Path(), help="probe image or folder of probe images")
@click.option("--crop", "framing", default="auto", show_default=True, type=click.Choice(FRAMING_CHOICES), help=CROP_HELP)
@click.option("--top-k", "-k", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--over", default="fused", show_default=True, type=click.Choice(SEARCH_OVER),
              help="search fused identity templates, or every template (best per identity)")
@click.option("--threshold", "-t", type=SCORE, default=None,
              help="open-set threshold (default: the one at --fpir for the probe's r and the gallery's size)")
@FPIR_OPT
@click.option("--method", default="plain", show_default=True, type=click.Choice(ID_METHODS),
              help="mitm: meet-in-the-middle matching (the enrolled image files must still exist)")
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
    from .. import api
    from ..imageio import list_images
    from ..recognize.routing import load_recognizer
    from ..search.gallery import Gallery, enroll, identity_items, new_gallery
    from ..search.mitm_search import parse_scales

    if all_faces and (method == "mitm" or aligned or framing not in ("auto", "photo")):
        raise click.UsageError("--all-faces detects faces in photos: it takes neither --method mitm, --aligned nor a "
                               "crop framing")
    if threshold is not None and fpir is not None:
        raise click.UsageError("give --threshold or --fpir, not both")
    if (db is None) == (gallery is None):
        raise LrfaceError("give either --db (a gallery file) or --gallery (a folder of identity folders)")
    probe_paths = [Path(probe)] if Path(probe).is_file() else list_images(probe)  # checked before any enrolment
    if not probe_paths:
        raise LrfaceError(f"no probe images at {probe}")
    if db is not None:
        g = Gallery.load(db)
        rec = load_recognizer(g.model, None, device, detector=detector) if model == DEFAULT_MODEL and weights is None \
            else load_recognizer(model, weights, device, detector=detector)
        g.check_recognizer(rec)
    else:
        rec = load_recognizer(model, weights, device, detector=detector)
        g = new_gallery(rec)
        rep = enroll(g, rec, identity_items(gallery or "."), progress=False)
        _report_refused(rep.refused, "gallery image(s)")
        if not len(g):
            raise LrfaceError(f"no usable gallery image under {gallery}")
    mitm_scales = parse_scales(scales) if method == "mitm" else ()
    identified = 0
    for hit in api.identify(probe_paths, g, model=rec, top_k=top_k, fpir=fpir, threshold=threshold, framing=framing,
                            aligned=aligned, over=over, all_faces=all_faces, method=method, scales=mitm_scales,
                            degradations=degradations, fusion=fusion):
        path = hit.source
        if isinstance(hit, api.Skipped):
            click.echo(f"{path}: skipped ({hit.reason})", err=True)
            continue
        face, res = hit.face, hit.result
        identified += res.identity is not None
        box = None if face.box is None else [round(v, 1) for v in face.box]
        notes = face.notes("--crop")
        for n in notes:
            click.echo(f"warning: {path}: {n}", err=True)
        if as_json:
            _echo_json({**hit.to_dict(), "warnings": notes})
            continue
        verdict = res.identity if res.identity is not None else (res.reason or res.decision)
        where = "" if box is None else f", face at {box[0]:.0f},{box[1]:.0f}-{box[2]:.0f},{box[3]:.0f}" + \
            (f" (largest of {face.n_faces})" if face.n_faces > 1 and not all_faces else "")
        at = f", FPIR {res.fpir:g} for {len(g.names)} identities" if res.fpir is not None else ""
        click.echo(f"{path}: {verdict} ({_quality_text(face)}, {rec.expert_for_face(face).upper()} expert{where}{at})")
        for rank, m in enumerate(res.matches, 1):
            thr = "" if m.threshold is None else f"  (threshold {m.threshold:.4f})"
            click.echo(f"  {rank}. {m.name:30s} {m.score:.4f}{thr if rank == 1 else ''}")
    if not identified:
        sys.exit(NOT_IDENTIFIED)


@click.command()
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--detector", default=FIND_DETECTOR, show_default=True, type=click.Choice(DETECTOR_CHOICES))
@click.option("--min-r", default=0.0, show_default=True, type=FiniteFloat(0.0, 1000.0),
              help="report only faces of at least this measured resolution r")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per image")
def detect(images: tuple[str, ...], detector: str, min_r: float, as_json: bool) -> None:
    """Every face in IMAGES (files or folders): box, score, 5 landmarks, inter-ocular distance,
    geometric resolution r, and the face's quality (effective resolution r_eff: the detail it
    holds). Bad files are reported and skipped; exit 1 if none could be read."""
    from tqdm import tqdm

    from ..imageio import list_images, load_image
    from ..recognize.faces import find_faces

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
        rows = [f.to_dict() for f in find_faces(rgb, detector, min_r)]
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


@click.command()
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
@click.option("--detector", default=FIND_DETECTOR, show_default=True, type=click.Choice(DETECTOR_CHOICES))
@MODEL_OPT
@DEVICE_OPT
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def scan(source: str, db: str | None, out: str, every: int, min_detections: int, top_k: int, threshold: float | None,
         fpir: float | None, detector: str, model: str, device: str, as_json: bool) -> None:
    """Find, follow and name the people in a video (or a folder of frames): every face detected,
    tracked across frames, fused per track by quality and matched against a gallery. Writes
    scan.json, tracks.csv and contact_sheet.html under --out."""
    from tqdm import tqdm

    from ..recognize.routing import load_recognizer
    from ..search.gallery import Gallery
    from ..video.scan import scan as run_scan
    from ..video.scan import write_outputs

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
