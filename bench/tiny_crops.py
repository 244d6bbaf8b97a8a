"""Decisions on tiny face crops cut from real detector boxes, per model: how often each answer is given.

    python bench/tiny_crops.py [--models dlib_routed,mbf_routed,sface_routed] [--pairs 150] [--widths 12,16,24]

LFW View 1 pairsDevTest: for the first N genuine and N impostor pairs, the second image's face is
found by CenterFace (what `lrface detect` and `scan` give a user), its box is cut out and shrunk,
keeping its aspect ratio, to a width of 12 / 16 / 24 px (a face far from a camera), and `verify
tiny.png photo.jpg --crop-a tight` decides it against the first image at the default FAR. Unlike
the LFW tables, nothing here is aligned by landmarks of the small face: the crop is framed as a
detector box, as real tiny captures are. Reported per model and width: genuine pairs answered
"same" / "different" (a wrong answer) / "cannot decide", impostor pairs answered "same" (a wrong
name) / "different" / "cannot decide".
"""
from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image


def shares(c: Counter) -> str:
    """% of the pairs answered same / different / cannot decide."""
    total = max(sum(c.values()), 1)
    return " / ".join(f"{100 * c[k] / total:.1f}" for k in ("same person", "different person", "cannot decide"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", default="dlib_routed,mbf_routed,sface_routed")
    ap.add_argument("--pairs", type=int, default=150, help="genuine and impostor pairs each")
    ap.add_argument("--widths", default="12,16,24")
    args = ap.parse_args()
    from lrface.align import detect_faces
    from lrface.data.pairs import read_pairs
    from lrface.errors import LrfaceError
    from lrface.imageio import load_image
    from lrface.paths import data_root
    from lrface.recognize.routing import load_recognizer

    lfw = data_root() / "lfw"
    ps = read_pairs(lfw / "pairsDevTest.txt", lfw / "lfw-deepfunneled")
    chosen = [i for s in (1, 0) for i in np.flatnonzero(ps.same == s)[: args.pairs]]
    widths = [int(w) for w in args.widths.split(",")]
    tmp = Path(tempfile.mkdtemp())
    crops: dict[tuple[int, int], Path] = {}
    for i in chosen:
        rgb = load_image(ps.images[ps.right[i]])
        faces = detect_faces(rgb, "centerface")
        if not faces:
            continue
        l, t, r, b = (int(round(v)) for v in faces[0].box)
        box = rgb[max(t, 0):b, max(l, 0):r]
        for w in widths:
            h = max(1, round(w * box.shape[0] / box.shape[1]))
            crops[(i, w)] = tmp / f"{i}_{w}.png"
            Image.fromarray(box).resize((w, h), Image.Resampling.BICUBIC).save(crops[(i, w)])
    print("| model | width | genuine: same / different (wrong) / cannot decide "
          "| impostor: same (wrong name) / different / cannot decide |")
    print("|---|---|---|---|")
    for m in [m.strip() for m in args.models.split(",") if m.strip()]:
        rec = load_recognizer(m, device="cpu")
        for w in widths:
            count: dict[int, Counter] = {1: Counter(), 0: Counter()}
            for i in chosen:
                if (i, w) not in crops:
                    continue
                try:
                    v = rec.verify(crops[(i, w)], ps.images[ps.left[i]], framing_a="tight")
                    count[int(ps.same[i])][v.decision.split(" (")[0]] += 1
                except LrfaceError:
                    count[int(ps.same[i])]["error"] += 1
            print(f"| {m} | {w} | {shares(count[1])} | {shares(count[0])} |", flush=True)
    print(f"(LFW pairsDevTest, {len(chosen)} pairs, CenterFace boxes, % of pairs; errors: counted apart)")


if __name__ == "__main__":
    main()
