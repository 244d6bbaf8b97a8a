"""Batches of images through a recognizer: prepare one by one, embed many at a time, never stop on a
bad file (``embed_paths``, ``embedded_batches``), with the model's flip agreement filled into each
face's quality on the way."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from ..errors import LrfaceError
from ..results import JsonResult
from .recognizer import FaceRecognizer, PreparedFace


@dataclass
class EmbeddedSet(JsonResult):
    """Embeddings of a batch of files: the good ones with their measured r and expert, the bad ones
    with one-line reasons."""

    paths: list[str]
    embeddings: np.ndarray
    resolutions: np.ndarray
    experts: list[str]
    failed: list[tuple[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return {"embedded": len(self.paths),
                "faces": [{"path": p, "r": round(float(r), 2), "expert": e}
                          for p, r, e in zip(self.paths, self.resolutions, self.experts)],
                "failed": [{"path": f, "error": e} for f, e in self.failed]}

    def save(self, path: str | Path, model: str) -> None:
        """One .npz (atomic): paths, embeddings, resolutions, experts, model, failed, errors."""
        from ..atomic import atomic_write

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, paths=np.array(self.paths), embeddings=self.embeddings, resolutions=self.resolutions,
                         experts=np.array(self.experts), model=np.array(model),
                         failed=np.array([f for f, _ in self.failed]), errors=np.array([e for _, e in self.failed]))

        atomic_write(path, write)


def embed_paths(rec: FaceRecognizer, paths: Sequence[Path], aligned: bool = False, framing: str = "auto",
                batch_size: int = 32, progress: bool = True) -> EmbeddedSet:
    """Embed every file, batch by batch; bad files are skipped and listed, good ones always kept."""
    from tqdm import tqdm

    good: list[PreparedFace] = []
    names: list[str] = []
    embs: list[np.ndarray] = []
    failed: list[tuple[str, str]] = []
    with tqdm(total=len(paths), desc="embed", unit="img", disable=not progress) as bar:
        for bad, ok, emb in embedded_batches(rec, paths, aligned, framing, batch_size):
            failed += bad
            names += [p for p, _ in ok]
            good += [f for _, f in ok]
            embs.append(emb)
            bar.update(len(bad) + len(ok))
    emb = np.concatenate(embs) if embs else np.zeros((0, int(getattr(rec, "embedding_dim", 0))), np.float32)
    return EmbeddedSet(names, emb, np.array([f.r for f in good], np.float32),
                       [rec.expert_for_face(f) for f in good], failed)


def embedded_batches(rec: FaceRecognizer, images: Iterable, aligned: bool = False, framing: str = "auto",
                     batch_size: int = 32) -> Iterator[tuple[list[tuple[str, str]], list[tuple[str, PreparedFace]],
                                                             np.ndarray]]:
    """Prepare images one by one and embed them ``batch_size`` at a time: yields (skipped (source,
    reason), prepared (source, face), their embeddings) per batch; a bad image never stops the rest."""
    bad: list[tuple[str, str]] = []
    ok: list[tuple[str, PreparedFace]] = []
    for p, face in iter_prepared(rec, images, aligned, framing):
        if isinstance(face, str):
            bad.append((str(p), face))
        else:
            ok.append((str(p), face))
        if len(ok) >= batch_size:
            yield bad, ok, rec.embed_assessed([f for _, f in ok])
            bad, ok = [], []
    if bad or ok:
        yield bad, ok, rec.embed_assessed([f for _, f in ok])



def iter_prepared(rec: FaceRecognizer, paths: Iterable[Path], aligned: bool = False,
                  framing: str = "auto") -> Iterable[tuple[Path, PreparedFace | str]]:
    """Yield (path, PreparedFace) or (path, error message) without stopping on bad files."""
    for p in paths:
        try:
            yield p, rec.prepare(p, aligned, framing)
        except LrfaceError as e:
            yield p, str(e)
