"""The LFW cross-resolution identification benchmark, written to a folder (scored by
``lrface.eval.id_benchmark``).

Rule (``make_lfw_benchmark``): LFW people with >= 2 images, a seeded sample of ``identities`` of
them; gallery = each person's first image (aligned crop, full resolution); probes = the next
``probes_per_id`` images, each reduced to every probe size r (px of a 112 px crop) with a
realistic chain: Gaussian blur (sigma ~ U(0.3, 1.0) at full size), bicubic antialiased
downsampling, Gaussian noise (sd ~ U(0, 0.02)) and JPEG compression (quality ~ U(50, 90)).
Written as PNGs: ``gallery/<name>/<file>.png`` and ``probes/<r>/<name>/<file>.png``.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from ..atomic import atomic_write_bytes, atomic_write_text
from ..data.facecache import aligned_crops
from ..data.lfw import lfw_dir
from ..degrade import target_size
from ..degrade.realistic import _conv, gaussian_kernel

SIZES = (8, 12, 16, 20, 24)


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def realistic_lr(chip: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Blur, downsample to ``size`` x ``size``, add noise, JPEG-compress (uint8 in and out)."""
    x = torch.from_numpy(chip).permute(2, 0, 1)[None].float() / 255
    x = _conv(x, gaussian_kernel(float(rng.uniform(0.3, 1.0))))
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bicubic", antialias=True, align_corners=False)
    x = x + float(rng.uniform(0, 0.02)) * torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32))
    arr = (x.clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=int(rng.integers(50, 91)))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def make_lfw_benchmark(out: Path, sizes: Sequence[int] = SIZES, identities: int = 100, probes_per_id: int = 2,
                       seed: int = 0, style: str = "dlib", crop: int = 150, data_root: str | None = None) -> dict:
    """Write the benchmark folder (see module doc); returns its manifest."""
    people = [p for p in sorted((lfw_dir(data_root) / "lfw-deepfunneled").iterdir())
              if p.is_dir() and len(list(p.glob("*.jpg"))) >= 2]
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(people), size=min(identities, len(people)), replace=False).tolist())
    gallery, probes = [], []
    for i in chosen:
        files = sorted(people[i].glob("*.jpg"))
        gallery.append(files[0])
        probes += files[1 : 1 + probes_per_id]
    cs = aligned_crops(gallery + probes, style, crop)
    for j, f in enumerate(gallery):
        atomic_write_bytes(out / "gallery" / f.parent.name / f"{f.stem}.png", _png(cs.crops[j]))
    for j, f in enumerate(tqdm(probes, desc="probes", unit="img")):
        chip = cs.crops[len(gallery) + j]
        for r in sizes:
            s = target_size(r, style, crop)[0]
            atomic_write_bytes(out / "probes" / str(r) / f.parent.name / f"{f.stem}.png", _png(realistic_lr(chip, s, rng)))
    manifest = {"sizes": list(sizes), "identities": len(chosen), "gallery": len(gallery), "probes": len(probes),
                "probes_per_id": probes_per_id, "seed": seed, "style": style, "crop": crop,
                "rule": __doc__.split("Rule", 1)[1].split("Written", 1)[0].strip()}
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1))
    return manifest
