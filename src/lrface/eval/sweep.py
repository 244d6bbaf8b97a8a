"""The evaluation sweep behind ``lrface eval``: resolutions x modes x protocols on one pair set,
written as results.json + results.csv + scores.npz (for reports)."""
from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..atomic import atomic_write, atomic_write_text
from ..data.binset import bin_pairs
from ..data.lfw import lfw_pairs
from ..data.pairs import PairSet, read_pairs
from ..data.protocols import btm_stm_protocols, read_protocol
from ..degrade import Resolution
from ..errors import LrfaceError
from ..recognize.embeddings import Embedder
from ..results import JsonResult
from .verification import VerificationEval, VerificationResult


def load_pairset(dataset: str, images: str | None = None, data_root: str | None = None) -> PairSet:
    """``lfw`` (official View 2), an insightface ``.bin``, or an LFW-format pairs file + ``images`` root."""
    if dataset.lower() == "lfw":
        return lfw_pairs(data_root)
    p = Path(dataset)
    if p.suffix == ".bin":
        return bin_pairs(p)
    if p.is_file():
        if not images:
            raise LrfaceError("a pairs file needs --images (the image root it refers to)")
        return read_pairs(p, images)
    raise LrfaceError(f"unknown dataset {dataset!r}: use lfw, a .bin file, or a pairs file with --images")


def load_protocols(spec: str | None, dataset: str) -> dict[str, np.ndarray]:
    """``btm-stm`` (the four Knoche protocols of ``dataset``) and/or comma-separated CSV paths."""
    out: dict[str, np.ndarray] = {}
    for item in filter(None, (s.strip() for s in (spec or "").split(","))):
        if item == "btm-stm":
            name = Path(dataset).stem if dataset.lower() != "lfw" else "lfw"
            out.update(btm_stm_protocols(name))
        else:
            out[Path(item).stem] = read_protocol(item)
    return out


def restrict_folds(pairs: PairSet, protocols: dict[str, np.ndarray], n_folds: int | None
                   ) -> tuple[PairSet, dict[str, np.ndarray]]:
    """The first ``n_folds`` folds only (quick runs); protocols cut to the same pairs."""
    if not n_folds:
        return pairs, protocols
    mask = pairs.folds < n_folds
    for name, v in protocols.items():
        if len(v) != 2 * len(pairs):
            raise LrfaceError(f"protocol {name} has {len(v)} values; {pairs.name} needs {2 * len(pairs)}")
    cut = {k: v.reshape(-1, 2)[mask].reshape(-1) for k, v in protocols.items()}
    return pairs.subset(mask), cut


@dataclass
class SweepOutput(JsonResult):
    results: list[VerificationResult]
    seconds: float
    detected: int = 0
    fallback: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "detected": self.detected, "fallback": self.fallback,
                "results": [r.row() for r in self.results]}


def run_sweep(embedder: Embedder, pairs: PairSet, resolutions: Sequence[Resolution], modes: Sequence[str],
              protocols: dict[str, np.ndarray]) -> SweepOutput:
    t0 = time.perf_counter()
    ev = VerificationEval(embedder, pairs)
    results = [ev.run("hr")]
    for r in resolutions:
        for m in modes:
            if m != "hr":
                results.append(ev.run(m, r))
    for name, res in protocols.items():
        results.append(ev.run_protocol(name, res))
    from ..data.facecache import DETECTED, FALLBACK

    st = ev.cs.status
    return SweepOutput(results, time.perf_counter() - t0, int((st == DETECTED).sum()), int((st == FALLBACK).sum()))


def format_table(results: Sequence[VerificationResult]) -> str:
    """One line per result; with a calibration, ``cal %`` (accuracy at the calibrated thresholds,
    nothing fitted on this set) and ``cal-10f %`` (10-fold accuracy of the calibrated scores)."""
    cal = any(r.calibrated_accuracy is not None for r in results)
    extra = f" {'cal %':>7s} {'cal-10f %':>13s}" if cal else ""
    lines = [f"{'mode':9s} {'res':>8s} {'acc %':>13s} {'thr':>7s} {'TAR@1e-3':>9s} {'AUC':>7s} {'EER %':>6s} "
             f"{'d+':>6s} {'d-':>6s}{extra}"]
    for r in results:
        tail = ""
        if cal and r.calibrated_accuracy is not None:
            tail = (f" {100 * r.calibrated_accuracy:7.2f} {100 * (r.calibrated_kfold or 0):7.2f}±"
                    f"{100 * (r.calibrated_kfold_std or 0):4.2f}")
        lines.append(f"{r.mode:9s} {r.resolution:>8s} {100 * r.accuracy:7.2f}±{100 * r.accuracy_std:4.2f} "
                     f"{r.best_threshold:7.4f} {100 * r.tar['0.001']:9.2f} {r.auc:7.4f} {100 * r.eer:6.2f} "
                     f"{r.pos_mean:6.3f} {r.neg_mean:6.3f}{tail}")
    return "\n".join(lines)


def write_outputs(out_dir: str | Path, meta: dict[str, object], results: Sequence[VerificationResult]) -> Path:
    """results.json (meta + rows), results.csv, scores.npz (per-pair similarities), all atomic."""
    out_dir = Path(out_dir)
    rows = [r.row() for r in results]
    atomic_write_text(out_dir / "results.json", json.dumps({"meta": meta, "results": rows}, indent=1))
    buf = io.StringIO()
    flat = [{**{k: v for k, v in row.items() if k != "tar"},
             **{f"tar@{k}": v for k, v in row["tar"].items()}}  # type: ignore[attr-defined]
            for row in rows]
    w = csv.DictWriter(buf, fieldnames=list(flat[0]))
    w.writeheader()
    w.writerows(flat)
    atomic_write_text(out_dir / "results.csv", buf.getvalue())
    arrays: dict[str, Any] = {"same": results[0].same}
    for r in results:
        for k, s in enumerate(r.scores):
            arrays[f"{r.mode}|{r.resolution}|{k}"] = s.astype(np.float32)

    def write(p: Path) -> None:
        with open(p, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    atomic_write(out_dir / "scores.npz", write)
    return out_dir / "results.json"

