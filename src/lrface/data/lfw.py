"""LFW in the official layout: ``<root>/lfw/lfw-deepfunneled/Name/Name_0001.jpg`` + ``pairs.txt``."""
from __future__ import annotations

from pathlib import Path

from ..errors import LrfaceError
from ..paths import data_root
from .pairs import PairSet, read_pairs

LFW_HELP = ("LFW not found at {path}. Download lfw-deepfunneled.tgz and pairs.txt from the official LFW "
            "site (vis-www.cs.umass.edu/lfw), unpack to <data-root>/lfw/, and pass --data-root or set LRFACE_DATA.")


def lfw_dir(root: str | Path | None = None) -> Path:
    d = data_root(root) / "lfw"
    if not (d / "lfw-deepfunneled").is_dir():
        raise LrfaceError(LFW_HELP.format(path=d))
    return d


def lfw_pairs(root: str | Path | None = None, pairs_file: str = "pairs.txt") -> PairSet:
    """An LFW pairs file (View 2 ``pairs.txt`` by default; ``pairsDevTrain.txt`` etc. for View 1)."""
    d = lfw_dir(root)
    name = "lfw" if pairs_file == "pairs.txt" else f"lfw-{Path(pairs_file).stem}"
    return read_pairs(d / pairs_file, d / "lfw-deepfunneled", name=name)
