from __future__ import annotations

from pathlib import Path

import click

from ..errors import LrfaceError
from .options import DATA_OPT, POSITIVE


@click.command("make-protocol")
@click.option("--pairs", "n_pairs", type=POSITIVE, default=None, help="number of pairs (default: LFW's 6000)")
@click.option("--range", "rng", required=True, help="LOW-HIGH, e.g. 5-40")
@click.option("--seed", default=0, show_default=True)
@click.option("--both", is_flag=True, help="reduce both images (ER-style) instead of only the second")
@click.option("--out", "-o", required=True)
def make_protocol(n_pairs: int | None, rng: str, seed: int, both: bool, out: str) -> None:
    """Generate a mixed-resolution protocol CSV (btm-stm format) with a seed."""
    from ..data.protocols import generate_protocol, write_protocol

    try:
        low, high = (int(v) for v in rng.split("-"))
    except ValueError:
        raise LrfaceError(f"bad --range {rng!r}: use LOW-HIGH like 5-40") from None
    values = generate_protocol(n_pairs or 6000, low, high, seed, both)
    write_protocol(out, values)
    click.echo(f"wrote {len(values) // 2} pairs, resolutions {low}..{high}, seed {seed} -> {out}")


@click.command("make-test-video")
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
    from ..make.video import make_test_video

    if Path(out).is_file():
        raise click.BadParameter(f"{out} is a file", param_hint="--out")
    m = make_test_video(Path(out), frames, people, seed=seed, data_root=data_root, crossing=crossing)
    click.echo(f"wrote {out}/video.avi ({frames} frames, {m['fps']:g} fps; people: {', '.join(m['people'])}) and "
               f"{out}/gallery ({len(m['people']) + len(m['distractors'])} identities)")


@click.command("make-detect-benchmark")
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
    from ..make.detection import make_detection_benchmark

    if Path(out).exists() and not Path(out).is_dir():
        raise click.BadParameter(f"{out} is a file", param_hint="--out")
    m = make_detection_benchmark(Path(out), images, faces, seed=seed, data_root=data_root, crowd=crowd)
    n = sum(len(t["faces"]) for t in m["truth"])
    click.echo(f"wrote {out}: {images} images, {n} faces at IOD {', '.join(map(str, m['sizes']))} px, seed {seed}")


@click.command("make-id-benchmark")
@click.option("--out", "-o", default="out/lfw-id", show_default=True, type=click.Path(file_okay=False))
@click.option("--sizes", default="8,12,16,20,24", show_default=True, help="probe resolutions r (px of a 112 crop)")
@click.option("--identities", default=100, show_default=True, type=POSITIVE)
@click.option("--probes-per-id", default=1, show_default=True, type=POSITIVE)
@click.option("--seed", default=0, show_default=True)
@DATA_OPT
def make_id_benchmark(out: str, sizes: str, identities: int, probes_per_id: int, seed: int,
                      data_root: str | None) -> None:
    """Write the LFW cross-resolution identification benchmark (HR gallery, degraded LR probes)."""
    from ..make.id_benchmark import make_lfw_benchmark

    m = make_lfw_benchmark(Path(out), [int(v) for v in sizes.split(",")], identities, probes_per_id, seed,
                           data_root=data_root)
    click.echo(f"wrote {out}: gallery {m['gallery']}, {m['probes']} probes x {len(m['sizes'])} sizes, seed {seed}")


@click.command("make-bin")
@click.option("--pairs", "pairs_file", required=True, type=click.Path(), help="LFW-format pairs file")
@click.option("--images", required=True, type=click.Path(), help="image root the pairs refer to")
@click.option("--out", "-o", required=True, help="output .bin")
def make_bin(pairs_file: str, images: str, out: str) -> None:
    """Write an insightface-style .bin verification set from a pairs file and an image folder."""
    from ..data.binset import write_bin
    from ..data.pairs import read_pairs

    pairs = read_pairs(pairs_file, images)
    missing = [p for p in pairs.images if not p.is_file()]
    if missing:
        raise LrfaceError(f"{len(missing)} image(s) of the pairs file are missing, e.g. {missing[0]}")
    write_bin(out, pairs)
    click.echo(f"wrote {len(pairs)} pairs ({2 * len(pairs)} images) -> {out}")
