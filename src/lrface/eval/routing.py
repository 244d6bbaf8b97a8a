"""Routing fitted on non-test pairs: the cut-off between the two experts and the weight of the
resolution-matched score (``lrface route``). Both are read off cross-resolution accuracy on LFW
View 1 pairsDevTrain, never on the test pairs."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..degrade import Reduce
from ..recognize.embeddings import Embedder
from ..recognize.recognizer import Recognizer
from ..recognize.routing import LR, RoutedRecognizer
from .verification import VerificationEval

CUTOFF_GRID = (12, 16, 20, 24, 28, 32, 40, 48, 56, 64)


def choose_cutoff(hr: Recognizer, lr: Recognizer, pairs, grid: Sequence[int] = CUTOFF_GRID,
                  reduce: Reduce | None = None) -> tuple[float, list[dict[str, float]]]:
    """The routing cut-off from non-test pairs: cross-resolution accuracy (HR image vs the other at
    r, both orders, best threshold) of the HR expert and of the LR expert at each grid r; the
    cut-off is the smallest grid r from which the HR expert is at least as accurate at every larger r."""
    reduce = reduce or Reduce()
    ev_hr = VerificationEval(Embedder(hr, reduce), pairs)
    ev_lr = VerificationEval(Embedder(RoutedRecognizer(hr, lr, cutoff=float("inf")), reduce), pairs)
    rows = [{"r": float(r), "hr": ev_hr.pooled_accuracy("cr", int(r)), "lr": ev_lr.pooled_accuracy("cr", int(r))}
            for r in grid]
    cutoff = float(grid[-1]) + 1
    for row in reversed(rows):
        if row["hr"] < row["lr"]:
            break
        cutoff = row["r"]
    return cutoff, rows


MATCH_WEIGHTS = (0.0, 0.25, 0.5, 0.75)
MATCH_RS = (6, 8, 10, 12, 16, 20)


def choose_match_weight(routed: RoutedRecognizer, pairs, weights: Sequence[float] = MATCH_WEIGHTS,
                        rs: Sequence[int] = MATCH_RS,
                        reduce: Reduce | None = None) -> tuple[float, list[dict[str, float]]]:
    """The weight of the resolution-matched score from non-test pairs: mean cross-resolution accuracy
    (both orders, best threshold) over the grid r routed to the LR expert; the best weight wins."""
    ev = VerificationEval(Embedder(routed, reduce or Reduce()), pairs)
    low = [r for r in rs if routed.expert_for(r) == LR] or list(rs)
    rows = []
    for w in weights:
        routed.match_weight = float(w)
        accs = [ev.pooled_accuracy("cr", int(r)) for r in low]
        rows.append({"w": float(w), "accuracy": float(np.mean(accs)), **{f"r{r}": a for r, a in zip(low, accs)}})
    best = max(rows, key=lambda row: row["accuracy"])["w"]
    routed.match_weight = best
    return best, rows


def fit_route(name: str, hr_name: str, lr_name: str, cutoff: float | None = None, match_weight: float | None = None,
              device: str | None = None, data_root: str | None = None) -> dict:
    """The manifest entry of routed recognizer ``name``: cut-off and match weight as given, or
    chosen on LFW View 1 pairsDevTrain (None), with the tables they were chosen from."""
    from ..data.lfw import lfw_pairs
    from ..errors import LrfaceError
    from ..models.published import read_manifest

    if lr_name not in read_manifest():
        raise LrfaceError(f"{lr_name} is not a published model (weights/manifest.json)")
    hr, lr = Recognizer(hr_name, device=device), Recognizer(lr_name, device=device)
    entry: dict = {"kind": "routed", "hr": hr_name, "lr": lr_name,
                   "command": f"lrface route {name} --lr {lr_name} --hr {hr_name} "
                              f"--cutoff {'auto' if cutoff is None else f'{cutoff:g}'} "
                              f"--match-weight {'auto' if match_weight is None else f'{match_weight:g}'}"}
    dev_train = lfw_pairs(data_root, "pairsDevTrain.txt") if cutoff is None or match_weight is None else None
    if cutoff is None:
        cutoff, entry["cutoff_table"] = choose_cutoff(hr, lr, dev_train)
    if match_weight is None:
        match_weight, entry["match_weight_table"] = choose_match_weight(RoutedRecognizer(hr, lr, cutoff), dev_train)
    entry["cutoff"], entry["match_weight"] = cutoff, match_weight
    return entry
