"""Option types and options shared by the commands. Choice lists and defaults come from the library
(registries, ``lrface.defaults``, ``lrface.decision``), never restated here."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import click

from ..align import detector_names
from ..defaults import DEFAULT_DETECTOR, DEFAULT_MODEL, FLIP_MODES, KERNELS
from ..errors import LrfaceError


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
        from ..recognize.recognizer import resolve_device

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
DETECTOR_CHOICES = detector_names()  # the registry (lrface.align.detect.DETECTORS)
DETECTOR_OPT = click.option("--detector", default=DEFAULT_DETECTOR, show_default=True, type=click.Choice(DETECTOR_CHOICES),
                            help="auto: the detector that suits the model's crop (dlib-chip models: dlib HOG, CenterFace "
                                 "when HOG finds no face; ArcFace-crop models: scrfd); hog; mmod (dlib CNN); "
                                 "centerface, scrfd, yunet8 (faces from about 10 px, 5 points, large photos tiled); yunet")


DATA_OPT = click.option("--data-root", envvar="LRFACE_DATA", default=None,
                        help="dataset root (default: $LRFACE_DATA or ../shared/datasets)")


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


def _resolutions(text: str) -> list:
    from ..degrade import parse_resolution

    try:
        out = [parse_resolution(t) for t in text.split(",") if t.strip()]
    except LrfaceError as e:
        raise click.BadParameter(str(e), param_hint="--resolutions") from None
    if not out:
        raise click.BadParameter(f"no resolutions in {text!r}", param_hint="--resolutions")
    return out


ROUTE_OPTS = [
    click.option("--lr-model", default=None, help="LR expert architecture (routes faces below --cutoff to it)"),
    click.option("--lr-weights", type=click.Path(dir_okay=False), default=None, help="LR expert weights (safetensors)"),
    click.option("--cutoff", type=FiniteFloat(min=1, max=112), default=None,
                 help="routing: faces with r below this go to the LR expert"),
    click.option("--match-weight", type=click.FloatRange(0, 1), default=None,
                 help="routing: weight of the LR expert's same-resolution score in pairs with an LR face"),
]


EVAL_OPTS = [
    MODEL_OPT, WEIGHTS_OPT, DEVICE_OPT, DATA_OPT, *ROUTE_OPTS,
    click.option("--kernel", default="bicubic", show_default=True, type=click.Choice(KERNELS),
                 help="downsampling kernel"),
    click.option("--antialias/--no-antialias", default=True, show_default=True),
    click.option("--flip", default="none", show_default=True, type=click.Choice(FLIP_MODES),
                 help="flip fusion (flip after degrading)"),
    click.option("--no-cache", is_flag=True, help="do not read or write the embedding cache"),
    click.option("--batch-size", default=32, show_default=True, type=POSITIVE),
    click.option("--json", "as_json", is_flag=True, help="print the results as one JSON object instead of a table"),
]


def _eval_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(EVAL_OPTS):
        fn = opt(fn)
    return fn


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
