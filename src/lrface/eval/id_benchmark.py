"""Scoring identification on the LFW cross-resolution benchmark (``lrface.make.id_benchmark``
writes it): rank-k and repeated random sub-sampling per probe size."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..data.facecache import content_key
from ..data.identities import read_identity_folders
from ..errors import LrfaceError
from ..imageio import load_image
from ..metrics import cmc
from .identification import RANKS, subsampled_cmc


@dataclass
class IdResult:
    size: int
    rank: dict[str, float]
    sampled_mean: dict[str, float]
    sampled_std: dict[str, float]
    n_probes: int


def evaluate_benchmark(root: Path, score_fn: Callable[[list[np.ndarray], np.ndarray, list[str], int], np.ndarray],
                       gallery_crops: np.ndarray, gallery_keys: list[str], gallery_labels: np.ndarray,
                       sizes: Sequence[int] | None = None, subjects: int = 80, repeats: int = 10,
                       seed: int = 0) -> list[IdResult]:
    """Rank-k and repeated random sub-sampling for each probe size. ``score_fn(probes, gallery_crops,
    gallery_keys, probe_px) -> (P, G)`` similarities."""
    manifest = json.loads((root / "manifest.json").read_text())
    names = sorted(p.name for p in (root / "gallery").iterdir())
    label_of = {n: i for i, n in enumerate(names)}
    out = []
    for r in sizes or manifest["sizes"]:
        ds = read_identity_folders(root / "probes" / str(r))
        probes = [load_image(p, max_side=None) for p in ds.images]
        plabels = np.array([label_of[ds.names[lab]] for lab in ds.labels])
        sim = score_fn(probes, gallery_crops, gallery_keys, probes[0].shape[0])
        curve = cmc(sim, plabels, gallery_labels, max(RANKS))
        sub = subsampled_cmc(sim, plabels, gallery_labels, subjects, repeats, seed, max(RANKS))
        out.append(IdResult(int(r), {f"rank{k}": float(curve[k - 1]) for k in RANKS},
                            {f"rank{k}": float(sub[:, k - 1].mean()) for k in RANKS},
                            {f"rank{k}": float(sub[:, k - 1].std()) for k in RANKS}, len(probes)))
    return out


def load_gallery(root: Path) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Gallery crops (already aligned PNGs), content keys and labels."""
    ds = read_identity_folders(root / "gallery")
    if not ds.images:
        raise LrfaceError(f"empty gallery under {root}")
    crops = np.stack([load_image(p, max_side=None) for p in ds.images])
    return crops, [content_key(p) for p in ds.images], ds.labels
