"""Scan footage for known people: frames -> faces -> tracks -> fused track templates -> gallery.

``scan`` reads a video (OpenCV, every ``every``-th frame) or a folder of frames, finds every face
with the small-face detector, follows faces across frames with an IoU + embedding tracker, gives
each face a quality (``lrface.recognize.quality``: effective resolution, pose, ...), fuses each track's embeddings
weighted by quality (template fusion T_add of the meet-in-the-middle module, eq. 4, with weights)
and matches each track against a gallery with the threshold calibrated for the track's
resolution. Results: JSON, CSV and an HTML contact sheet (best crop per track, top matches).
A frame that cannot be decoded ends the scan with a clear message; the tracks so far are kept.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

# decoder chatter (FFmpeg's "[mjpeg @ 0x...] ..." lines) stays out of scan's output: a broken frame
# is reported once, by scan, as one line
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
import cv2  # noqa: E402
import numpy as np
from PIL import Image

from ..atomic import atomic_write_text
from ..errors import LrfaceError
from ..imageio import IMAGE_SUFFIXES, MAX_PIXELS, load_image
from ..recognize.recognizer import PreparedFace
from ..results import JsonResult
from ..search.gallery import face_score

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    """One person followed across frames: every face's frame, box, r and quality; the recent
    embeddings (association) and the ``keep`` best-quality ones (the template matched to the gallery)."""

    id: int
    frames: list[int] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    qualities: list[float] = field(default_factory=list)
    rs: list[float] = field(default_factory=list)
    recent: list[np.ndarray] = field(default_factory=list)
    embeddings: list[np.ndarray] = field(default_factory=list)
    emb_quality: list[float] = field(default_factory=list)
    emb_r: list[float] = field(default_factory=list)
    best_crop: np.ndarray | None = None
    quality: Any = None  # FaceQuality of the best face: the track is decided on (``decision.undecidable``)
    result: Any = None  # gallery SearchResult once matched

    def add(self, frame: int, face: PreparedFace, emb: np.ndarray, quality: float, keep: int = 4,
            recent: int = 5) -> None:
        if not self.qualities or quality > max(self.qualities):
            self.best_crop, self.quality = face.crop, face.quality
        self.frames.append(frame)
        self.boxes.append(face.box or (0.0, 0.0, 0.0, 0.0))
        self.qualities.append(quality)
        self.rs.append(face.r)
        self.recent = (self.recent + [emb])[-recent:]
        if len(self.embeddings) < keep or quality > min(self.emb_quality):
            if len(self.embeddings) >= keep:
                j = int(np.argmin(self.emb_quality))
                del self.embeddings[j], self.emb_quality[j], self.emb_r[j]
            self.embeddings.append(emb)
            self.emb_quality.append(quality)
            self.emb_r.append(face.r)

    def template(self) -> np.ndarray:
        """Quality-weighted sum of the best faces' embeddings, L2-normalised (weighted T_add, eq. 4)."""
        w = np.asarray(self.emb_quality, np.float64)[:, None]
        t = (np.stack(self.embeddings) * w).sum(0)
        return (t / max(np.linalg.norm(t), 1e-12)).astype(np.float32)

    @property
    def r(self) -> float:
        """The resolution of the fused template: the quality-weighted mean r of its faces."""
        return float(np.average(self.emb_r, weights=np.maximum(self.emb_quality, 1e-6)))

    def mean_embedding(self) -> np.ndarray:
        t = np.stack(self.recent).mean(0)
        return t / max(np.linalg.norm(t), 1e-12)


def _centre(b: tuple[float, float, float, float]) -> np.ndarray:
    return np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])


class Tracker:
    """Identity-checked tracker: every face is embedded, and a face joins an active track only if

    - it lies inside the track's motion gate: its centre within ``gate`` x (1 + frames unseen) box
      widths of the track's last centre moved on by its last velocity, its size within a factor
      of ``max_scale``; and
    - it verifies against the track: the cosine of its embedding and the track's recent mean
      reaches ``threshold(r_face, r_track)`` (scan passes the verification threshold at
      ``decision.TRACK_FAR`` for the two effective resolutions).

    Admissible (face, track) pairs are taken greedily by similarity, one to one; a face with none
    starts a track. So two people who cross, occlude each other or swap places at a scene cut
    are never merged: at worst a person's track is split. Tracks unseen for ``max_gap`` sampled
    frames end."""

    def __init__(self, threshold: Callable[[float, float], float], max_gap: int = 10, keep: int = 4,
                 gate: float = 1.0, max_scale: float = 1.6) -> None:
        self.threshold, self.max_gap, self.keep, self.gate, self.max_scale = threshold, max_gap, keep, gate, max_scale
        self.active: list[Track] = []
        self.done: list[Track] = []
        self._next = 0
        self._step = 0
        self._last: dict[int, int] = {}

    def _gated(self, tr: Track, box: tuple[float, float, float, float]) -> bool:
        last = tr.boxes[-1]
        w, lw = box[2] - box[0], last[2] - last[0]
        if min(w, lw) <= 0 or max(w, lw) / min(w, lw) > self.max_scale:
            return False
        unseen = self._step - self._last[tr.id]
        pred = _centre(last)
        if len(tr.boxes) > 1:
            pred = pred + (_centre(last) - _centre(tr.boxes[-2])) * unseen
        return float(np.linalg.norm(_centre(box) - pred)) <= self.gate * (1 + unseen) * max(w, lw)

    def update(self, frame: int, faces: list[PreparedFace], emb: np.ndarray, qualities: list[float]) -> None:
        """Add one sampled frame's faces with their embeddings (one row per face)."""
        self._step += 1
        boxes = [f.box or (0.0, 0.0, 0.0, 0.0) for f in faces]
        cands = []
        for t, tr in enumerate(self.active):
            mean = tr.mean_embedding()
            for i, f in enumerate(faces):
                if self._gated(tr, boxes[i]):
                    cos = float(mean @ emb[i])
                    if cos >= self.threshold(f.r, tr.rs[-1]):
                        cands.append((cos, i, t))
        face_track: dict[int, int] = {}
        used: set[int] = set()
        for _, i, t in sorted(cands, reverse=True):
            if i not in face_track and t not in used:
                face_track[i] = t
                used.add(t)
        for i in range(len(faces)):
            if i not in face_track:
                self.active.append(Track(self._next))
                self._next += 1
                face_track[i] = len(self.active) - 1
            tr = self.active[face_track[i]]
            tr.add(frame, faces[i], emb[i], qualities[i], self.keep)
            self._last[tr.id] = self._step
        still: list[Track] = []
        for tr in self.active:
            (still if self._step - self._last[tr.id] <= self.max_gap else self.done).append(tr)
        self.active = still

    def finish(self) -> list[Track]:
        self.done += self.active
        self.active = []
        return sorted(self.done, key=lambda t: t.frames[0])


def iter_frames(source: Path, every: int = 1) -> tuple[Iterator[tuple[int, np.ndarray]], int, float]:
    """(frames as (index, RGB), number of frames to expect, frames per second) of a video file or
    a folder of images (sorted by name; 25 fps assumed). Unreadable folder images are skipped;
    a video that cannot be opened is an error."""
    if every < 1:
        raise LrfaceError("--every must be at least 1")
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise LrfaceError(f"no images in {source}")

        def gen_dir() -> Iterator[tuple[int, np.ndarray]]:
            for i in range(0, len(files), every):
                try:
                    yield i, load_image(files[i])
                except LrfaceError as e:
                    yield i, e  # type: ignore[misc]

        return gen_dir(), (len(files) + every - 1) // every, 25.0
    if not source.is_file():
        raise LrfaceError(f"{source}: no such file or folder")
    cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        raise LrfaceError(f"{source}: not a readable video (OpenCV could not open it)")
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    if w * h > MAX_PIXELS:  # the same cap as images (decompression bombs)
        cap.release()
        raise LrfaceError(f"{source}: {w}x{h} frames exceed {MAX_PIXELS / 1e6:.0f} megapixels")
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0) or 25.0
    first_ok, first = cap.read()
    if not first_ok:
        cap.release()
        raise LrfaceError(f"{source}: not a readable video (no frame could be decoded)")

    def gen_video() -> Iterator[tuple[int, np.ndarray]]:
        i, frame = 0, first
        ok: bool = first_ok
        try:
            while True:
                if i % every == 0:
                    yield i, np.ascontiguousarray(frame[..., ::-1])
                i += 1
                if i % every == 0:
                    ok, frame = cap.read()
                else:
                    ok = cap.grab()
                if not ok:
                    if total and i < total:
                        yield i, LrfaceError(f"frame {i} of {total} could not be decoded; scan stopped there")  # type: ignore[misc]
                    break
        finally:
            cap.release()

    return gen_video(), ((total + every - 1) // every if total else 0), fps


@dataclass
class ScanResult(JsonResult):
    tracks: list[Track]
    frames: int
    fps: float
    seconds: float
    errors: list[str]
    every: int

    def to_dict(self) -> dict[str, Any]:
        return {"frames_scanned": self.frames, "every": self.every, "video_fps": self.fps,
                "seconds": round(self.seconds, 2), "scan_fps": round(self.frames / max(self.seconds, 1e-9), 2),
                "errors": self.errors, "tracks": [track_dict(t, self.fps) for t in self.tracks]}


def track_dict(t: Track, fps: float) -> dict[str, Any]:
    res = t.result.to_dict() if t.result is not None else {"identity": None, "decision": None, "matches": []}
    return {"track": t.id, "first_frame": t.frames[0], "last_frame": t.frames[-1],
            "start_s": round(t.frames[0] / fps, 2), "end_s": round(t.frames[-1] / fps, 2), "detections": len(t.frames),
            "r": round(t.r, 1), "best_quality": round(max(t.qualities), 3), **res,
            "faces": [{"frame": f, "box": [round(v, 1) for v in b], "r": round(r, 1), "quality": round(q, 3)}
                      for f, b, r, q in zip(t.frames, t.boxes, t.rs, t.qualities)]}


def track_threshold(rec: Any) -> Callable[[float, float], float]:
    """Scan's association rule: the verification threshold at ``decision.TRACK_FAR`` for the two
    faces' effective resolutions (``FALLBACK_TRACK_THRESHOLD`` for a model without one)."""
    from ..decision import TRACK_FAR, verification_threshold

    def thr(r_a: float, r_b: float) -> float:
        t = verification_threshold(rec, r_a, r_b, TRACK_FAR)
        return FALLBACK_TRACK_THRESHOLD if t is None else t

    return thr


FALLBACK_TRACK_THRESHOLD = 0.9


def scan(source: Path, rec: Any, gallery: Any = None, every: int = 1, min_detections: int = 2, k: int = 3,
         threshold: float | None = None, progress: Callable[[int, int], None] | None = None,
         fpir: float | None = None) -> ScanResult:
    """Detect, track, fuse and match (module doc). ``gallery``: a ``Gallery`` or None (tracks only);
    tracks with fewer than ``min_detections`` faces are dropped as likely false detections."""
    frames, expected, fps = iter_frames(source, every)
    tracker = Tracker(track_threshold(rec))
    errors: list[str] = []
    n = 0
    t0 = time.perf_counter()
    for i, rgb in frames:
        if isinstance(rgb, LrfaceError):
            errors.append(str(rgb))
            if source.is_dir():
                continue
            break
        faces = rec.prepare_all(rgb)
        tracker.update(i, faces, rec.embed_faces(faces), [face_score(f) for f in faces])
        n += 1
        if progress:
            progress(n, expected)
    seconds = time.perf_counter() - t0
    if n == 0:
        raise LrfaceError(f"{source}: no frame could be read" + (f" ({errors[0]})" if errors else ""))
    tracks = [t for t in tracker.finish() if len(t.frames) >= min_detections]
    if gallery is not None and len(gallery) and tracks:  # an empty gallery names nobody (tracks kept)
        found = gallery.search(np.stack([t.template() for t in tracks]), [t.r for t in tracks], rec, k, "fused",
                               threshold, fpir, tracks)
        for t, res in zip(tracks, found):
            t.result = res
    return ScanResult(tracks, n, fps, seconds, errors, every)


def _png_data_uri(rgb: np.ndarray, side: int = 112) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgb).resize((side, side), Image.Resampling.BICUBIC).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def write_outputs(result: ScanResult, out: Path, source: str) -> dict[str, Path]:
    """JSON, CSV and the HTML contact sheet under ``out`` (each written atomically)."""
    data = {"source": source, **result.to_dict()}
    paths = {"json": out / "scan.json", "csv": out / "tracks.csv", "html": out / "contact_sheet.html"}
    atomic_write_text(paths["json"], json.dumps(data, indent=1))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["track", "frame", "time_s", "left", "top", "right", "bottom", "r", "quality", "identity", "decision",
                "top_match", "top_score", "threshold"])
    for t in data["tracks"]:  # one row per face: every face's frame and box, with its track's answer
        top = t["matches"][0] if t["matches"] else {}
        for f in t["faces"]:
            w.writerow([t["track"], f["frame"], round(f["frame"] / result.fps, 3), *f["box"], f["r"], f["quality"],
                        t["identity"] or "", t.get("decision", "") or "", top.get("name", ""), top.get("score", ""),
                        top.get("threshold", "")])
    atomic_write_text(paths["csv"], buf.getvalue())
    cards = []
    for t, d in zip(result.tracks, data["tracks"]):
        who = html.escape(d["identity"] or d.get("decision") or "unknown")
        rows = "".join(f"<li>{html.escape(m['name'])}: {m['score']:.3f}{' &#10003;' if m['accepted'] else ''}</li>"
                       for m in d["matches"])
        img = _png_data_uri(t.best_crop) if t.best_crop is not None else ""
        cards.append(f'<div class="card"><img src="{img}" alt="track {d["track"]}"><h3>{who}</h3>'
                     f'<p>track {d["track"]}: {d["start_s"]:.1f}-{d["end_s"]:.1f} s, {d["detections"]} faces, '
                     f'r {d["r"]:.0f}</p><ol>{rows}</ol></div>')
    page = (f"<!doctype html><meta charset='utf-8'><title>lrface scan: {html.escape(source)}</title>"
            "<style>body{font-family:sans-serif}.card{display:inline-block;width:180px;vertical-align:top;margin:6px;"
            "padding:6px;border:1px solid #ccc}.card img{width:112px;height:112px;image-rendering:pixelated}"
            "h3{margin:4px 0}p,ol{font-size:12px;margin:2px 0}</style>"
            f"<h1>{html.escape(source)}</h1><p>{result.frames} frames scanned (every {result.every}), "
            f"{len(result.tracks)} tracks, {data['scan_fps']} frames/s</p>" + "".join(cards))
    atomic_write_text(paths["html"], page)
    return paths
