"""Closed-set identification: HR gallery (one image per identity) against probes at resolution r."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.identities import IdentificationSplit, IdentityDataset
from ..degrade import REFERENCE, Resolution, resolution_label
from ..metrics import cmc
from ..recognize.embeddings import Embedder

RANKS = (1, 5, 10, 20)


@dataclass
class IdentificationResult:
    resolution: str
    cmc: dict[str, float]  # rank-k over all probes
    sampled_mean: dict[str, float]  # repeated random sub-sampling of subjects
    sampled_std: dict[str, float]
    n_gallery: int
    n_probes: int


def subsampled_cmc(sim: np.ndarray, probe_labels: np.ndarray, gallery_labels: np.ndarray, subjects: int,
                   repeats: int, seed: int, max_rank: int) -> np.ndarray:
    """CMC curves of ``repeats`` random draws of ``subjects`` identities (gallery and probes
    restricted to them): shape (repeats, max_rank)."""
    rng = np.random.default_rng(seed)
    ids = np.unique(gallery_labels)
    k = min(subjects, len(ids))
    curves = []
    for _ in range(repeats):
        chosen = rng.choice(ids, size=k, replace=False)
        g = np.isin(gallery_labels, chosen)
        p = np.isin(probe_labels, chosen)
        curves.append(cmc(sim[np.ix_(p, g)], probe_labels[p], gallery_labels[g], max_rank))
    return np.array(curves)


def evaluate_identification(embedder: Embedder, ds: IdentityDataset, split: IdentificationSplit,
                            r: Resolution, subjects: int = 80, repeats: int = 10, seed: int = 0) -> IdentificationResult:
    """Rank-1/5/10/20 for probes reduced to ``r`` against the full-resolution gallery."""
    used = np.concatenate([split.gallery, split.probes])
    cs = embedder.crops([ds.images[i] for i in used])
    pos = {int(i): j for j, i in enumerate(used)}
    eg = embedder.embed(cs, np.array([pos[int(i)] for i in split.gallery]), REFERENCE, desc="gallery")
    ep = embedder.embed(cs, np.array([pos[int(i)] for i in split.probes]), r, desc=f"probes r={resolution_label(r)}")
    gl, pl = ds.labels[split.gallery], ds.labels[split.probes]
    sim = ep @ eg.T
    max_rank = max(RANKS)
    full = cmc(sim, pl, gl, max_rank)
    sub = subsampled_cmc(sim, pl, gl, subjects, repeats, seed, max_rank)
    key = lambda k: f"rank{k}"  # noqa: E731
    return IdentificationResult(
        resolution_label(r),
        {key(k): float(full[k - 1]) for k in RANKS},
        {key(k): float(sub[:, k - 1].mean()) for k in RANKS},
        {key(k): float(sub[:, k - 1].std()) for k in RANKS},
        len(split.gallery), len(split.probes),
    )
