"""`make bench`: speed of the PyTorch rebuild vs dlib's own descriptor, side by side in one run.

Prints faces/s for the rebuild at batch 1 and 32 and for dlib.compute_face_descriptor on the
same aligned chips, and their ratios. Later sections (evaluation sweep) are appended by other
benchmarks; run `python bench/bench.py --only backbone` for this one alone.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch


def lfw_chips(n: int) -> np.ndarray:
    from lrface.data.facecache import aligned_crops
    from lrface.data.lfw import lfw_pairs

    images = lfw_pairs().images[:n]
    return aligned_crops(images, "dlib", 150, progress=False).crops


def rate(fn, n_items: int, min_seconds: float = 3.0) -> float:
    fn()  # warm-up
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_seconds:
        fn()
        done += n_items
    return done / (time.perf_counter() - t0)


def bench_backbone(n: int = 64) -> None:
    import dlib

    from lrface import Recognizer
    from lrface.paths import dlib_model_file

    chips = lfw_chips(n)
    rec = Recognizer("dlib_resnet", device="cpu", batch_size=32)
    fr = dlib.face_recognition_model_v1(str(dlib_model_file("dlib_face_recognition_resnet_model_v1.dat")))
    x = torch.from_numpy(chips).permute(0, 3, 1, 2).float().div(255)
    r32 = rate(lambda: rec.embed_crops(x), len(x))
    r1 = rate(lambda: [rec.embed_crops(x[i : i + 1]) for i in range(8)], 8)
    rd = rate(lambda: [fr.compute_face_descriptor(c) for c in chips[:8]], 8)
    ref = np.array([np.array(fr.compute_face_descriptor(c)) for c in chips])
    raw = rec.model(x.contiguous(memory_format=torch.channels_last)).detach().numpy()
    cos = (raw * ref).sum(1) / np.linalg.norm(raw, axis=1) / np.linalg.norm(ref, axis=1)
    print(f"backbone dlib_resnet on {len(chips)} LFW chips, {torch.get_num_threads()} threads, {torch.__version__}")
    print(f"  parity with dlib : max |diff| {np.abs(raw - ref).max():.2e}, min cosine {cos.min():.8f}")
    print(f"  pytorch batch 32 : {r32:8.1f} faces/s")
    print(f"  pytorch batch 1  : {r1:8.1f} faces/s")
    print(f"  dlib descriptor  : {rd:8.1f} faces/s")
    print(f"  ratio batch32/dlib {r32 / rd:.1f}x, batch1/dlib {r1 / rd:.1f}x")


FULL_SWEEP = ["eval", "--dataset", "lfw", "-r", "5,6,7,8,10,12,14,16,20,24,28,40,56,112", "--modes", "cr,er",
              "-p", "btm-stm"]


def bench_sweep() -> None:
    """The full LFW sweep (14 resolutions, CR both orders + ER, 4 btm-stm protocols), run twice in
    one process against a fresh cache: cold (detect, align, embed everything), then warm."""
    import os
    import subprocess
    import sys
    import tempfile

    out = Path("out/bench-sweep")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "LRFACE_CACHE": cache}
        times = []
        for label in ("cold", "warm"):
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "lrface", *FULL_SWEEP, "--out", str(out / label)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            times.append(time.perf_counter() - t0)
            if proc.returncode:
                print(f"sweep {label} failed (exit {proc.returncode})")
                return
        print(proc.stdout)
    print(f"full LFW sweep: cold cache {times[0]:.0f} s, warm cache {times[1]:.1f} s, ratio {times[0] / times[1]:.0f}x")


def bench_train(steps: int = 30, batch: int = 32) -> None:
    """Training throughput (image pairs/s: HR + LR view per sample, maug_logexp) on 1 and 2 CPU ranks,
    timed from the first to the last logged step (start-up and data loading excluded)."""
    import csv
    import os
    import subprocess
    import sys
    import tempfile

    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1, 2):
            out = Path(tmp) / f"r{n}"
            args = ["maug_logexp", f"schedule.steps={steps}", f"batch_size={batch}", "log_every=1", "device=cpu",
                    f"output={out}"]
            env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 2) // n))}
            cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(n), "--master_port",
                   str(29600 + n), "-m", "lrface", "train", *args]
            proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if proc.returncode:
                print(f"train bench with {n} rank(s) failed (exit {proc.returncode})")
                return
            rows = list(csv.DictReader(open(out / "log.csv")))
            secs = float(rows[-1]["seconds"]) - float(rows[4]["seconds"])
            rates[n] = (len(rows) - 5) * batch / secs
    print(f"training maug_logexp, global batch {batch}: 1 rank {rates[1]:.1f} pairs/s, 2 ranks {rates[2]:.1f} pairs/s, "
          f"ratio {rates[2] / rates[1]:.2f}x ({os.cpu_count()} cores)")


SECTIONS = {"backbone": bench_backbone, "train": bench_train, "sweep": bench_sweep}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", choices=sorted(SECTIONS), action="append")
    args = ap.parse_args()
    for name in args.only or list(SECTIONS):
        SECTIONS[name]()


if __name__ == "__main__":
    main()
