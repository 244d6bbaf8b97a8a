"""One table of backbones beside dlib: LFW 6,000 pairs (10-fold, btm-stm), speed and licence.

    python bench/backbones.py [--models dlib_routed,dlib_resnet,mbf_w600k,sface] [--folds N]

For each model, `lrface eval -m MODEL -r 7,14,20 --modes cr -p btm-stm --json` (HR, the four
btm-stm protocols, CR at 7/14/20 px: HR image vs the other reduced), then the HR network's
faces/s at batch 32 on aligned crops on onnxruntime (the CPU default) and in PyTorch, all models
measured side by side in this one run after a warm-up, and the licence of the weights (`lrface models`).
`--speed-only` skips the accuracy columns.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

COLUMNS = (("HR", "hr", "112"), ("low", "protocol", "low_res"), ("mid", "protocol", "mid_res"),
           ("high", "protocol", "high_res"), ("all", "protocol", "all_res"), ("CR7", "cr", "7"),
           ("CR14", "cr", "14"), ("CR20", "cr", "20"))


def accuracy_row(model: str, folds: int | None) -> dict[str, float]:
    cmd = [sys.executable, "-m", "lrface", "eval", "-m", model, "-r", "7,14,20", "--modes", "cr", "-p", "btm-stm",
           "--json", "-o", f"out/backbones/{model}"] + (["--folds", str(folds)] if folds else [])
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{model}: eval failed: {out.stderr.strip().splitlines()[-1:]}")
    rows = json.loads(out.stdout)["results"]
    found = {}
    for name, mode, res in COLUMNS:
        hit = [r for r in rows if r["mode"] == mode and r["resolution"] == res] or \
            [r for r in rows if mode == "protocol" and res in r["resolution"]]
        found[name] = 100 * hit[0]["accuracy"] if hit else float("nan")
    return found


@torch.inference_mode()
def faces_per_second(models: list[str], n: int = 256, batch: int = 32) -> dict[str, dict[str, float]]:
    """HR network's faces/s on each runtime (PyTorch eager, onnxruntime), measured in turn after a warm-up."""
    from lrface.models.published import read_manifest
    from lrface.recognize.recognizer import Recognizer

    manifest = read_manifest()
    rates: dict[str, dict[str, float]] = {}
    for m in models:
        hr_name = manifest.get(m, {}).get("hr", m)  # a routed model's HR network, else the model itself
        rates[m] = {}
        for runtime in ("torch", "onnx"):
            hr = Recognizer(hr_name, device="cpu", batch_size=batch, runtime=runtime)
            x = np.random.default_rng(0).integers(0, 255, (n, hr.input_size[0], hr.input_size[0], 3), dtype=np.uint8)
            hr.embed_crops(x[:batch])  # warm-up (and the one-off export for onnx)
            t0 = time.perf_counter()
            hr.embed_crops(x)
            rates[m][runtime] = n / (time.perf_counter() - t0)
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", default="dlib_routed,dlib_resnet,mbf_w600k,sface")
    ap.add_argument("--folds", type=int, default=None, help="first N folds only (quick look)")
    ap.add_argument("--speed-only", action="store_true", help="skip the LFW accuracy columns")
    args = ap.parse_args()
    from lrface.models.shipped import licence_of

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    acc = {m: ({} if args.speed_only else accuracy_row(m, args.folds)) for m in models}
    speed = faces_per_second(models)
    cols = [] if args.speed_only else [c[0] for c in COLUMNS]
    head = "".join(f" {c} |" for c in cols)
    print(f"| model |{head} faces/s onnxruntime | faces/s PyTorch | ratio | licence |")
    print("|---" * (len(cols) + 5) + "|")
    for m in models:
        cells = "".join(f" {acc[m][c]:.2f} |" for c in cols)
        s = speed[m]
        print(f"| {m} |{cells} {s['onnx']:.0f} | {s['torch']:.0f} | {s['onnx'] / s['torch']:.2f}x | {licence_of(m).short()} |")
    print(f"({Path.cwd().name}: {torch.get_num_threads()} threads; LFW View 2, 10-fold unless --folds)")


if __name__ == "__main__":
    main()
