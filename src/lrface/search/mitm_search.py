"""Meet-in-the-middle identification behind the gallery's search interface.

``MitmSearch(rec, gallery).identify(...)`` takes the same arguments as ``Gallery.identify`` and
yields the same ``(source, face or reason, SearchResult)`` triples, so a caller swaps one for the
other. MITM (``search.mitm``) ranks the enrolled identities: the probe at its own resolution,
super-resolved hypotheses against a degraded, resolution-matched copy of each gallery image.

The decision is the library's one open-set rule (``lrface.decision``): the ranked identities carry
the calibrated plain score of the probe against each identity's template, and the best one is named
only when that score reaches the threshold at ``fpir`` for the probe's effective resolution and the
gallery's size. MITM's fused score orders the list (``Match.rank_score``); it has no calibration of
its own, so it decides only when the caller gives an explicit ``threshold`` on that score.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..data.facecache import aligned_crops
from ..degrade import target_size
from ..errors import LrfaceError
from ..recognize.batches import iter_prepared
from . import mitm_scores
from .gallery import Gallery, Match, SearchResult, top_identities
from .mitm import MitmConfig, MitmMatcher, resize, to_tensor

SCALES = (1, 2, 4, 8)


def parse_scales(text: str) -> tuple[int, ...]:
    """``"2,4,8"`` -> (2, 4, 8); only the SR magnifications that exist (1, 2, 4, 8)."""
    try:
        scales = tuple(int(v) for v in text.split(","))
    except ValueError:
        scales = ()
    if not scales or any(k not in SCALES for k in scales):
        raise LrfaceError(f"bad --scales {text!r}: comma-separated integers from 1, 2, 4, 8")
    return scales


def probe_at_own_resolution(face: Any, size: int) -> np.ndarray:
    """The probe at its own resolution: the face's native-size chip when it is small, else its
    chip reduced to the size its resolution supports."""
    if face.small_chip is not None:
        return face.small_chip
    px = max(4, min(size, target_size(face.r, "dlib", size)[0]))
    t = resize(to_tensor(face.crop[None]), px)[0]
    return (t.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


class MitmSearch:
    """MITM over the enrolled images of ``gallery`` (their source files are aligned again)."""

    def __init__(self, rec: Any, gallery: Gallery, scales: Sequence[int] = (2, 4, 8), degradations: int = 16,
                 fusion: str = "s_max_add") -> None:
        hr = getattr(rec, "hr", rec)  # MITM matches in the HR expert's space
        missing = [s for s in gallery.sources if not Path(s).is_file()]
        if missing:
            raise LrfaceError(f"MITM degrades the gallery images themselves; {len(missing)} are gone "
                              f"(first: {missing[0]})")
        self.gallery = gallery
        self.matcher = MitmMatcher(hr, MitmConfig(scales=tuple(scales), degradations=degradations, fusion=fusion),
                                   expert=getattr(rec, "lr", None))
        self.crops = aligned_crops([Path(p) for p in gallery.sources], hr.style, hr.input_size[0], progress=False)

    def search_face(self, face: Any, rec: Any, k: int = 5, threshold: float | None = None,
                    fpir: float | None = None) -> SearchResult:
        g = self.gallery
        small = probe_at_own_resolution(face, self.matcher.rec.input_size[0])
        sim = mitm_scores(self.matcher, [small], self.crops.crops, self.crops.keys, small.shape[0])[0]
        ranked = top_identities(g.ident, sim, k)
        if threshold is not None:
            return SearchResult([Match(g.names[i], s, threshold) for i, s in ranked], face.r)
        emb = rec.embed_assessed([face])
        base = g.search(emb, [face.r], rec, 1, fpir=fpir, faces=[face])[0]  # threshold, quality, decision rule
        plain = g.fused()[0] @ emb[0]
        thr = base.matches[0].threshold if base.matches else None
        base.matches = [Match(g.names[i], float(plain[i]), thr, rank_score=s) for i, s in ranked]
        return base

    def identify(self, rec: Any, images: Sequence[Any], k: int = 5, framing: str = "auto", aligned: bool = False,
                 over: str = "fused", threshold: float | None = None, batch_size: int = 32,
                 fpir: float | None = None) -> Iterator[tuple[str, Any, SearchResult | None]]:
        """As ``Gallery.identify`` (``over`` is unused: MITM scores every enrolled image)."""
        self.gallery.check_recognizer(rec)
        for source, face in iter_prepared(rec, images, aligned, framing):
            if isinstance(face, str):
                yield str(source), face, None
            else:
                yield str(source), face, self.search_face(face, rec, k, threshold, fpir)
