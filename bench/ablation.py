"""Every recipe at one short, equal budget on the CelebA subset, each evaluated on the full 6,000
LFW pairs (HR, btm-stm low/mid/high/all_res, CR at 7/14/20 px); prints a markdown table.

    python bench/ablation.py [--steps 150] [--batch 32] [--recipes a,b,...] [--out out/ablation]

Equal budget = the same number of steps and global batch (the same training images); recipes
with more branches do more work per image. Finished runs are reused (delete a folder to redo it).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

RECIPES = ["baseline_hr", "baseline_randres", "siamese_k4", "bt_r", "bt_m", "st_r", "st_m1", "st_m2",
           "maug_logexp", "cs_mhl", "distill_lr"]
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
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--recipes", default=",".join(RECIPES))
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
            lrface("train", recipe, f"schedule.steps={args.steps}", f"batch_size={args.batch}",
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
