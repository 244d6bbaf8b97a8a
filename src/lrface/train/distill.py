"""The distillation set: aligned chips + the HR expert's embeddings, computed once and cached.

The LR expert learns to map a low-resolution face onto the HR expert's embedding of the same
face, so every training image needs only its aligned chip and the teacher's embedding of it
(and of its mirror image). Both are computed once per (images, teacher, chip size) and stored in
one compact file (chips as JPEG q95, no pickle), small enough to carry to a GPU machine.

Sources are folders under the data root: identity folders (``root/<id>/<img>``, e.g.
``celeba-subset``) or flat folders of single images (``utkface/aligned``: one identity per image;
its file names start with the age, ``min_age`` filters children out).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from ..atomic import atomic_write
from ..data.facecache import FAILED, aligned_crops, content_key
from ..errors import LrfaceError
from ..imageio import IMAGE_SUFFIXES
from ..paths import cache_dir, data_root

FORMAT_VERSION = 1


@dataclass
class DistillSet:
    """Chips (N x S x S x 3 uint8, dlib framing), labels (identity per image), teacher embeddings
    (N x 2 x D, L2-normalised: the chip and its mirror image) and provenance."""

    chips: np.ndarray
    labels: np.ndarray
    teacher: np.ndarray
    meta: dict

    def __len__(self) -> int:
        return len(self.labels)


def _age(path: Path) -> int | None:
    m = re.match(r"(\d+)_", path.name)
    return int(m.group(1)) if m else None


def list_source(root: Path, min_age: int = 0) -> tuple[list[Path], list[str]]:
    """Images of one source and an identity name per image (folder name, or the file for flat folders)."""
    if not root.is_dir():
        raise LrfaceError(f"{root}: not a directory")
    if "lfw" in str(root).lower():
        raise LrfaceError(f"refusing to distil on {root}: LFW is evaluation data")
    subdirs = sorted(p for p in root.iterdir() if p.is_dir())
    files, ids = [], []
    if subdirs:
        for d in subdirs:
            for f in sorted(d.iterdir()):
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                    files.append(f)
                    ids.append(f"{root.name}/{d.name}")
    else:
        for f in sorted(root.iterdir()):
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                age = _age(f)
                if min_age and age is not None and age < min_age:
                    continue
                files.append(f)
                ids.append(f"{root.name}/{f.name}")
    if not files:
        raise LrfaceError(f"no images under {root}")
    return files, ids


def _encode(chips: np.ndarray, quality: int = 95) -> tuple[np.ndarray, np.ndarray]:
    blobs = []
    for c in chips:
        ok, buf = cv2.imencode(".jpg", c[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise LrfaceError("JPEG encoding failed")
        blobs.append(buf.reshape(-1))
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    return np.concatenate(blobs).astype(np.uint8), offsets


def _bgr_decode(blob: np.ndarray) -> np.ndarray:
    img = cv2.imdecode(blob, cv2.IMREAD_COLOR)
    if img is None:
        raise LrfaceError("the distillation set holds an undecodable chip: delete its cache file to rebuild it")
    return img


def _decode(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    out = [_bgr_decode(data[offsets[i] : offsets[i + 1]])[..., ::-1] for i in range(len(offsets) - 1)]
    return np.ascontiguousarray(np.stack(out))


def save_distill_set(path: Path, ds: DistillSet) -> None:
    data, offsets = _encode(ds.chips)

    def write(p: Path) -> None:
        with open(p, "wb") as fh:
            np.savez(fh, jpeg=data, offsets=offsets, labels=ds.labels.astype(np.int64),
                     teacher=ds.teacher.astype(np.float32), meta=np.array(json.dumps(ds.meta)))

    atomic_write(path, write)


def load_distill_set(path: str | Path) -> DistillSet:
    """Read a distillation set file (no pickle); one clear error if it is not one."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            chips = _decode(z["jpeg"], z["offsets"])
            ds = DistillSet(chips, z["labels"], z["teacher"], meta)
    except (OSError, KeyError, ValueError, cv2.error) as e:
        raise LrfaceError(f"{path}: not a readable distillation set ({e})") from None
    if meta.get("version") != FORMAT_VERSION or len(ds.chips) != len(ds.labels) != len(ds.teacher):
        raise LrfaceError(f"{path}: distillation set of another format version or inconsistent")
    return ds


@torch.inference_mode()
def teacher_embeddings(rec, chips150: np.ndarray) -> np.ndarray:
    """(N, 2, D) L2-normalised teacher embeddings of each chip and its mirror image."""
    plain = rec.embed_crops(chips150)
    mirrored = rec.embed_crops(np.ascontiguousarray(chips150[:, :, ::-1]))
    return np.stack([plain, mirrored], 1)


def build_distill_set(sources: Sequence[str], teacher: str = "dlib_resnet", chip: int = 64, min_age: int = 13,
                      root: str | Path | None = None, out: str | Path | None = None,
                      progress: bool = True) -> Path:
    """Build (or find cached) the distillation set of ``sources``; returns its path."""
    from ..degrade.lowres import resample
    from ..models.base import model_digest
    from ..recognize.recognizer import Recognizer

    files, ids = [], []
    for s in sources:
        p = Path(s) if Path(s).is_absolute() else data_root(root) / s
        f, i = list_source(p, min_age)
        files += f
        ids += i
    keys = [content_key(f) for f in files]
    rec = Recognizer(teacher, device="auto")
    config = json.dumps({"v": FORMAT_VERSION, "teacher": model_digest(rec.model), "chip": chip,
                         "keys": hashlib.sha1("".join(keys).encode()).hexdigest()})
    path = Path(out) if out else cache_dir() / "distill" / f"{hashlib.sha1(config.encode()).hexdigest()[:20]}.npz"
    if path.is_file():
        try:
            ds = load_distill_set(path)
            if ds.meta.get("config") == config:
                return path
        except LrfaceError:
            pass
    cs = aligned_crops(files, rec.style, rec.input_size[0], progress=progress)
    ok = np.flatnonzero(cs.status != FAILED)
    if not len(ok):
        raise LrfaceError("no face could be aligned in the distillation sources")
    crops = cs.crops[ok]
    emb = np.concatenate([teacher_embeddings(rec, crops[i : i + 256]) for i in range(0, len(crops), 256)])
    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255)
    small = torch.cat([resample(x[i : i + 512], chip) for i in range(0, len(x), 512)])
    chips = (small.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    _, labels = np.unique(np.array(ids)[ok], return_inverse=True)
    meta = {"version": FORMAT_VERSION, "config": config, "teacher": teacher, "sources": list(sources),
            "min_age": min_age, "chip": chip, "images": int(len(ok)), "skipped": int(len(files) - len(ok)),
            "identities": int(labels.max() + 1)}
    save_distill_set(path, DistillSet(chips, labels, emb, meta))
    return path
