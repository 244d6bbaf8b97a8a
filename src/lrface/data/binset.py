"""insightface ``.bin`` verification sets (lfw.bin, agedb_30.bin, cfp_fp.bin, ...), without mxnet.

A ``.bin`` is a pickle of ``(bins, issame)``: ``bins`` the encoded images (JPEG/PNG bytes) in
pairs order, ``issame`` one bool per pair. Pickles can run code, so they are read with an
unpickler that refuses every global except numpy's array reconstruction helpers.
"""
from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import LrfaceError
from ..paths import cache_dir
from .pairs import PairSet

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("builtins", "bytearray"),
}


def _bytearray_of_data(*args: object) -> bytearray:
    """``bytearray`` for data only: ``bytearray(2**45)`` in a hostile pickle would allocate 32 TiB."""
    if args and not isinstance(args[0], (bytes, bytearray, memoryview)):
        raise pickle.UnpicklingError("refusing bytearray() of anything but bytes")
    return bytearray(*args)  # type: ignore[arg-type]


class RestrictedUnpickler(pickle.Unpickler):
    """Only plain containers, bytes, numbers, bools and numpy arrays; anything else is refused."""

    def find_class(self, module: str, name: str):  # type: ignore[no-untyped-def]
        if (module, name) == ("builtins", "bytearray"):
            return _bytearray_of_data
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")


def _as_bytes(b: object) -> bytes:
    if isinstance(b, (bytes, bytearray)):
        return bytes(b)
    if isinstance(b, np.ndarray) and b.dtype == np.uint8:
        return b.tobytes()
    raise LrfaceError(f"unexpected image entry of type {type(b).__name__} in .bin (expected encoded bytes)")


def read_bin(path: str | Path) -> tuple[list[bytes], np.ndarray]:
    """(encoded images, issame per pair) from an insightface .bin, safely."""
    try:
        with open(path, "rb") as fh:
            obj = RestrictedUnpickler(fh, encoding="bytes").load()
    except OSError as e:
        raise LrfaceError(f"cannot read {path}: {e.strerror}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError, OverflowError) as e:
        raise LrfaceError(f"{path}: not a valid insightface .bin ({type(e).__name__}: {str(e)[:200]})") from None
    if not (isinstance(obj, (tuple, list)) and len(obj) == 2):
        raise LrfaceError(f"{path}: expected a (bins, issame) pair")
    bins, issame = obj
    if not isinstance(bins, (list, tuple)) or not isinstance(issame, (list, tuple, np.ndarray)):
        raise LrfaceError(f"{path}: expected a (bins, issame) pair of lists, got ({type(bins).__name__}, "
                          f"{type(issame).__name__})")
    images = [_as_bytes(b) for b in bins]
    flags = np.asarray(issame, dtype=object).ravel() if len(issame) else np.zeros(0, object)
    if np.asarray(issame, dtype=object).ndim != 1 or not all(isinstance(v, (bool, np.bool_)) or v in (0, 1)
                                                            for v in flags):
        raise LrfaceError(f"{path}: issame must be a list of booleans")
    same = np.asarray(list(issame), dtype=bool)
    if len(images) != 2 * len(same):
        raise LrfaceError(f"{path}: {len(images)} images for {len(same)} pairs")
    return images, same


def write_bin(path: str | Path, pairs: PairSet) -> None:
    """Write a PairSet as an insightface .bin (image files' bytes as stored, pairs order)."""
    bins = []
    for a, b in zip(pairs.left, pairs.right):
        bins += [pairs.images[a].read_bytes(), pairs.images[b].read_bytes()]
    data = pickle.dumps((bins, [bool(s) for s in pairs.same]), protocol=4)
    atomic_write_bytes(path, data)


def bin_pairs(path: str | Path, n_folds: int = 10) -> PairSet:
    """A .bin as a PairSet: images unpacked (content-addressed) into the cache, folds = equal
    consecutive blocks of pairs (the insightface convention)."""
    images, same = read_bin(path)
    out_dir = cache_dir() / "bin-images" / Path(path).stem
    out_dir.mkdir(parents=True, exist_ok=True)
    index: dict[Path, int] = {}
    ids = []
    for data in images:
        ext = ".png" if data[:8] == b"\x89PNG\r\n\x1a\n" else ".jpg"
        f = out_dir / (hashlib.sha1(data).hexdigest() + ext)
        if not f.is_file():
            atomic_write_bytes(f, data)
        ids.append(index.setdefault(f, len(index)))
    ids_arr = np.array(ids)
    n = len(same)
    folds = (np.arange(n) * n_folds // max(n, 1)).astype(np.int64)
    return PairSet(Path(path).stem, list(index), ids_arr[0::2], ids_arr[1::2], same, folds)


