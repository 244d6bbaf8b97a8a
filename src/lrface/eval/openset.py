"""Operating-point calibration and the open-set 1:N benchmark, both on LFW View 1 people lists.

Calibration (``fit_operating_points``) uses ``peopleDevTrain`` (4,038 identities); the benchmark
(``run_openset``) uses ``peopleDevTest`` (1,711 identities, disjoint from the former), in the
NIST FRVT style: every identity with two or more images is enrolled with one HR photo; its second
image, degraded, is a mated probe; every identity with one image is a non-mated probe (a
stranger). Each probe goes through the real pipeline: it is given as an image of its own size,
its effective resolution is measured, it is routed, embedded, searched and decided by the
default rule (``lrface.decision``). Probe conditions:

- ``r<R>``: the aligned face reduced to r (bicubic, anti-aliased), the image handed over at that size;
- ``cam<R>``: camera-like capture at r (``degrade.lowres.synthesize``: blur kernels, noise, grey,
  JPEG, misalignment);
- ``blur<G>@<D>``: a face of geometric size G whose detail is that of a D px face (reduced to D,
  brought back up to G, JPEG 75): the "blurred beyond its size" captures of real cameras.

Reported per condition: FNIR at FPIR 1 % and 0.1 % (thresholds set on the test's own non-mated
scores, the FRVT definition), and the default decision's measured FPIR, FNIR and the share
answered "cannot decide"; DET curves go into the HTML report.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image

from ..data.facecache import FAILED
from ..data.lfw import lfw_dir
from ..degrade import Reduce, target_size
from ..recognize.calibration import GRID
from ..recognize.embeddings import Embedder
from ..recognize.operating import (
    FNMR_LEVELS,
    FarTables,
    OpenSetCalibration,
    fit_far_tables,
    fit_open_set,
    impostor_quantile,
)

CONDITIONS = ("r6", "r8", "r12", "r16", "r24", "r32", "r112", "cam8", "cam16", "cam24", "blur32@8", "blur112@10")


def view1_people(root: str | Path | None, which: str) -> list[tuple[str, list[Path]]]:
    """(name, image paths) of LFW View 1 ``people<which>.txt`` (DevTrain or DevTest)."""
    d = lfw_dir(root)
    out = []
    for line in (d / f"people{which}.txt").read_text().split("\n")[1:]:
        parts = line.split()
        if len(parts) == 2:
            name, n = parts[0], int(parts[1])
            out.append((name, [d / "lfw-deepfunneled" / name / f"{name}_{i:04d}.jpg" for i in range(1, n + 1)]))
    return out


@dataclass
class Bank:
    """HR chips of a set of images with identity labels, and their embeddings at grid resolutions."""

    paths: list[Path]
    ident: np.ndarray
    crops: Any
    idx: np.ndarray  # rows of ``crops`` usable (face found or framed)
    emb: dict[float, np.ndarray] = field(default_factory=dict)


PAIR_IMAGES = 3000  # FAR tables: every impostor pair among this many probe images (about 4.5 M per cell)


def calibration_bank(rec: Any, root: str | Path | None, max_images: int = 10_000,
                     progress: bool = True) -> tuple[Bank, Bank]:
    """Probes (identities with 2+ images: two each first, then every other DevTrain image, up to
    ``max_images``) and the calibration gallery (the first image of every DevTrain identity). The
    FAR tables use the first ``PAIR_IMAGES`` probes, the open-set table all of them."""
    people = view1_people(root, "DevTrain")
    probes: list[tuple[int, Path]] = [(k, p) for k, (_, ps) in enumerate(people) if len(ps) >= 2 for p in ps[:2]]
    probes += [(k, ps[0]) for k, (_, ps) in enumerate(people) if len(ps) == 1]
    probes += [(k, p) for k, (_, ps) in enumerate(people) for p in ps[2:]]
    probes = probes[:max_images]
    gallery = [(k, ps[0]) for k, (_, ps) in enumerate(people)]
    emb = Embedder(rec, Reduce(), progress=progress)

    def bank(items: list[tuple[int, Path]]) -> Bank:
        paths = [p for _, p in items]
        cs = emb.crops(paths)
        ok = np.flatnonzero(cs.status != FAILED)
        return Bank(paths, np.array([k for k, _ in items])[ok], cs, ok)

    pb, gb = bank(probes), bank(gallery)
    for r in GRID:
        pb.emb[float(r)] = emb.embed(pb.crops, pb.idx, int(r), desc=f"probes r={r}")
    gb.emb[112.0] = emb.embed(gb.crops, gb.idx, 112, desc="gallery")
    return pb, gb


def _pair_matrix(rec: Any, b: Bank, r_a: float, r_b: float) -> np.ndarray:
    """Scores of every image at r_a against every image at r_b, as ``rec.pair_score`` fuses them."""
    s = b.emb[r_a] @ b.emb[r_b].T
    w = float(getattr(rec, "match_weight", 0.0) or 0.0)
    lo = min(r_a, r_b)
    if w and r_a != r_b and getattr(rec, "expert_for", lambda r: "hr")(lo) == "lr":
        s = (1 - w) * s + w * (b.emb[lo] @ b.emb[lo].T)
    return s


def fit_operating_points(rec: Any, probes: Bank, gallery: Bank,
                         grid: Sequence[float] = GRID) -> tuple[FarTables, FarTables, OpenSetCalibration, list[dict]]:
    """FAR tables on every impostor pair of the first ``PAIR_IMAGES`` probes, FNMR tables on their
    genuine pairs (the two images of each 2+ identity), the open-set table (all probes) against
    the calibration gallery, and TAR rows."""
    n = min(PAIR_IMAGES, len(probes.ident))
    pairs = Bank(probes.paths, probes.ident[:n], probes.crops, probes.idx[:n], {r: e[:n] for r, e in probes.emb.items()})
    diff = pairs.ident[:, None] != pairs.ident[None, :]
    same = np.triu(~diff, 1)

    def impostors(r_a: float, r_b: float) -> np.ndarray:
        return _pair_matrix(rec, pairs, float(r_a), float(r_b))[diff]

    src = f"LFW View 1 peopleDevTrain ({n} images, {len(np.unique(pairs.ident))} identities)"
    far = fit_far_tables(impostors, grid, source=src)

    def genuine(r_a: float, r_b: float) -> np.ndarray:
        return _pair_matrix(rec, pairs, float(r_a), float(r_b))[same | same.T]

    frr = fit_far_tables(genuine, grid, FNMR_LEVELS, src, genuine=True)
    rows = []
    for r in grid:
        gen = _pair_matrix(rec, pairs, 112.0, float(r))[same]
        rows.append({"r": float(r), **{f"TAR@FAR{f:g}": float((gen >= far.threshold(112, r, f)).mean())
                                       for f in sorted(far.tables, reverse=True)}})
    own = probes.ident[:, None] == gallery.ident[None, :]

    def non_mated(r: float) -> np.ndarray:
        s = probes.emb[float(r)] @ gallery.emb[112.0].T
        s[own] = -1.0  # the probe's own identity is not an impostor
        return s

    osc = fit_open_set(non_mated, grid, source=f"LFW View 1 peopleDevTrain: {len(probes.ident)} probe images against "
                                                 f"{len(gallery.ident)} HR photos, one per identity")
    return far, frr, osc, rows


# ---------------------------------------------------------------- benchmark
def _probe_image(chip: torch.Tensor, cond: str, style: str, size: int, gen: torch.Generator) -> np.ndarray:
    """One HR chip (3 x S x S in [0, 1]) -> the probe image for condition ``cond`` (uint8 RGB)."""
    from ..degrade.lowres import synthesize

    def px(r: float) -> int:
        return max(2, target_size(r, style, size)[0])

    if cond.startswith("r"):
        r = int(cond[1:])
        out = chip[None] if r >= 112 else Reduce().down(chip[None], r, style)
    elif cond.startswith("cam"):
        out = synthesize(chip[None], [px(int(cond[3:]))], gen)[0][None]
    else:  # blur<G>@<D>
        g, d = (int(v) for v in cond[4:].split("@"))
        low = Reduce().down(chip[None], d, style)
        out = torch.nn.functional.interpolate(low, size=(px(g), px(g)), mode="bicubic", align_corners=False)
    arr = (out[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    if cond.startswith("blur"):
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="JPEG", quality=75)
        arr = np.array(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return arr


def fnir_at_fpir(mated_top: np.ndarray, mated_hit: np.ndarray, nonmated_top: np.ndarray, fpir: float) -> float:
    """FNIR at the threshold where a fraction ``fpir`` of non-mated probes is accepted."""
    if int(np.floor(fpir * len(nonmated_top))) < 1:
        return float("nan")
    t = impostor_quantile(nonmated_top, fpir)
    return float(1 - (mated_hit & (mated_top >= t)).mean())


def det_curve(mated_top: np.ndarray, mated_hit: np.ndarray, nonmated_top: np.ndarray, points: int = 60) -> dict[str, list[float]]:
    ts = np.quantile(nonmated_top, np.linspace(0, 1, points))
    return {"fpir": [float((nonmated_top >= t).mean()) for t in ts],
            "fnir": [float(1 - (mated_hit & (mated_top >= t)).mean()) for t in ts]}


def run_openset(rec: Any, root: str | Path | None, conditions: Sequence[str] = CONDITIONS,
                fpir: float | None = None, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """The benchmark of the module doc; returns a JSON-ready dict."""
    from ..decision import MATCH, UNDECIDED
    from ..search.gallery import new_gallery

    people = view1_people(root, "DevTest")
    enrolled = [(n, ps) for n, ps in people if len(ps) >= 2]
    strangers = [(n, ps) for n, ps in people if len(ps) == 1]
    emb = Embedder(rec, Reduce(), progress=progress)
    gal_cs = emb.crops([ps[0] for _, ps in enrolled])
    ok_g = np.flatnonzero(gal_cs.status != FAILED)
    g = new_gallery(rec)
    eg = emb.embed(gal_cs, ok_g, 112, desc="gallery")
    for j, i in enumerate(ok_g):
        g.add(enrolled[i][0], eg[j:j + 1], [112.0], [1.0], [str(enrolled[i][1][0])], [gal_cs.keys[i]])
    probe_paths = [ps[1] for _, ps in enrolled] + [ps[0] for _, ps in strangers]
    truth = [n for n, _ in enrolled] + [None] * len(strangers)
    pcs = emb.crops(probe_paths)
    keep = [i for i in range(len(probe_paths)) if pcs.status[i] != FAILED and (truth[i] is None or truth[i] in g.names)]
    chips = torch.from_numpy(pcs.crops[keep]).permute(0, 3, 1, 2).float() / 255
    out: dict[str, Any] = {"gallery": len(g.names), "mated": sum(truth[i] is not None for i in keep),
                           "non_mated": sum(truth[i] is None for i in keep), "conditions": {}}
    for cond in conditions:
        gen = torch.Generator().manual_seed(seed)
        images = [_probe_image(c, cond, rec.style, rec.input_size[0], gen) for c in chips]
        res = list(g.identify(rec, images, k=1, framing="dlib", fpir=fpir))
        top = np.array([r.matches[0].score if r is not None else -1.0 for _, _, r in res])
        decision = [r.decision if r is not None else UNDECIDED for _, _, r in res]
        name = [r.matches[0].name if r is not None else None for _, _, r in res]
        r_eff = np.array([f.r if not isinstance(f, str) else np.nan for _, f, _ in res])
        t = [truth[i] for i in keep]
        mated = np.array([v is not None for v in t])
        hit = np.array([name[j] == t[j] for j in range(len(t))])
        acc = np.array([d == MATCH for d in decision])
        und = np.array([d == UNDECIDED for d in decision])
        nm_top, m_top, m_hit = top[~mated], top[mated], hit[mated]
        out["conditions"][cond] = {
            "FNIR@FPIR1%": fnir_at_fpir(m_top, m_hit, nm_top, 1e-2),
            "FNIR@FPIR0.1%": fnir_at_fpir(m_top, m_hit, nm_top, 1e-3),
            "rank1": float(m_hit.mean()),
            "default_FPIR": float(acc[~mated].mean()),
            "default_FNIR": float(1 - (acc & hit)[mated].mean()),
            "default_wrong_name": float((acc & ~hit)[mated].mean()),
            "cannot_decide": float(und.mean()),
            "r_eff_median": float(np.nanmedian(r_eff)),
            "det": det_curve(m_top, m_hit, nm_top),
        }
    return out
