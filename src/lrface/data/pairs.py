"""Verification pair sets in the LFW ``pairs.txt`` format (LFW, XQLFW, View 1 dev files)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LrfaceError


@dataclass
class PairSet:
    """Unique ``images`` plus pairs as indices into them, labels (1 = same) and fold ids."""

    name: str
    images: list[Path]
    left: np.ndarray
    right: np.ndarray
    same: np.ndarray
    folds: np.ndarray

    def __len__(self) -> int:
        return len(self.same)

    def subset(self, mask: np.ndarray, name: str | None = None) -> "PairSet":
        """Pairs where ``mask`` is true, images re-indexed to the ones still used."""
        left, right = self.left[mask], self.right[mask]
        used = np.unique(np.concatenate([left, right]))
        remap = -np.ones(len(self.images), dtype=np.int64)
        remap[used] = np.arange(len(used))
        return PairSet(name or self.name, [self.images[i] for i in used], remap[left], remap[right],
                       self.same[mask], self.folds[mask])


def lfw_image_path(root: Path, name: str, idx: str, ext: str = "jpg") -> Path:
    return root / name / f"{name}_{int(idx):04d}.{ext}"


def read_pairs(pairs_file: str | Path, image_root: str | Path, ext: str = "jpg", name: str | None = None) -> PairSet:
    """Parse an LFW-format pairs file: header ``folds n`` (or just ``n``: one fold), then per fold
    ``n`` same-person lines ``name i j`` and ``n`` different-person lines ``name1 i name2 j``."""
    pairs_file, image_root = Path(pairs_file), Path(image_root)
    try:
        lines = [ln.split() for ln in pairs_file.read_text().splitlines() if ln.strip()]
    except OSError as e:
        raise LrfaceError(f"cannot read pairs file {pairs_file}: {e.strerror}") from None
    if not lines or not all(t.isdigit() for t in lines[0]):
        raise LrfaceError(f"{pairs_file}: first line must be 'folds pairs_per_class' or 'pairs_per_class'")
    header = [int(t) for t in lines[0]]
    n_folds, per_class = (header[0], header[1]) if len(header) == 2 else (1, header[0])
    body = lines[1:]
    if len(body) != n_folds * 2 * per_class:
        raise LrfaceError(f"{pairs_file}: expected {n_folds * 2 * per_class} pair lines, found {len(body)}")
    index: dict[Path, int] = {}
    left, right, same, folds = [], [], [], []
    for k, tok in enumerate(body):
        fold, within = divmod(k, 2 * per_class)
        is_same = within < per_class
        if is_same and len(tok) == 3:
            a, b = lfw_image_path(image_root, tok[0], tok[1], ext), lfw_image_path(image_root, tok[0], tok[2], ext)
        elif not is_same and len(tok) == 4:
            a, b = lfw_image_path(image_root, tok[0], tok[1], ext), lfw_image_path(image_root, tok[2], tok[3], ext)
        else:
            raise LrfaceError(f"{pairs_file}: line {k + 2} does not fit the LFW pairs format: {' '.join(tok)}")
        left.append(index.setdefault(a, len(index)))
        right.append(index.setdefault(b, len(index)))
        same.append(is_same)
        folds.append(fold)
    return PairSet(name or pairs_file.stem, list(index), np.array(left), np.array(right),
                   np.array(same, dtype=bool), np.array(folds))
