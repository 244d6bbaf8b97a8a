"""Error-versus-reject curves (Grother & Tabassi): does rejecting low-quality faces remove errors?

The mixed-resolution set: every LFW pair (View 2 ``pairs.txt``), the first image at full
resolution, the second handed over as a small image in one of three conditions drawn per pair
(seeded): reduced to r of the btm-stm ``avg_sizes`` protocol (5..112), a camera-like capture at
that r (``degrade.lowres.synthesize``), or a face blurred beyond its size (geometry r, detail r/3).
Every face goes through ``prepare`` (effective resolution, quality) and the model's own scoring.

The threshold is fixed at FMR 1e-3 on all pairs; pairs are then rejected in order of their
quality min(q_a, q_b), lowest first, and FNMR is recomputed on the rest at that same threshold.
Several quality measures are compared: the full score, the effective resolution alone, the
geometric resolution alone (no blur awareness) and the flip agreement alone, beside the ceiling of
any measure blind to the labels (``_ceiling``: a rejected fraction holds about as many genuine
pairs as any other, at best all of them errors).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..data.facecache import FAILED
from ..data.lfw import lfw_pairs
from ..degrade import Reduce, target_size
from ..paths import protocol_root
from ..recognize.embeddings import Embedder
from ..recognize.operating import impostor_quantile

REJECT = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
MEASURES = ("quality", "r_eff", "r_geom", "consistency")


def _second_image(chip: torch.Tensor, r: int, kind: int, style: str, size: int, gen: torch.Generator) -> np.ndarray:
    from ..degrade.lowres import synthesize

    px = max(2, target_size(r, style, size)[0])
    if r >= 112 and kind != 2:
        out = chip[None]
    elif kind == 0:
        out = Reduce().down(chip[None], r, style)
    elif kind == 1:
        out = synthesize(chip[None], [px], gen)[0][None]
    else:
        low = Reduce().down(chip[None], max(5, r // 3), style)
        out = torch.nn.functional.interpolate(low, size=(px, px), mode="bicubic", align_corners=False)
    return (out[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def erc(scores: np.ndarray, same: np.ndarray, quality: np.ndarray, fmr: float = 1e-3,
        reject: Sequence[float] = REJECT) -> list[dict[str, float]]:
    """FNMR at the FMR-``fmr`` threshold (fixed on all pairs) after rejecting the lowest-quality fractions."""
    thr = impostor_quantile(scores[~same], fmr)
    order = np.argsort(quality, kind="stable")
    rows = []
    for f in reject:
        keep = np.ones(len(scores), bool)
        keep[order[: int(round(f * len(scores)))]] = False
        g = keep & same
        rows.append({"reject": f, "fnmr": float((scores[g] < thr).mean()) if g.any() else float("nan"),
                     "fmr": float((scores[keep & ~same] >= thr).mean())})
    return rows


def run_erc(rec: Any, root: str | Path | None, pairs: int | None = None, seed: int = 0,
            progress: bool = True) -> dict[str, Any]:
    """Scores and qualities of the mixed-resolution set, and the ERC of each quality measure."""
    ps = lfw_pairs(root)
    proto = protocol_root() / "btm-stm" / "LFW" / "avg_sizes.csv"
    rs = [int(v) for v in proto.read_text().strip().split(",")][1::2]
    n = len(ps) if pairs is None else min(pairs, len(ps))
    sel = np.random.default_rng(seed).permutation(len(ps))[:n] if n < len(ps) else np.arange(n)
    emb = Embedder(rec, Reduce(), progress=progress)
    cs = emb.crops(list(ps.images))
    gen = torch.Generator().manual_seed(seed)
    kinds = np.random.default_rng(seed + 1).integers(0, 3, len(ps))
    score: list[float] = []
    same: list[bool] = []
    q: dict[str, list[float]] = {m: [] for m in MEASURES}
    from tqdm import tqdm

    for i in tqdm(sel, desc="pairs", disable=not progress, unit="pair"):
        a, b = int(ps.left[i]), int(ps.right[i])
        if cs.status[a] == FAILED or cs.status[b] == FAILED:
            continue
        chip = torch.from_numpy(cs.crops[b]).permute(2, 0, 1).float() / 255
        fa = rec.prepare(cs.crops[a], framing="dlib")
        fb = rec.prepare(_second_image(chip, rs[i], int(kinds[i]), rec.style, rec.input_size[0], gen), framing="dlib")
        e = rec.embed_assessed([fa, fb])
        score.append(rec.pair_score(fa, fb, e[0], e[1]))
        same.append(bool(ps.same[i]))
        qa, qb = fa.quality, fb.quality
        q["quality"].append(min(qa.score, qb.score))
        q["r_eff"].append(min(qa.r_eff, qb.r_eff))
        q["r_geom"].append(min(qa.r_geom, qb.r_geom))
        q["consistency"].append(min(qa.consistency or 0.0, qb.consistency or 0.0))
    s, y = np.array(score), np.array(same)
    out: dict[str, Any] = {"pairs": int(len(s)), "curves": {}}
    for m in MEASURES:
        rows = erc(s, y, np.array(q[m]))
        base = rows[0]["fnmr"]
        at20 = next(r["fnmr"] for r in rows if abs(r["reject"] - 0.2) < 1e-9)
        out["curves"][m] = {"rows": rows, "reduction_at_20": float(1 - at20 / base) if base > 0 else float("nan")}
    out["curves"]["ceiling"] = _ceiling(s, y)
    out["quality_by_decile"] = _by_decile(s, y, np.array(q["quality"]))
    return out


def _ceiling(s: np.ndarray, y: np.ndarray, fmr: float = 1e-3) -> dict[str, Any]:
    """The best any quality measure blind to the labels can do: rejecting a fraction f of the
    pairs removes about f of the genuine ones, at best all of them false non-matches, so FNMR
    falls at most to (FN - f G) / (G - f G)."""
    thr = impostor_quantile(s[~y], fmr)
    g = int(y.sum())
    fn = int((y & (s < thr)).sum())
    rows = [{"reject": f, "fnmr": max(0.0, fn - f * g) / (g - f * g), "fmr": float("nan")} for f in REJECT]
    at20 = next(r["fnmr"] for r in rows if abs(r["reject"] - 0.2) < 1e-9)
    return {"rows": rows, "reduction_at_20": float(1 - at20 / rows[0]["fnmr"]) if fn else float("nan")}


def _by_decile(s: np.ndarray, y: np.ndarray, q: np.ndarray) -> list[dict[str, float]]:
    """Best-threshold accuracy of the pairs in each quality decile (what the floor is chosen from)."""
    from ..metrics import best_threshold

    edges = np.quantile(q, np.linspace(0, 1, 11))
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (q >= lo) & (q <= hi)
        if m.sum() >= 20 and y[m].any() and (~y[m]).any():
            rows.append({"q_lo": float(lo), "q_hi": float(hi), "pairs": int(m.sum()),
                         "accuracy": float(best_threshold(s[m], y[m])[1])})
    return rows
