"""Similarities and fusion rules of the meet-in-the-middle matcher (Grm et al. eq. 3-5).

Templates are arrays (..., D). A probe has hypotheses P[s, i] (scale s, hypothesis i); a gallery
entry has hypotheses G[s, j]. ``fuse`` turns (P, G) into one similarity.
"""
from __future__ import annotations

import numpy as np

from ..errors import LrfaceError

FUSIONS = ("t_add", "t_concat", "s_add", "s_max", "s_max_add")


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def correlation(a: np.ndarray, b: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Correlation similarity (eq. 3): cosine of mean-centred templates, all pairs (..., Na, Nb).
    ``mean`` (D,) is subtracted from both sides; None gives plain cosine similarity."""
    if mean is not None:
        a, b = a - mean, b - mean
    return _unit(a) @ np.swapaxes(_unit(b), -1, -2)


def fuse(p: np.ndarray, g: np.ndarray, rule: str, mean: np.ndarray | None = None) -> float:
    """One similarity from probe hypotheses ``p`` (S, M, D) and gallery hypotheses ``g`` (S, N, D)
    (S probe scales; gallery hypotheses resolution-matched per scale).

    - ``t_add``: sum all templates on each side (eq. 4), then one similarity;
    - ``t_concat``: sum per scale, concatenate the scales (eq. 5), then one similarity;
    - ``s_add``: mean of all probe-gallery scores at matching scales;
    - ``s_max``: maximum of those scores;
    - ``s_max_add``: S_max over gallery hypotheses for each probe hypothesis, then S_add (Sec. 4.2).
    """
    if mean is not None:  # correlation = cosine of mean-centred templates (eq. 3): centre once, here
        p, g = p - mean, g - mean
    if rule == "t_add":
        return float(correlation(p.reshape(-1, p.shape[-1]).sum(0, keepdims=True),
                                 g.reshape(-1, g.shape[-1]).sum(0, keepdims=True))[0, 0])
    if rule == "t_concat":
        def cat(t: np.ndarray) -> np.ndarray:
            return _unit(t.sum(1)).reshape(1, -1)

        return float(correlation(cat(p), cat(g))[0, 0])
    scores = correlation(p, g)  # (S, M, N)
    if rule == "s_add":
        return float(scores.mean())
    if rule == "s_max":
        return float(scores.max())
    if rule == "s_max_add":
        return float(scores.max(axis=2).mean())
    raise LrfaceError(f"unknown fusion {rule!r}; choose from {', '.join(FUSIONS)}")
