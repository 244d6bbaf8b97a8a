"""The meet-in-the-middle ablation in the order of Grm et al. Table 2, on the LFW identification
benchmark (made first if missing), for one backbone; prints rank-1 / rank-5 per probe size.

    python bench/mitm_ablation.py [--model dlib_resnet] [--identities 300] [--bench out/lfw-id300]

The last rows add the LR expert (``--expert dlib_lr150``, same embedding space): alone on the
bicubic probe, and mixed into the full pipeline's score (weight 0.5).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from lrface import Recognizer
from lrface.eval.id_benchmark import evaluate_benchmark, load_gallery
from lrface.make.id_benchmark import make_lfw_benchmark
from lrface.search import MitmConfig, MitmMatcher, mitm_scores, plain_scores, resize, to_tensor

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
FULL = STEPS[5][1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="dlib_resnet")
    ap.add_argument("--identities", type=int, default=300)
    ap.add_argument("--expert", default="dlib_lr150", help="LR expert for the last rows ('' to skip)")
    ap.add_argument("--probes-per-id", type=int, default=1)
    ap.add_argument("--bench", default="out/lfw-id300")
    ap.add_argument("--out", default="out/mitm-ablation.json")
    ap.add_argument("--hypotheses", default="mean", choices=["mean", "select", "all"],
                    help="how the 16 probe hypotheses per scale are combined")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--expert-only", action="store_true", help="only the baseline and the LR expert rows")
    ap.add_argument("--sigma-max", type=float, default=1.0, help="largest blur sigma of the probe hypotheses")
    ap.add_argument("--rows", type=int, default=len(STEPS), help="only the first N rows of Table 2")
    ap.add_argument("--weights", default=None, help="safetensors weights of --model (default: its pretrained ones)")
    args = ap.parse_args()
    root = Path(args.bench)
    if not (root / "manifest.json").is_file():
        make_lfw_benchmark(root, identities=args.identities, probes_per_id=args.probes_per_id)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False  # GPU runs in true fp32
    rec = Recognizer(args.model, weights=args.weights, device=args.device)
    crops, keys, labels = load_gallery(root)
    rows = []
    steps: list[tuple[str, Callable]] = []
    for name, cfg in STEPS[:1] if args.expert_only else STEPS[: args.rows]:
        if cfg is None:
            steps.append((name, lambda probes, g, k, px: plain_scores(rec, probes, g)))
        else:
            m = MitmMatcher(rec, MitmConfig(**cfg, hypotheses=args.hypotheses, sigma_max=args.sigma_max))
            steps.append((name, lambda probes, g, k, px, m=m: mitm_scores(m, probes, g, k, px)))
    if args.expert:
        expert = Recognizer(args.expert, device=args.device)
        steps.append((f"LR expert {args.expert} alone (bicubic probe)",
                      lambda probes, g, k, px: cross_scores(expert, rec, probes, g)))
        m = MitmMatcher(rec, MitmConfig(**FULL, hypotheses=args.hypotheses, sigma_max=args.sigma_max), expert=expert)
        steps.append(("full pipeline + LR expert (weight 0.5)", lambda probes, g, k, px, m=m: mitm_scores(m, probes, g, k, px)))
    for name, fn in steps:
        t0 = time.perf_counter()
        res = evaluate_benchmark(root, fn, crops, keys, labels)
        rows.append({"step": name, "seconds": time.perf_counter() - t0,
                     "results": [{"size": r.size, **r.rank, "sub_rank1": r.sampled_mean["rank1"],
                                  "sub_rank1_std": r.sampled_std["rank1"]} for r in res]})
        print(f"{name:45s} " + "  ".join(f"{r.size:>2d}px {100 * r.rank['rank1']:5.1f}/{100 * r.rank['rank5']:5.1f}"
                                          for r in res) + f"   ({rows[-1]['seconds']:.0f} s)", flush=True)
    if args.rows < len(STEPS):
        return
    latency = measure_latency(rec, root, crops, keys, args.hypotheses)
    print(f"full MITM, {len(keys)}-identity gallery: gallery templates {latency['gallery_s']:.1f} s once per probe size, "
          f"then {1000 * latency['probe_s']:.0f} ms per probe (plain: {1000 * latency['plain_s']:.1f} ms per probe)")
    Path(args.out).write_text(json.dumps({"model": args.model, "expert": args.expert, "hypotheses": args.hypotheses,
                                          "device": str(rec.device), "bench": str(root), "rows": rows, "latency": latency},
                                         indent=1))


def cross_scores(expert: Recognizer, hr: Recognizer, probes: list[np.ndarray], gallery: np.ndarray) -> np.ndarray:
    """LR expert on the bicubic-upsampled probes vs the HR expert on the gallery (one space)."""
    x = torch.cat([resize(to_tensor(p[None]), expert.input_size[0]) for p in probes])
    return expert.embed_crops(x) @ hr.embed_crops(gallery).T


def measure_latency(rec: Recognizer, root: Path, crops, keys, hypotheses: str, size: int = 16, n: int = 20
                    ) -> dict[str, float]:
    """Gallery build time (uncached) and per-probe time of the full MITM pipeline at one probe size."""
    from lrface.data.identities import read_identity_folders
    from lrface.imageio import load_image

    probes = [load_image(p, max_side=None) for p in read_identity_folders(root / "probes" / str(size)).images[:n]]
    matcher = MitmMatcher(rec, MitmConfig(**FULL, hypotheses=hypotheses), cache=False)
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
