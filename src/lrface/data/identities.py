"""Identity-folder datasets (``root/<identity>/<image>``) and identification splits."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LrfaceError
from ..imageio import IMAGE_SUFFIXES


@dataclass
class IdentityDataset:
    """Images with integer labels; ``names[label]`` is the identity folder's name."""

    images: list[Path]
    labels: np.ndarray
    names: list[str]


def read_identity_folders(root: str | Path, min_images: int = 1) -> IdentityDataset:
    """Every identity folder under ``root`` with at least ``min_images`` images (sorted order)."""
    root = Path(root)
    if not root.is_dir():
        raise LrfaceError(f"{root}: not a directory")
    images, labels, names = [], [], []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        if len(files) < min_images:
            continue
        names.append(d.name)
        images += files
        labels += [len(names) - 1] * len(files)
    if not images:
        raise LrfaceError(f"no identity folders with >= {min_images} images under {root}")
    return IdentityDataset(images, np.array(labels), names)


@dataclass
class IdentificationSplit:
    """Indices into an IdentityDataset: one gallery image per identity, the rest are probes."""

    gallery: np.ndarray
    probes: np.ndarray


def gallery_probe_split(ds: IdentityDataset) -> IdentificationSplit:
    """Rule: identities with >= 2 images; gallery = each identity's first image (sorted by file
    name), probes = all its other images."""
    gallery, probes = [], []
    for label in np.unique(ds.labels):
        idx = np.flatnonzero(ds.labels == label)
        if len(idx) < 2:
            continue
        gallery.append(idx[0])
        probes += idx[1:].tolist()
    if not gallery:
        raise LrfaceError("identification needs identities with at least 2 images")
    return IdentificationSplit(np.array(gallery), np.array(probes))
