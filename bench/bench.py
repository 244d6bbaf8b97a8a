"""`make bench`: speed of the PyTorch rebuild vs dlib's own descriptor, side by side in one run.

Prints faces/s for the rebuild at batch 1 and 32 and for dlib.compute_face_descriptor on the
same aligned chips, and their ratios. Later sections (evaluation sweep) are appended by other
benchmarks; run `python bench/bench.py --only backbone` for this one alone.
"""
from __future__ import annotations

import argparse
import os
import sys
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


def bench_experts(n: int = 64) -> None:
    """LR experts side by side at batch 32 on 12 px faces: the native-resolution lrnet32 (32 px input,
    untrained weights: speed does not depend on them) vs the 150 px dlib copy (dlib_lr150)."""
    from lrface import Recognizer
    from lrface.degrade import Reduce
    from lrface.degrade.lowres import to_input

    x = torch.from_numpy(lfw_chips(n)).permute(0, 3, 1, 2).float().div(255)
    small = Reduce().down(x, 12, "dlib")
    import tempfile

    from safetensors.torch import save_file

    from lrface import create_model

    with tempfile.TemporaryDirectory() as d:  # speed does not depend on the weights' values
        save_file(create_model("lrnet32", pretrained=False).state_dict(), f"{d}/lrnet32.safetensors")
        lrnet = Recognizer("lrnet32", weights=f"{d}/lrnet32.safetensors", device="cpu", batch_size=32)
    big = Recognizer("dlib_lr150", device="cpu", batch_size=32)
    r_native = rate(lambda: lrnet.embed_crops(to_input(small, lrnet.input_size[0])), len(x))
    r_150 = rate(lambda: big.embed_crops(to_input(small, big.input_size[0])), len(x))
    print(f"LR experts at batch 32 on 12 px LFW faces, {torch.get_num_threads()} threads")
    print(f"  lrnet32 (32 px input)     : {r_native:8.1f} faces/s")
    print(f"  dlib_lr150 (150 px input) : {r_150:8.1f} faces/s")
    print(f"  ratio native / 150 px     : {r_native / r_150:.1f}x")


FULL_SWEEP = ["eval", "--dataset", "lfw", "-r", "5,6,7,8,10,12,14,16,20,24,28,40,56,112", "--modes", "cr,er",
              "-p", "btm-stm"]


def bench_sweep() -> None:
    """The full LFW sweep (14 resolutions, CR both orders + ER, 4 btm-stm protocols), run twice in
    one process against a fresh cache: cold (detect, align, embed everything), then warm."""
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


def lfw_embeddings() -> tuple[np.ndarray, np.ndarray]:
    """dlib_resnet embeddings of the LFW View 2 images (cached) and their identity ids."""
    from lrface import Recognizer
    from lrface.data.lfw import lfw_pairs
    from lrface.degrade import Reduce
    from lrface.recognize.embeddings import Embedder

    pairs = lfw_pairs()
    embedder = Embedder(Recognizer("dlib_resnet"), Reduce(), progress=False)
    emb = embedder.embed(embedder.crops(pairs.images), np.arange(len(pairs.images)), 112)
    people = [Path(p).parent.name for p in pairs.images]
    ids = {n: i for i, n in enumerate(sorted(set(people)))}
    return emb.astype(np.float32), np.array([ids[n] for n in people])


def synthetic_gallery(real: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` realistic templates: random mixtures of two real embeddings plus noise at the spread
    of same-person variation, L2-normalised (they fill the embedding space like real people)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        a, b = real[rng.integers(0, len(real), m)], real[rng.integers(0, len(real), m)]
        t = rng.uniform(0.2, 0.8, (m, 1)).astype(np.float32)
        x = t * a + (1 - t) * b + rng.normal(0, 0.05, (m, real.shape[1])).astype(np.float32)
        out[s:s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def bench_gallery(n: int = int(os.environ.get("LRFACE_BENCH_GALLERY", 1_000_000)), n_probes: int = 1000) -> None:
    """1:N search in a gallery of ``n`` identities (real LFW people + synthetic templates): build time,
    latency per probe (batched queries) and recall@1 against the exact index, per index type."""
    import resource

    import faiss

    from lrface.search.gallery import Gallery

    real, ids = lfw_embeddings()
    first = {}
    for i, k in enumerate(ids):
        first.setdefault(k, i)
    enrolled = np.array(sorted(first.values()))  # one real photo per LFW person is enrolled...
    probes = np.array([i for i in range(len(ids)) if i not in set(enrolled.tolist())])[:n_probes]  # ...others probe
    templates = np.concatenate([real[enrolled], synthetic_gallery(real, n - len(enrolled))])
    print(f"gallery: {len(templates):,} identities ({len(enrolled)} real LFW people), {len(probes)} real LFW probes, "
          f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads")
    q = real[probes]
    exact = None
    print(f"{'index':24s} {'build s':>8s} {'ms/probe':>9s} {'ms single':>9s} {'recall@1':>9s} {'top1 right':>10s} "
          f"{'RSS GiB':>8s}")
    for kind, params in (("flat", {}), ("ivf", {"nprobe": 16}), ("ivf", {"nprobe": 64}),
                         ("hnsw", {"ef_search": 64}), ("hnsw", {"ef_search": 128})):
        g = Gallery("dlib_resnet", "bench", templates.shape[1], index_kind=kind, index_params=params)
        g.names = [str(i) for i in range(len(templates))]
        g.emb, g.ident = templates, np.arange(len(templates))
        g.r, g.quality = np.full(len(templates), 112, np.float32), np.ones(len(templates), np.float32)
        t0 = time.perf_counter()
        index = g.index("templates")
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, top = index.search(np.ascontiguousarray(q), 1)
        per = 1000 * (time.perf_counter() - t0) / len(q)
        top = top[:, 0]
        if exact is None:
            exact = top
        right = np.mean([t < len(enrolled) and ids[enrolled[t]] == ids[p] for t, p in zip(top, probes)])
        t0 = time.perf_counter()
        for row in q[:100]:
            index.search(row[None], 1)
        single = 1000 * (time.perf_counter() - t0) / min(100, len(q))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        label = kind + "".join(f" {k}={v}" for k, v in params.items())
        print(f"{label:24s} {build:8.1f} {per:9.3f} {single:9.3f} {np.mean(top == exact):9.4f} {right:10.3f} {rss:8.2f}")


def bench_detect(images: int = 100, frames: int = 60) -> None:
    """Small-face detectors on the seeded benchmark (recall / precision / eye error per IOD, ms per
    640x480 image, side by side in one run), then `scan` speed on the test video: frames/s with
    detection on every frame, and the share of the time spent detecting."""
    from lrface.align import detect_faces
    from lrface.eval.detection import evaluate_detector
    from lrface.make.detection import make_detection_benchmark
    from lrface.make.video import make_test_video
    from lrface.recognize.routing import load_recognizer
    from lrface.search.gallery import enroll, identity_items, new_gallery
    from lrface.video.scan import iter_frames, scan

    root = Path("out/detect-bench")
    if not (root / "truth.json").is_file():
        make_detection_benchmark(root, images=images)
    for det in ("centerface", "scrfd", "yunet8", "yunet", "hog"):
        r = evaluate_detector(root, det, progress=False)
        print(f"detect {det:10s} precision {r.precision_all:.3f}, {r.ms_per_image:.0f} ms/image; recall by IOD " +
              " ".join(f"{s}:{v:.2f}" for s, v in zip(r.sizes, r.recall)))
    demo = Path("out/scan-demo")
    if not (demo / "video.avi").is_file():
        make_test_video(demo, frames=frames)
    frames_it, _, _ = iter_frames(demo / "video.avi")
    rgb = [f for _, f in frames_it]
    for det in ("centerface", "yunet8"):  # the small-face default, and the fast detector
        rec = load_recognizer(detector=det)
        g = new_gallery(rec)
        enroll(g, rec, identity_items(str(demo / "gallery")), progress=False)
        t0 = time.perf_counter()
        for f in rgb:
            detect_faces(f, det)
        det_s = time.perf_counter() - t0
        cold = scan(demo / "video.avi", rec, g)  # the first run includes the networks' one-time warm-up
        res = scan(demo / "video.avi", rec, g)
        named = sorted({t.result.identity for t in res.tracks if t.result and t.result.identity})
        print(f"{det}: scan {len(rgb)} frames 640x480: {res.frames / res.seconds:.1f} frames/s with detection on every "
              f"frame (first run, with warm-up: {cold.frames / cold.seconds:.1f}); detection alone "
              f"{len(rgb) / det_s:.1f} frames/s (ratio scan/detector {det_s / res.seconds:.2f}); "
              f"{len(res.tracks)} tracks, named {', '.join(named)}")
    bench_crossing(load_recognizer(detector="centerface"))


def bench_crossing(rec, frames: int = 40, people: int = 4, seed: int = 2) -> None:
    """The tracker's hard case: people crossing paths and occluding each other (make-test-video
    --crossing); purity, merged tracks and ID switches against the clip's truth."""
    import json

    from lrface.eval.tracking import track_metrics
    from lrface.make.video import make_test_video
    from lrface.search.gallery import enroll, identity_items, new_gallery
    from lrface.video.scan import scan

    root = Path("out/cross-bench")
    if not (root / "video.avi").is_file():
        make_test_video(root, frames=frames, people=people, seed=seed, crossing=True)
    truth = json.loads((root / "truth.json").read_text())
    g = new_gallery(rec)
    enroll(g, rec, identity_items(str(root / "gallery")), progress=False)
    res = scan(root / "video.avi", rec, g)
    m = track_metrics(res.to_dict(), truth)
    named = sorted(t.result.identity for t in res.tracks if t.result and t.result.identity)
    print(f"crossing clip ({people} people, {frames} frames): {m['tracks']} tracks, purity {m['purity']:.4f}, "
          f"{m['merged']} merged, {m['id_switches']} ID switches, tracks per person {m['fragments']}; "
          f"named {', '.join(named)}; {res.frames / res.seconds:.1f} frames/s")


def bench_crowd(people: tuple[str, ...] = ("Colin_Powell", "George_W_Bush", "Tony_Blair")) -> None:
    """A crowd photo (the crowd detection benchmark's first 4,000 x 3,000 canvas, 300 LFW faces at
    6-20 px IOD) against a gallery of three people enrolled from one other photo each, with every
    face identified by the default model at the default decision: right names, wrong names, and
    strangers named (the truth says whose photo each pasted face is)."""
    import json
    import tempfile

    from lrface.make.detection import make_detection_benchmark
    from lrface.recognize.routing import load_recognizer
    from lrface.search.gallery import Gallery, enroll, new_gallery

    root = Path("out/crowd-bench")
    stale = not (root / "truth.json").is_file() or \
        "person" not in json.loads((root / "truth.json").read_text())["truth"][0]["faces"][0]
    if stale:
        make_detection_benchmark(root, images=3, crowd=True)
    truth = json.loads((root / "truth.json").read_text())["truth"][0]["faces"]
    lfw = Path("../shared/datasets/lfw/lfw-deepfunneled")
    used = {f["person"] for f in truth}
    enrol_rec = load_recognizer()  # enrolment as `lrface gallery create` does it (dlib HOG landmarks)
    g = new_gallery(enrol_rec)
    enroll(g, enrol_rec, [(p, sorted((lfw / p).glob("*.jpg"))[0]) for p in people], progress=False)
    rec = load_recognizer(detector="scrfd")  # the crowd: tiled SCRFD
    with tempfile.TemporaryDirectory() as tmp:
        g.save(Path(tmp) / "g.lrg")
        g = Gallery.load(Path(tmp) / "g.lrg")
    t0 = time.perf_counter()
    faces = rec.prepare_all(str(root / "images" / "0000.jpg"))
    emb = rec.embed_assessed(faces)
    results = g.search(emb, [f.r for f in faces], rec, 1, faces=faces)
    seconds = time.perf_counter() - t0

    def who(box):  # noqa: ANN001, ANN202
        inside = [f for f in truth if box[0] <= np.mean(f["eyes"], 0)[0] <= box[2]
                  and box[1] <= np.mean(f["eyes"], 0)[1] <= box[3]]
        return inside[0]["person"] if inside else None

    truth_of = [who(f.box) for f in faces]
    right = sum(r.identity is not None and r.identity == p for r, p in zip(results, truth_of))
    wrong = sum(r.identity is not None and r.identity != p for r, p in zip(results, truth_of))
    strangers = [r for r, p in zip(results, truth_of) if p is not None and p not in people]
    undecided = sum(r.decision == "cannot decide" for r in results)
    print(f"crowd photo 4000x3000: {len(faces)} faces found of {len(truth)} ({sum(f['person'] in people for f in truth)} "
          f"are enrolled people, photo sources {len(used)}); named right {right}, named wrong {wrong}, strangers "
          f"named {sum(r.identity is not None for r in strangers)} of {len(strangers)}, cannot decide {undecided}; "
          f"{seconds:.0f} s")


def bench_serve() -> None:
    """`lrface serve` under load: concurrent enrolment and 8 clients identifying (bench/serve_load.py)."""
    import subprocess

    subprocess.run([sys.executable, str(Path(__file__).with_name("serve_load.py"))], check=True)


SECTIONS = {"detect": bench_detect, "crowd": bench_crowd, "backbone": bench_backbone, "experts": bench_experts,
            "train": bench_train, "sweep": bench_sweep, "gallery": bench_gallery, "serve": bench_serve}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", choices=sorted(SECTIONS), action="append")
    args = ap.parse_args()
    for name in args.only or list(SECTIONS):
        SECTIONS[name]()


if __name__ == "__main__":
    main()
