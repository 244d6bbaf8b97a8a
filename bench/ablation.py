"""Every recipe at one short, equal budget on the CelebA subset, each evaluated on the full 6,000
LFW pairs (HR, btm-stm low/mid/high/all_res, CR at 7/14/20 px); prints a markdown table.

    python bench/ablation.py [--steps 80] [--batch 32] [--recipes a,b,...] [--out out/ablation]

Equal budget = the same number of steps and global batch (the same training images); recipes
with more branches do more work per image. Finished runs are reused (delete a folder to redo it).
Besides the recipes, VARIANTS are a recipe plus overrides that test one claim of a paper each
(LogExp vs L1/L2, MAug vs one fixed LR resolution, shared classifier vs contrastive only,
triplet on vs off).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

RECIPES = ["baseline_hr", "baseline_randres", "siamese_k4", "bt_r", "bt_m", "st_r", "st_m1", "st_m2",
           "maug_logexp", "cs_mhl", "distill_lr", "distill_k4"]
_MAUG_DISTANCE = "terms=[{{name: distance, distance: {d}, p: 1, weight: 1.0, a: 0, b: 1}}]"
VARIANTS: dict[str, tuple[str, list[str]]] = {
    # Lai & Lam Table III: the Siamese network without the cross-resolution triplet loss.
    "siamese_k4-no_triplet": ("siamese_k4", ["terms=[]"]),
    # Ling et al.: the LogExp distance against plain L1 / L2 on the same MAug pipeline.
    "maug-l1": ("maug_logexp", [_MAUG_DISTANCE.format(d="l1")]),
    "maug-l2": ("maug_logexp", [_MAUG_DISTANCE.format(d="l2")]),
    # Ling et al.: MAug (7/14/20 at 1:1:2) against a single LR resolution in the LR branch.
    **{f"maug-fixed{r}": ("maug_logexp", [f"branches=[full, {{policy: fixed, r: {r}}}]"]) for r in (7, 14, 28, 56)},
    # Sun et al.: contrastive loss only (no classifier) vs shared classifier + contrastive, both without MHL.
    "cs-contrastive_only": ("cs_mhl", ["cls_weights=[0.0, 0.0]",
                                                "terms=[{name: contrastive, weight: 1.0, margin: 1.0, a: 0, b: 1}]"]),
    "cs-shared+contrastive": ("cs_mhl", ["terms=[{name: contrastive, weight: 1.0, margin: 1.0, a: 0, b: 1}]"]),
}
EVAL = ["-r", "7,14,20", "--modes", "cr", "-p", "btm-stm"]
COLUMNS = [("hr|112", "HR"), ("protocol|low_res", "low_res"), ("protocol|mid_res", "mid_res"),
           ("protocol|high_res", "high_res"), ("protocol|all_res", "all_res"), ("cr|7", "CR 7"),
           ("cr|14", "CR 14"), ("cr|20", "CR 20")]


def lrface(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "lrface", *args], check=True, stderr=subprocess.DEVNULL)


def evaluate(out: Path, label: str, weights: Path | None) -> dict[str, float]:
    res = out / "eval" / "results.json"
    if not res.is_file():
        extra = ["--weights", str(weights)] if weights else []
        lrface("eval", *EVAL, *extra, "--label", label, "--out", str(out / "eval"))
    rows = json.loads(res.read_text())["results"]
    return {f"{r['mode']}|{r['resolution']}": 100 * r["accuracy"] for r in rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=80)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--recipes", default=",".join(RECIPES + list(VARIANTS)), help="recipes and/or VARIANTS names")
    ap.add_argument("--out", default="out/ablation")
    ap.add_argument("--report-only", action="store_true", help="print the table of finished runs, train nothing")
    args = ap.parse_args()
    root = Path(args.out)
    table = [("pretrained dlib_resnet (no training)", evaluate(root / "pretrained", "dlib_resnet", None), 0.0)]
    for recipe in args.recipes.split(","):
        out = root / recipe
        seconds_file = out / "train_seconds.txt"
        if args.report_only and not (out / "eval" / "results.json").is_file():
            continue
        if not (out / "model.safetensors").is_file():
            t0 = time.perf_counter()
            base, extra = VARIANTS.get(recipe, (recipe, []))
            lrface("train", base, *extra, f"schedule.steps={args.steps}", f"batch_size={args.batch}",
                   "schedule.warmup_steps=10", f"output={out}")
            seconds_file.write_text(f"{time.perf_counter() - t0:.0f}\n")
        table.append((recipe, evaluate(out, recipe, out / "model.safetensors"), float(seconds_file.read_text())))
        print(f"done {recipe}", file=sys.stderr)
    print(f"| recipe ({args.steps} steps x {args.batch}) | " + " | ".join(c for _, c in COLUMNS) + " | train s |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for name, m, secs in table:
        print(f"| {name} | " + " | ".join(f"{m[k]:.2f}" for k, _ in COLUMNS) + f" | {secs:.0f} |")


if __name__ == "__main__":
    main()
