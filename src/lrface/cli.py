"""Command line: ``lrface verify | embed | models | calibrate | eval | report``."""
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
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def verify(image_a: str, image_b: str, threshold: float | None, model: str, weights: str | None, device: str,
           aligned: bool, as_json: bool) -> None:
    """Are IMAGE_A and IMAGE_B the same person?"""
    from .recognizer import Recognizer

    rec = Recognizer(model, weights=weights, device=device)
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
@click.option("--batch-size", default=32, show_default=True)
def embed(directory: str, out: str, model: str, weights: str | None, device: str, aligned: bool,
          batch_size: int) -> None:
    """Embed every image under DIRECTORY into OUT (.npz: paths, embeddings, failed, errors)."""
    from tqdm import tqdm

    from .atomic import atomic_write
    from .imageio import list_images
    from .recognizer import Recognizer, iter_prepared

    paths = list_images(directory)
    if not paths:
        raise LrfaceError(f"no images under {directory}")
    rec = Recognizer(model, weights=weights, device=device, batch_size=batch_size)
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
def calibrate(model: str, weights: str | None, device: str, data_root: str | None) -> None:
    """Best-accuracy threshold on LFW View 1 pairsDevTrain, checked on pairsDevTest."""
    from .data.lfw import lfw_pairs
    from .eval.metrics import accuracy, best_threshold
    from .eval.verification import pair_scores
    from .recognizer import Recognizer

    rec = Recognizer(model, weights=weights, device=device)
    train, test = lfw_pairs(data_root, "pairsDevTrain.txt"), lfw_pairs(data_root, "pairsDevTest.txt")
    thr, acc_train = best_threshold(pair_scores(rec, train), train.same)
    acc_test = accuracy(pair_scores(rec, test), test.same, thr)
    click.echo(f"{model}: threshold {thr:.4f} (pairsDevTrain accuracy {100 * acc_train:.2f}%, "
               f"pairsDevTest accuracy {100 * acc_test:.2f}%)")


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
