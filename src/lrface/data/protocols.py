"""Per-image resolution protocols in pairs order (Knoche et al. btm-stm format).

A protocol file is one line of comma-separated integers, two per pair: the first image's
resolution (even positions) and the second's (odd positions); 112 means full resolution.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_write_text
from ..errors import LrfaceError
from ..paths import protocol_root

BTM_STM = {"low_res": "low_res_focus", "mid_res": "mid_res_focus", "high_res": "high_res_focus", "all_res": "avg_sizes"}
BTM_DATASETS = {"lfw": "LFW", "agedb_30": "AgeDB", "cfp_fp": "CFP-FP", "calfw": "CALFW", "cplfw": "CPLFW"}


def read_protocol(path: str | Path) -> np.ndarray:
    """Resolutions from a protocol CSV (integers, commas and/or newlines)."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise LrfaceError(f"cannot read protocol {path}: {e.strerror}") from None
    try:
        values = np.array([int(t) for t in text.replace("\n", ",").split(",") if t.strip()], dtype=np.int64)
    except ValueError:
        raise LrfaceError(f"{path}: protocol must be comma-separated integers") from None
    if len(values) == 0 or len(values) % 2 or (values < 1).any():
        raise LrfaceError(f"{path}: need an even number of positive resolutions, got {len(values)} values")
    return values


def write_protocol(path: str | Path, resolutions: np.ndarray) -> None:
    atomic_write_text(path, ",".join(str(int(v)) for v in resolutions) + "\n")


def btm_stm_protocols(dataset: str = "lfw", root: str | Path | None = None) -> dict[str, np.ndarray]:
    """The four btm-stm protocols (low/mid/high/all_res) for a dataset."""
    folder = BTM_DATASETS.get(dataset.lower())
    if folder is None:
        raise LrfaceError(f"no btm-stm protocols for {dataset!r}; known: {', '.join(BTM_DATASETS)}")
    base = Path(root) if root else protocol_root() / "btm-stm"
    return {name: read_protocol(base / folder / f"{stem}.csv") for name, stem in BTM_STM.items()}


def generate_protocol(n_pairs: int, low: int, high: int, seed: int = 0, both: bool = False) -> np.ndarray:
    """Mixed-resolution protocol: per pair, the second image's resolution drawn uniformly from
    [low, high] (both images if ``both``), the first kept at 112."""
    if not 1 <= low <= high:
        raise LrfaceError(f"bad resolution range {low}..{high}")
    rng = np.random.default_rng(seed)
    out = np.full(2 * n_pairs, 112, dtype=np.int64)
    out[1::2] = rng.integers(low, high + 1, n_pairs)
    if both:
        out[0::2] = rng.integers(low, high + 1, n_pairs)
    return out
