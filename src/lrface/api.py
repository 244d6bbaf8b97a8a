"""The library in a dozen calls (re-exported by ``lrface``): each takes paths, arrays or PIL images,
and returns a typed result with ``to_dict()`` / ``to_json()``. The command line is a client of these.

    import lrface
    rec = lrface.load()                                   # the default model (lrface.defaults)
    v = lrface.verify("tiny.png", "photo.jpg", model=rec)  # .decision: same person / different / cannot decide
    faces = lrface.detect("crowd.jpg")                    # every face with its r and quality
    g = lrface.create_gallery("people.lrg", "people/", model=rec)
    for hit in lrface.identify("probe.jpg", g, model=rec):
        print(hit.source, hit.result.identity or hit.result.decision)

``model`` is a model name or a recognizer from ``load`` (load once, pass it on: loading costs
seconds). Decisions use the library's one rule (``lrface.decision``): a name only at the stated
error rate for the faces' effective resolutions, else "unknown" or "cannot decide".
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from .defaults import DEFAULT_DETECTOR, DEFAULT_MODEL, FIND_DETECTOR, ID_METHODS
from .errors import LrfaceError
from .imageio import list_images
from .recognize.batches import EmbeddedSet, embed_paths
from .recognize.faces import FoundFace, find_faces
from .recognize.recognizer import FaceRecognizer, ImageLike, Verification, as_rgb
from .recognize.routing import load_recognizer
from .results import JsonResult
from .search.gallery import EnrollReport, Gallery, SearchResult, enroll, identity_items, new_gallery
from .video.scan import ScanResult


def load(model: str = DEFAULT_MODEL, *, weights: str | None = None, device: str | None = None,
         detector: str = DEFAULT_DETECTOR, batch_size: int = 32) -> FaceRecognizer:
    """A recognizer: a registered or published model name (``lrface models``), routed models included."""
    return load_recognizer(model, weights, device, batch_size, detector)


def _recognizer(model: str | FaceRecognizer | None) -> FaceRecognizer:
    return model if isinstance(model, FaceRecognizer) else load(model or DEFAULT_MODEL)


def verify(image_a: ImageLike, image_b: ImageLike, *, model: str | FaceRecognizer | None = None,
           far: float | None = None, threshold: float | None = None, crop_a: str = "auto",
           crop_b: str = "auto") -> Verification:
    """Are the two faces the same person, at false-accept rate ``far`` for their resolutions?"""
    return _recognizer(model).verify(image_a, image_b, threshold=threshold, framing_a=crop_a, framing_b=crop_b,
                                     far=far)


def embed(images: str | Path | Sequence[str | Path], *, model: str | FaceRecognizer | None = None,
          framing: str = "auto", batch_size: int = 32) -> EmbeddedSet:
    """Embeddings of image files (a folder, one file or a list), in batches; bad files are listed in
    ``failed``, never fatal."""
    paths = list_images(images) if isinstance(images, (str, Path)) and Path(images).is_dir() else \
        [Path(images)] if isinstance(images, (str, Path)) else [Path(p) for p in images]
    return embed_paths(_recognizer(model), paths, framing=framing, batch_size=batch_size, progress=False)


def detect(image: ImageLike, *, detector: str = FIND_DETECTOR, min_r: float = 0.0) -> list[FoundFace]:
    """Every face in an image with its box, landmarks, resolution r and quality."""
    rgb, _ = as_rgb(image)
    return find_faces(rgb, detector, min_r)


def create_gallery(path: str | Path, folder: str | Path, *, model: str | FaceRecognizer | None = None,
                   name: str | None = None, index: str = "flat") -> Gallery:
    """Enrol ``folder`` (one sub-folder per identity, or images of one person ``name``) into a new
    gallery file at ``path``."""
    rec = _recognizer(model)
    g = new_gallery(rec, index)
    report = enroll(g, rec, identity_items(folder, name), progress=False)
    if not len(g):
        raise LrfaceError(f"no usable image under {folder} ({len(report.refused)} refused)")
    g.save(path)
    return g


def open_gallery(path: str | Path) -> Gallery:
    return Gallery.load(path)


def add_to_gallery(gallery: Gallery, source: str | Path, *, model: str | FaceRecognizer | None = None,
                   name: str | None = None, save_to: str | Path | None = None) -> EnrollReport:
    """Enrol more images (identity folders, or images of ``name``); saved when ``save_to`` is given."""
    rec = _recognizer(model or gallery.model)
    report = enroll(gallery, rec, identity_items(source, name), progress=False)
    if save_to is not None:
        gallery.save(save_to)
    return report


@dataclass
class Identification(JsonResult):
    """One probe face: where it came from, how much detail it holds, and the open-set answer."""

    source: str
    face: Any  # PreparedFace
    expert: str
    result: SearchResult

    def to_dict(self) -> dict[str, Any]:
        box = None if self.face.box is None else [round(v, 1) for v in self.face.box]
        return {"probe": self.source, "expert": self.expert, "box": box, "n_faces": self.face.n_faces,
                **self.result.to_dict()}


@dataclass
class Skipped(JsonResult):
    """A probe that could not be read or held no face (batch calls go on)."""

    source: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"probe": self.source, "skipped": self.reason}


def identify(probes: ImageLike | Sequence[ImageLike], gallery: Gallery | str | Path, *,
             model: str | FaceRecognizer | None = None, top_k: int = 5, fpir: float | None = None,
             threshold: float | None = None, framing: str = "auto", aligned: bool = False, over: str = "fused",
             all_faces: bool = False, method: str = "plain", scales: Sequence[int] = (2, 4, 8),
             degradations: int = 16, fusion: str = "s_max_add") -> Iterator[Identification | Skipped]:
    """Who is in each probe? Open-set: a name only at false-positive identification rate ``fpir``
    for this gallery's size and the probe's effective resolution. ``method="mitm"``: meet-in-the-middle
    ranking (``scales``, ``degradations``, ``fusion``), the same decision rule."""
    g = gallery if isinstance(gallery, Gallery) else Gallery.load(gallery)
    rec = _recognizer(model or g.model)
    items = list(probes) if isinstance(probes, (list, tuple)) else [probes]
    if method not in ID_METHODS:
        raise LrfaceError(f"unknown method {method!r}: {' or '.join(ID_METHODS)}")
    if all_faces:
        found = g.identify_all_faces(rec, items, top_k, over, threshold, fpir)
    else:
        from .search.mitm_search import MitmSearch

        searcher = g if method == "plain" else MitmSearch(rec, g, scales, degradations, fusion)
        found = searcher.identify(rec, items, top_k, framing, aligned, over, threshold, fpir=fpir)
    for source, face, res in found:
        if res is None:
            yield Skipped(str(source), str(face))
        else:
            yield Identification(str(source), face, rec.expert_for_face(face), res)


def scan(source: str | Path, gallery: Gallery | str | Path | None = None, *,
         model: str | FaceRecognizer | None = None, every: int = 1, min_detections: int = 2, top_k: int = 3,
         threshold: float | None = None, fpir: float | None = None, detector: str = FIND_DETECTOR) -> ScanResult:
    """Find, follow and name the people in a video or a folder of frames."""
    from .video.scan import scan as run_scan

    g = gallery if gallery is None or isinstance(gallery, Gallery) else Gallery.load(gallery)
    rec = model if isinstance(model, FaceRecognizer) else \
        load(model or (g.model if g is not None else DEFAULT_MODEL), detector=detector)
    return run_scan(Path(source), rec, g, every, min_detections, top_k, threshold, fpir=fpir)


def evaluate(dataset: str = "lfw", *, model: str = DEFAULT_MODEL, resolutions: Sequence[int] = (7, 14, 20),
             modes: Sequence[str] = ("cr", "er"), protocols: str | None = None, folds: int | None = None,
             data_root: str | None = None) -> Any:
    """Verification accuracy at full, cross and equal resolution (and protocol files): the sweep
    ``lrface eval`` runs, returned as its ``SweepOutput`` (``.results`` rows)."""
    from .degrade import Reduce
    from .eval.sweep import load_pairset, load_protocols, restrict_folds, run_sweep
    from .recognize.embeddings import Embedder

    pairs = load_pairset(dataset, None, data_root)
    protos = load_protocols(protocols, dataset)
    pairs, protos = restrict_folds(pairs, protos, folds)
    return run_sweep(Embedder(load(model), Reduce()), pairs, list(resolutions), list(modes), protos)


__all__ = ["Identification", "Skipped", "add_to_gallery", "create_gallery", "detect", "embed", "evaluate", "identify",
           "load", "open_gallery", "scan", "verify"]
