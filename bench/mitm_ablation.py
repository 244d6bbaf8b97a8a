"""The meet-in-the-middle ablation in the order of Grm et al. Table 2, on the LFW identification
benchmark (made first if missing), for one backbone; prints rank-1 / rank-5 per probe size.

    python bench/mitm_ablation.py [--model dlib_resnet] [--identities 100] [--bench out/lfw-id]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lrface import Recognizer
from lrface.match import MitmConfig, MitmMatcher, mitm_scores, plain_scores
from lrface.match.benchmark import evaluate_benchmark, load_gallery, make_lfw_benchmark

STEPS = [
    ("baseline (bicubic probe, cosine)", None),
    ("+SR x2, single hypothesis", dict(scales=(2,), sigmas=1, resolution_match=False, degradations=0, fusion="s_max")),
    ("+multi-hypothesis (16 sigmas)", dict(scales=(2,), sigmas=16, resolution_match=False, degradations=0, fusion="s_max")),
    ("+resolution matching", dict(scales=(2,), sigmas=16, resolution_match=True, degradations=0, fusion="s_max")),
    ("+gallery degradations (16 chains)", dict(scales=(2,), sigmas=16, resolution_match=True, degradations=16, fusion="s_max")),
    ("+multi-scale x2/x4/x8, S_max then S_add", dict(scales=(2, 4, 8), sigmas=16, resolution_match=True, degradations=16,
                                                     fusion="s_max_add")),
    ("  same, T_concat", dict(scales=(2, 4, 8), sigmas=16, resolution_match=True, degradations=16, fusion="t_concat")),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="dlib_resnet")
    ap.add_argument("--identities", type=int, default=100)
    ap.add_argument("--probes-per-id", type=int, default=1)
    ap.add_argument("--bench", default="out/lfw-id")
    ap.add_argument("--out", default="out/mitm-ablation.json")
    args = ap.parse_args()
    root = Path(args.bench)
    if not (root / "manifest.json").is_file():
        make_lfw_benchmark(root, identities=args.identities, probes_per_id=args.probes_per_id)
    rec = Recognizer(args.model, device="cpu")
    crops, keys, labels = load_gallery(root)
    rows = []
    for name, cfg in STEPS:
        t0 = time.perf_counter()
        if cfg is None:
            fn = lambda probes, g, k, px: plain_scores(rec, probes, g)  # noqa: E731
        else:
            matcher = MitmMatcher(rec, MitmConfig(**cfg))
            fn = lambda probes, g, k, px, m=matcher: mitm_scores(m, probes, g, k, px)  # noqa: E731
        res = evaluate_benchmark(root, fn, crops, keys, labels)
        rows.append({"step": name, "seconds": time.perf_counter() - t0,
                     "results": [{"size": r.size, **r.rank, "sub_rank1": r.sampled_mean["rank1"],
                                  "sub_rank1_std": r.sampled_std["rank1"]} for r in res]})
        print(f"{name:45s} " + "  ".join(f"{r.size:>2d}px {100 * r.rank['rank1']:5.1f}/{100 * r.rank['rank5']:5.1f}"
                                          for r in res) + f"   ({rows[-1]['seconds']:.0f} s)", flush=True)
    latency = measure_latency(rec, root, crops, keys)
    print(f"full MITM, {len(keys)}-identity gallery: gallery templates {latency['gallery_s']:.1f} s once per probe size, "
          f"then {1000 * latency['probe_s']:.0f} ms per probe (plain: {1000 * latency['plain_s']:.1f} ms per probe)")
    Path(args.out).write_text(json.dumps({"model": args.model, "bench": str(root), "rows": rows, "latency": latency},
                                         indent=1))


def measure_latency(rec: Recognizer, root: Path, crops, keys, size: int = 16, n: int = 20) -> dict[str, float]:
    """Gallery build time (uncached) and per-probe time of the full MITM pipeline at one probe size."""
    from lrface.data.identities import read_identity_folders
    from lrface.imageio import load_image

    probes = [load_image(p, max_side=None) for p in read_identity_folders(root / "probes" / str(size)).images[:n]]
    matcher = MitmMatcher(rec, MitmConfig(**STEPS[5][1]), cache=False)
    t0 = time.perf_counter()
    g = matcher.gallery_templates(crops, keys, probes[0].shape[0])
    t1 = time.perf_counter()
    for p in probes:
        matcher.scores(matcher.probe_templates(p), g)
    t2 = time.perf_counter()
    plain_scores(rec, probes, crops)
    t3 = time.perf_counter()
    return {"gallery_s": t1 - t0, "probe_s": (t2 - t1) / len(probes), "plain_s": (t3 - t2) / len(probes)}


if __name__ == "__main__":
    main()
