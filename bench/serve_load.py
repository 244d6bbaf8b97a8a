"""Load and concurrency of `lrface serve` (make bench, section "serve"): one server process, many
clients at once.

    python bench/serve_load.py [--clients 8] [--requests 400] [--model dlib_resnet]

1. Enrolment: 8 clients enrol 5 LFW people each at once (40 identities, 2 photos each) into one
   gallery: every identity must be present afterwards (none lost to a concurrent writer).
2. Identification of aligned crops (150 px dlib chips, `crop=dlib`): CLIENTS threads send
   REQUESTS identify requests in all; requests/s over the wall time, p50 / p99 latency.
Prints the machine's core count beside the numbers.
"""
from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from lrface.data.facecache import aligned_crops
from lrface.data.lfw import lfw_dir
from lrface.service.client import Client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--model", default=None, help="server model (default: lrface's default)")
    args = ap.parse_args()
    root = lfw_dir(None) / "lfw-deepfunneled"
    people = [p for p in sorted(root.iterdir()) if p.is_dir() and len(list(p.glob("*.jpg"))) >= 3][:40]
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "lrface", "serve", "--port", str(port), "--galleries", tmp]
        server = subprocess.Popen(cmd + (["-m", args.model] if args.model else []), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env={**os.environ})
        client = Client(f"http://127.0.0.1:{port}")
        try:
            for _ in range(600):
                try:
                    if client.get("/health")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.5)
            client.post("/galleries/load")
            t0 = time.perf_counter()

            def enrol(chunk: list[Path]) -> int:
                ok = 0
                for person in chunk:
                    files = sorted(person.glob("*.jpg"))[:2]
                    ok += client.post(f"/galleries/load/identities/{person.name}", files={"images": files})[0] == 200
                return ok

            with ThreadPoolExecutor(8) as ex:
                done = sum(ex.map(enrol, [people[k::8] for k in range(8)]))
            names = {i["name"] for i in client.get("/galleries/load/identities")[1]}
            print(f"enrolment: 8 clients, {len(people)} identities at once in {time.perf_counter() - t0:.1f} s: "
                  f"{done} requests ok, {len(names)} identities present, "
                  f"{len({p.name for p in people} - names)} lost")
            probes = [sorted(p.glob("*.jpg"))[2] for p in people]
            cs = aligned_crops(probes, "dlib", 150, progress=False)
            pngs = []
            for crop in cs.crops:
                buf = io.BytesIO()
                Image.fromarray(crop).save(buf, format="PNG")
                pngs.append(buf.getvalue())
            client.post("/galleries/load/identify", files={"image": pngs[0]}, data={"crop": "dlib"})  # warm-up

            def one(k: int) -> tuple[float, bool]:
                t = time.perf_counter()
                code, hits = client.post("/galleries/load/identify", files={"image": pngs[k % len(pngs)]},
                                         data={"crop": "dlib", "top_k": 3})
                return time.perf_counter() - t, code == 200 and hits[0].get("identity") == people[k % len(people)].name

            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as ex:
                res = list(ex.map(one, range(args.requests)))
            wall = time.perf_counter() - t0
            lat = np.array([r[0] for r in res]) * 1000
            print(f"identify (aligned 150 px crops, {len(names)} identities): {args.clients} clients, {args.requests} "
                  f"requests in {wall:.1f} s = {args.requests / wall:.1f} requests/s; "
                  f"latency p50 {np.percentile(lat, 50):.0f} ms, "
                  f"p99 {np.percentile(lat, 99):.0f} ms; named right {sum(r[1] for r in res)} of {len(res)}; "
                  f"{os.cpu_count()} CPU cores")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
