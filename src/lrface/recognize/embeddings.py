"""Embeddings of aligned crops at given resolutions, cached on disk.

Cache entries are keyed by the model's weight digest, the alignment (style, size, detector), the
degradation key (kernel, antialias, resolution) and the flip fusion, and within that by each
image's content hash. A rerun computes only what is missing; a corrupt cache file is recomputed.
"""
from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from tqdm import tqdm

from ..atomic import read_keyed_npz, update_keyed_npz
from ..data.facecache import CropSet, aligned_crops
from ..degrade import Reduce, Resolution, is_full
from ..errors import LrfaceError
from ..paths import cache_dir

if TYPE_CHECKING:
    from .recognizer import FaceRecognizer

log = logging.getLogger(__name__)
from ..defaults import FLIP_MODES  # noqa: E402,F401  (written once, in lrface.defaults)


class EmbeddingCache:
    """One npz per (model, config): content keys and float32 embeddings."""

    def __init__(self, model_id: str, root: Path | None = None, enabled: bool = True) -> None:
        self.dir = (root or cache_dir()) / "embeddings" / model_id
        self.enabled = enabled
        self._mem: dict[str, dict[str, np.ndarray]] = {}

    def _file(self, config: str) -> Path:
        return self.dir / f"{hashlib.sha1(config.encode()).hexdigest()[:20]}.npz"

    def table(self, config: str) -> dict[str, np.ndarray]:
        if config not in self._mem:
            self._mem[config] = read_keyed_npz(self._file(config), "emb", config) if self.enabled else {}
        return self._mem[config]

    def put(self, config: str, keys: Sequence[str], emb: np.ndarray) -> None:
        table = self.table(config)
        table.update(zip(keys, emb.astype(np.float32)))
        if self.enabled:
            table.update(update_keyed_npz(self._file(config), "emb", table, emb.shape[1], config))  # in place


class Embedder:
    """Embeds a dataset's aligned crops at any resolution, with flip fusion and the disk cache."""

    def __init__(self, rec: "FaceRecognizer", reduce: Reduce | None = None, flip: str = "none",
                 cache: bool = True, detector: str | None = None, progress: bool = True) -> None:
        if flip not in FLIP_MODES:
            raise LrfaceError(f"unknown flip mode {flip!r}; choose from {', '.join(FLIP_MODES)}")
        from ..data.facecache import dataset_detector

        self.rec, self.reduce, self.flip, self.progress = rec, reduce or Reduce(), flip, progress
        self.detector = detector or dataset_detector(rec.style)
        self.model_id = rec.model_id
        self.cache = EmbeddingCache(self.model_id, enabled=cache)

    def crops(self, paths: Sequence[Path]) -> CropSet:
        return aligned_crops(paths, self.rec.style, self.rec.input_size[0], self.detector, self.progress)

    def config(self, r: Resolution) -> str:
        return (f"align={self.rec.style}{self.rec.input_size[0]}-{self.detector};"
                f"degrade={self.reduce.key(r, self.rec.style, self.rec.input_size[0])};flip={self.flip}")

    @torch.inference_mode()
    def _compute(self, crops: np.ndarray, r: Resolution) -> np.ndarray:
        out = []
        bs = self.rec.batch_size
        for i in range(0, len(crops), bs):
            x = torch.from_numpy(crops[i : i + bs]).to(self.rec.device).permute(0, 3, 1, 2).float().div_(255.0)
            e = self.rec.embed_at(x, r, self.reduce)
            if self.flip != "none":  # degrading commutes with the mirror image
                ef = self.rec.embed_at(torch.flip(x, dims=[3]), r, self.reduce)
                e = e + ef if self.flip == "sum" else np.concatenate([e, ef], axis=1)
                e /= np.linalg.norm(e, axis=1, keepdims=True)
            out.append(e)
        return np.concatenate(out) if out else np.zeros((0, self.rec.embedding_dim), np.float32)

    def embed(self, cs: CropSet, idx: np.ndarray, res: Sequence[Resolution] | Resolution, desc: str = "embed") -> np.ndarray:
        """Embeddings of crops ``idx`` at resolutions ``res`` (one per index, or one for all)."""
        idx = np.asarray(idx)
        res_list = [res] * len(idx) if not isinstance(res, (list, np.ndarray)) else list(res)
        groups: dict[Resolution, list[int]] = defaultdict(list)
        for j, r in enumerate(res_list):
            groups[112 if is_full(r) else (tuple(r) if isinstance(r, (list, tuple)) else int(r))].append(j)  # type: ignore[arg-type]
        out: np.ndarray | None = None
        todo = sum(len({cs.keys[idx[j]] for j in js} - set(self.cache.table(self.config(r)))) for r, js in groups.items())
        bar = tqdm(total=todo, desc=desc, disable=not self.progress or todo == 0, unit="img")
        for r, js in groups.items():
            cfg = self.config(r)
            table = self.cache.table(cfg)
            need = sorted({int(idx[j]) for j in js if cs.keys[idx[j]] not in table})
            for start in range(0, len(need), 1024):  # persist progress in chunks
                chunk = need[start : start + 1024]
                emb = self._compute(cs.crops[chunk], r)
                self.cache.put(cfg, [cs.keys[i] for i in chunk], emb)
                bar.update(len(chunk))
            vals = np.stack([table[cs.keys[idx[j]]] for j in js])
            if out is None:
                out = np.zeros((len(idx), vals.shape[1]), np.float32)
            out[js] = vals
        bar.close()
        return out if out is not None else np.zeros((0, self.rec.embedding_dim), np.float32)
