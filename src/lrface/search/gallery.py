"""A persistent gallery: enrol ID photos once, search many probes with a real vector index.

Storage: one ``.npz`` file (numpy arrays and a JSON header, read with ``allow_pickle=False``;
nothing in it is ever executed), written atomically. It holds every enrolled template (L2-normalised
embedding, identity, measured resolution r, quality, source file and its SHA-1) and the
recognizer it was made with (name, weights digest). A gallery opened with another recognizer is
refused. Each identity also has a fused template: the quality-weighted mean of its templates.

Search: FAISS inner-product indexes over the fused templates (or over every template, best
per identity): ``flat`` (exact, default), ``ivf`` (inverted lists, ``nprobe``) or ``hnsw``
(graph, ``ef_search``). Open-set: the best identity is accepted only when its score reaches the
recognizer's open-set threshold for the probe's effective resolution, the gallery's size N and the
false-positive identification rate (``lrface.decision``); otherwise the answer is ``unknown``, and
a probe below the quality floor is ``cannot decide``.
"""
from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..defaults import INDEX_KINDS  # noqa: E402  (written once, in lrface.defaults)
from ..errors import LrfaceError
from ..results import JsonResult


def face_score(face: Any) -> float:
    """A prepared face's quality score (``lrface.recognize.quality``), 1.0 when it was not measured."""
    return float(face.quality.score) if getattr(face, "quality", None) is not None else 1.0


def fuse_templates(emb: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Quality-weighted mean of L2-normalised templates, normalised again (template fusion)."""
    w = np.ones(len(emb), np.float32) if weights is None else np.maximum(np.asarray(weights, np.float32), 1e-3)
    f = (emb * w[:, None]).sum(0)
    return (f / max(float(np.linalg.norm(f)), 1e-12)).astype(np.float32)


def top_identities(idents: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best identities of scored templates, each by its best template: (identity, score)."""
    best: dict[int, float] = {}
    for ident, sc in zip(idents, scores):
        best[int(ident)] = max(best.get(int(ident), -np.inf), float(sc))
    return sorted(best.items(), key=lambda kv: -kv[1])[:k]


@dataclass
class Match:
    """One ranked identity: the calibrated score that decides, its threshold, and the score that
    ranked it when another matcher (meet in the middle) ranks."""

    name: str
    score: float
    threshold: float | None
    rank_score: float | None = None

    @property
    def accepted(self) -> bool:
        return self.threshold is not None and self.score >= self.threshold


@dataclass
class SearchResult(JsonResult):
    """Top-k identities for one probe and the decision: ``match`` (``identity`` is the best
    match), ``unknown`` (nobody reaches the open-set threshold) or ``cannot decide`` (the probe's
    quality is below the floor: ``reason`` says why; no name is given whatever the scores)."""

    matches: list[Match]
    probe_r: float
    reason: str | None = None
    quality: dict[str, Any] | None = None
    fpir: float | None = None

    @property
    def decision(self) -> str:
        from ..decision import MATCH, UNDECIDED, UNKNOWN

        if self.reason is not None:
            return UNDECIDED
        return MATCH if self.matches and self.matches[0].accepted else UNKNOWN

    @property
    def identity(self) -> str | None:
        from ..decision import MATCH

        return self.matches[0].name if self.decision == MATCH else None

    def to_dict(self) -> dict[str, Any]:
        return {"identity": self.identity, "decision": self.decision, "reason": self.reason,
                "probe_r": round(self.probe_r, 2), "fpir": self.fpir, "quality": self.quality,
                "matches": [{"name": m.name, "score": round(m.score, 5),
                             "threshold": None if m.threshold is None else round(m.threshold, 5),
                             "accepted": m.accepted and self.reason is None,
                             **({} if m.rank_score is None else {"rank_score": round(m.rank_score, 5)})}
                            for m in self.matches]}


@dataclass
class Gallery:
    model: str
    model_id: str
    dim: int
    names: list[str] = field(default_factory=list)
    emb: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    ident: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    r: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    quality: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    sources: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    index_kind: str = "flat"
    index_params: dict[str, int] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    _index: Any = field(default=None, repr=False)
    _index_over: str = field(default="", repr=False)
    _fused: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    journal: list[tuple] = field(default_factory=list, repr=False)  # adds / removes since loaded (``save``)

    def __post_init__(self) -> None:
        if self.emb.size == 0:
            self.emb = np.zeros((0, self.dim), np.float32)
        if self.index_kind not in INDEX_KINDS:
            raise LrfaceError(f"unknown index {self.index_kind!r}; choose from {', '.join(INDEX_KINDS)}")

    # ---- contents
    def __len__(self) -> int:
        return len(self.ident)

    def counts(self) -> dict[str, int]:
        c = np.bincount(self.ident, minlength=len(self.names)) if len(self.ident) else np.zeros(len(self.names), int)
        return {n: int(k) for n, k in zip(self.names, c)}

    def add(self, name: str, emb: np.ndarray, r: Sequence[float], qual: Sequence[float], sources: Sequence[str],
            content: Sequence[str]) -> int:
        """Enrol templates of ``name``; templates of a file already enrolled for it are skipped."""
        emb = np.asarray(emb, np.float32).reshape(-1, self.dim)
        if not np.isfinite(emb).all():
            raise LrfaceError("refusing to enrol non-finite embeddings")
        if name not in self.names:
            self.names.append(name)
        k = self.names.index(name)
        have = {c for c, i in zip(self.content, self.ident) if i == k}
        keep = [j for j, c in enumerate(content) if c not in have]
        if not keep:
            return 0
        self.emb = np.concatenate([self.emb, emb[keep]])
        self.ident = np.concatenate([self.ident, np.full(len(keep), k, np.int64)])
        self.r = np.concatenate([self.r, np.asarray(r, np.float32)[keep]])
        self.quality = np.concatenate([self.quality, np.asarray(qual, np.float32)[keep]])
        self.sources += [str(sources[j]) for j in keep]
        self.content += [str(content[j]) for j in keep]
        self._index, self._fused = None, None
        self.journal.append(("add", name, emb[keep], np.asarray(r, np.float32)[keep], np.asarray(qual, np.float32)[keep],
                             [str(sources[j]) for j in keep], [str(content[j]) for j in keep]))
        return len(keep)

    def remove(self, name: str) -> int:
        """Remove an identity and all its templates; returns how many templates went."""
        if name not in self.names:
            raise LrfaceError(f"no identity {name!r} in the gallery")
        k = self.names.index(name)
        keep = self.ident != k
        n = int((~keep).sum())
        self.emb, self.r, self.quality = self.emb[keep], self.r[keep], self.quality[keep]
        self.sources = [s for s, m in zip(self.sources, keep) if m]
        self.content = [c for c, m in zip(self.content, keep) if m]
        ident = self.ident[keep]
        self.ident = np.where(ident > k, ident - 1, ident)
        del self.names[k]
        self._index, self._fused = None, None
        self.journal.append(("remove", name))
        return n

    def fused(self) -> tuple[np.ndarray, np.ndarray]:
        """One template per identity (quality-weighted mean) and its resolution (the best template's)."""
        if self._fused is None:  # vectorised: a million identities fuse in a second
            n = len(self.names)
            w = np.maximum(self.quality.astype(np.float32), 1e-3)
            out = np.zeros((n, self.dim), np.float32)
            np.add.at(out, self.ident, self.emb * w[:, None])
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
            res = np.zeros(n, np.float32)
            np.maximum.at(res, self.ident, self.r.astype(np.float32))
            self._fused = (out, res)
        return self._fused

    # ---- index
    def _build_index(self, vectors: np.ndarray) -> Any:
        import faiss

        d = self.dim
        vectors = np.ascontiguousarray(vectors, np.float32)
        index: Any
        if self.index_kind == "flat" or len(vectors) < 1000:
            index = faiss.IndexFlatIP(d)
        elif self.index_kind == "ivf":
            nlist = int(self.index_params.get("nlist", max(16, int(4 * math.sqrt(len(vectors))))))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
            rng = np.random.default_rng(0)
            sample = vectors if len(vectors) <= 100 * nlist else vectors[rng.choice(len(vectors), 100 * nlist, replace=False)]
            index.train(sample)
            index.nprobe = int(self.index_params.get("nprobe", 32))
        else:
            index = faiss.IndexHNSWFlat(d, int(self.index_params.get("m", 32)), faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = int(self.index_params.get("ef_construction", 80))
            index.hnsw.efSearch = int(self.index_params.get("ef_search", 64))
        index.add(vectors)
        return index

    def index(self, over: str = "fused") -> Any:
        if self._index is None or self._index_over != over:
            vectors = self.fused()[0] if over == "fused" else self.emb
            self._index, self._index_over = self._build_index(vectors), over
        return self._index

    # ---- search
    def search(self, probes: np.ndarray, probe_r: Sequence[float], rec: Any = None, k: int = 5,
               over: str = "fused", threshold: float | None = None, fpir: float | None = None,
               faces: Sequence[Any] | None = None) -> list[SearchResult]:
        """Top-k identities per probe (L2-normalised embeddings, Q x D) with open-set decisions:
        ``threshold``, else the recognizer's open-set threshold for the probe's r and this gallery's
        size at ``fpir`` (``lrface.decision``). ``faces`` (the prepared probes): a probe below the
        quality floor gets "cannot decide"."""
        from ..decision import DEFAULT_FPIR, open_set_threshold, undecidable

        if k < 1:
            raise LrfaceError(f"k must be at least 1, got {k}")
        probes = np.ascontiguousarray(np.asarray(probes, np.float32).reshape(-1, self.dim))
        if not len(self.names) or not len(self.ident):
            raise LrfaceError("the gallery is empty")
        fused_r = self.fused()[1]
        if over == "fused":
            scores, idx = self.index("fused").search(probes, min(k, len(self.names)))
            rows = [[(int(i), float(s)) for i, s in zip(ir, sr) if i >= 0] for ir, sr in zip(idx, scores)]
        else:  # every template, best per identity
            counts = np.bincount(self.ident)
            kk = min(len(self.ident), k * int(counts.max()))
            scores, idx = self.index("templates").search(probes, kk)
            rows = [top_identities(self.ident[ir[ir >= 0]], sr[ir >= 0], k) for ir, sr in zip(idx, scores)]
        out = []
        fpir = DEFAULT_FPIR if fpir is None else fpir
        n = len(self.names)
        for j, (row, pr) in enumerate(zip(rows, probe_r)):
            matches = []
            for ident, s in row:
                thr = threshold
                if thr is None and rec is not None:
                    thr = open_set_threshold(rec, float(pr), n, fpir, float(fused_r[ident]))
                matches.append(Match(self.names[ident], s, thr))
            face = faces[j] if faces is not None else None
            q = getattr(face, "quality", None)
            out.append(SearchResult(matches, float(pr), undecidable(face), None if q is None else q.to_dict(),
                                    None if threshold is not None else fpir))
        return out

    def identify(self, rec: Any, images: Sequence[Any], k: int = 5, framing: str = "auto", aligned: bool = False,
                 over: str = "fused", threshold: float | None = None, batch_size: int = 32,
                 fpir: float | None = None) -> Iterator[tuple[str, Any, "SearchResult | None"]]:
        """Identify probe images (paths, arrays or PIL images), embedded in batches: yields (source,
        prepared face or the reason it was skipped, result or None)."""
        from ..recognize.batches import embedded_batches

        self.check_recognizer(rec)
        for bad, ok, emb in embedded_batches(rec, images, aligned, framing, batch_size):
            yield from ((p, reason, None) for p, reason in bad)
            if ok:
                found = self.search(emb, [f.r for _, f in ok], rec, k, over, threshold, fpir, [f for _, f in ok])
                yield from ((p, f, r) for (p, f), r in zip(ok, found))

    def identify_all_faces(self, rec: Any, images: Sequence[Any], k: int = 5, over: str = "fused",
                           threshold: float | None = None,
                           fpir: float | None = None) -> Iterator[tuple[str, Any, "SearchResult | None"]]:
        """As ``identify``, for every detected face of each probe photo (not only the largest)."""
        self.check_recognizer(rec)
        for p in images:
            try:
                faces = rec.prepare_all(p)
            except LrfaceError as e:
                yield str(p), str(e).removeprefix(f"{p}: "), None
                continue
            if not faces:
                yield str(p), "no face found", None
                continue
            emb = rec.embed_assessed(faces)
            for f, res in zip(faces, self.search(emb, [f.r for f in faces], rec, k, over, threshold, fpir, faces)):
                yield str(p), f, res

    # ---- persistence (``search.persist``: SQLite, the record; legacy .npz read and import)
    def save(self, path: str | Path, replace: bool = False) -> None:
        """Write to ``path``: a new file (or ``replace``) gets everything; an existing gallery gets
        this object's changes since it was loaded, in one transaction (other writers' are kept)."""
        from .persist import save_gallery

        save_gallery(self, Path(path), replace)

    @classmethod
    def load(cls, path: str | Path) -> "Gallery":
        from .persist import load_gallery

        return load_gallery(cls, Path(path))

    def check_recognizer(self, rec: Any) -> None:
        """Refuse to search with another recognizer than the one that made the templates."""
        if rec.model_id != self.model_id:
            raise LrfaceError(f"gallery was enrolled with {self.model} (weights {self.model_id}); "
                              f"this recognizer is {rec.model_name} ({rec.model_id}): re-create the gallery")


def new_gallery(rec: Any, index: str = "flat", index_params: dict[str, int] | None = None) -> Gallery:
    return Gallery(rec.model_name, rec.model_id, rec.embedding_dim, index_kind=index,
                   index_params=dict(index_params or {}),
                   meta={"created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")})


@dataclass
class EnrollReport(JsonResult):
    added: int = 0
    skipped_duplicates: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file, reason): never enrolled

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "skipped_duplicates": self.skipped_duplicates,
                "refused": [{"file": f, "reason": r} for f, r in self.refused]}


def identity_items(folder: str | Path, name: str | None = None) -> list[tuple[str, Path]]:
    """(identity, image) pairs: ``folder/<identity>/<image>``, or every image of ``folder`` (or the
    single image ``folder``) for the identity ``name``."""
    from ..imageio import IMAGE_SUFFIXES, list_images

    folder = Path(folder)
    if name is not None and not name.strip():
        raise LrfaceError("an identity name cannot be empty")
    if name is not None:
        files = [folder] if folder.is_file() else list_images(folder)
        return [(name, f) for f in files]
    if not folder.exists():
        raise LrfaceError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise LrfaceError(f"{folder}: not a folder (one sub-folder per identity), or give --name")
    items = []
    for d in sorted(p for p in folder.iterdir() if p.is_dir()):
        items += [(d.name, f) for f in sorted(d.rglob("*")) if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
    loose = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if loose and not items:
        raise LrfaceError(f"{folder} holds images but no identity sub-folders: give --name for one person")
    return items


def enroll(gallery: Gallery, rec: Any, items: Sequence[tuple[str, Path]], framing: str = "photo",
           batch_size: int = 32, progress: bool = True) -> EnrollReport:
    """Embed and add every (identity, image); images without a usable face are refused and listed."""
    from tqdm import tqdm

    from ..data.facecache import content_key
    from ..recognize.batches import embedded_batches

    report = EnrollReport()
    by_name: dict[str, list[Path]] = {}
    for name, path in items:
        by_name.setdefault(name, []).append(Path(path))

    with tqdm(total=len(items), desc="enrol", unit="img", disable=not progress) as bar:
        for name, paths in by_name.items():
            for bad, ok, emb in embedded_batches(rec, paths, framing=framing, batch_size=batch_size):
                bar.update(len(bad) + len(ok))
                report.refused += bad
                keep = [j for j, (_, f) in enumerate(ok) if not getattr(f, "no_face", False)]
                report.refused += [(p, f"{p}: no face found in the crop") for j, (p, _) in enumerate(ok) if j not in keep]
                ok, emb = [ok[j] for j in keep], emb[keep]
                if not ok:
                    continue
                faces = [f for _, f in ok]
                n = gallery.add(name, emb, [f.r for f in faces], [face_score(f) for f in faces],
                                [p for p, _ in ok], [content_key(p) for p, _ in ok])
                report.added += n
                report.skipped_duplicates += len(ok) - n
    return report
