"""Identification against a gallery: plain embeddings, or the meet-in-the-middle matcher."""
from __future__ import annotations

import numpy as np

from ..recognize.recognizer import Recognizer
from .fusion import FUSIONS, correlation, fuse
from .mitm import MitmConfig, MitmMatcher, resize, to_tensor


def plain_scores(rec: Recognizer, probes: list[np.ndarray], gallery_crops: np.ndarray) -> np.ndarray:
    """Cosine similarity (P, G): probes bicubic-resized to the model input, gallery as is."""
    size = rec.input_size[0]
    x = np.stack([(resize(to_tensor(p[None]), size)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
                  for p in probes])
    return rec.embed_crops(x) @ rec.embed_crops(gallery_crops).T


def mitm_scores(matcher: MitmMatcher, probes: list[np.ndarray], gallery_crops: np.ndarray, gallery_keys: list[str],
                probe_px: int) -> np.ndarray:
    """MITM similarity (P, G); gallery templates computed once for this probe size (and cached)."""
    g = matcher.gallery_templates(gallery_crops, gallery_keys, probe_px)
    plain = matcher.gallery_plain(gallery_crops, gallery_keys) if matcher.expert is not None else None
    return np.stack([matcher.probe_scores(p, g, plain) for p in probes])


__all__ = ["FUSIONS", "MitmConfig", "MitmMatcher", "correlation", "fuse", "mitm_scores", "plain_scores"]
