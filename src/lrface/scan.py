"""Scan footage for known people: frames -> faces -> tracks -> fused track templates -> gallery.

``scan`` reads a video (OpenCV, every ``every``-th frame) or a folder of frames, finds every face
with the small-face detector, follows faces across frames with an IoU + embedding tracker, gives
each face a quality (its measured resolution r and sharpness), fuses each track's embeddings
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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np
from PIL import Image

from .atomic import atomic_write_text
from .errors import LrfaceError
from .imageio import IMAGE_SUFFIXES, load_image
from .recognizer import PreparedFace

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the grey face chip (higher = sharper)."""
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def face_quality(face: PreparedFace, full_r: float = 112.0) -> float:
    """Quality in (0, 1]: resolution term min(r / full_r, 1) times a sharpness term
    0.25 + 0.75 s / (s + 50), s the Laplacian variance of the chip at the face's own size (a blurred
    face has little Laplacian energy)."""
    chip = face.small_chip if face.small_chip is not None else face.crop
    s = sharpness(chip)
    return float(min(face.r / full_r, 1.0) * (0.25 + 0.75 * s / (s + 50.0)))


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    """One person followed across frames."""

    id: int
    frames: list[int] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    embeddings: list[np.ndarray] = field(default_factory=list)
    qualities: list[float] = field(default_factory=list)
    rs: list[float] = field(default_factory=list)
    emb_quality: list[float] = field(default_factory=list)
    emb_r: list[float] = field(default_factory=list)
    best_crop: np.ndarray | None = None
    result: Any = None  # gallery SearchResult once matched

    def add(self, frame: int, face: PreparedFace, emb: np.ndarray | None, quality: float) -> None:
        """One more face of the track; ``emb`` None when it was not embedded (not among the best)."""
        if not self.qualities or quality > max(self.qualities):
            self.best_crop = face.crop
        self.frames.append(frame)
        self.boxes.append(face.box or (0.0, 0.0, 0.0, 0.0))
        self.qualities.append(quality)
        self.rs.append(face.r)
        if emb is not None:
            self.embeddings.append(emb)
            self.emb_quality.append(quality)
            self.emb_r.append(face.r)

    def embedded_qualities(self) -> list[float]:
        return self.emb_quality

    def template(self) -> np.ndarray:
        """Quality-weighted sum of the embedded faces, L2-normalised (weighted T_add, eq. 4)."""
        w = np.asarray(self.emb_quality, np.float64)[:, None]
        t = (np.stack(self.embeddings) * w).sum(0)
        return (t / max(np.linalg.norm(t), 1e-12)).astype(np.float32)

    @property
    def r(self) -> float:
        """The resolution of the fused template: the quality-weighted mean r of the embedded faces."""
        return float(np.average(self.emb_r, weights=self.emb_quality))

    def mean_embedding(self) -> np.ndarray:
        t = np.stack(self.embeddings[-5:]).mean(0)
        return t / max(np.linalg.norm(t), 1e-12)


class Tracker:
    """Greedy IoU tracker with an embedding check. A face joins the active track with the highest
    IoU >= ``min_iou``; a face that overlaps none is embedded and joins the nearest track (last box
    within 2 box widths) whose recent embeddings have cosine >= ``min_cos``, else starts a track.
    Tracks unseen for ``max_gap`` sampled frames end. Only faces that start a track, need the
    embedding check, or rank among their track's ``keep`` best qualities are embedded: steady
    tracks cost detection only."""

    def __init__(self, min_iou: float = 0.3, min_cos: float = 0.6, max_gap: int = 10, keep: int = 4) -> None:
        self.min_iou, self.min_cos, self.max_gap, self.keep = min_iou, min_cos, max_gap, keep
        self.active: list[Track] = []
        self.done: list[Track] = []
        self._next = 0
        self._step = 0
        self._last: dict[int, int] = {}

    def associate(self, boxes: list[tuple[float, float, float, float]], order: list[int]) -> list[int | None]:
        """Active-track index per face by IoU (faces in ``order``, each track used once), or None."""
        free = set(range(len(self.active)))
        out: list[int | None] = [None] * len(boxes)
        for i in order:
            best, best_v = None, self.min_iou
            for t in free:
                v = iou(boxes[i], self.active[t].boxes[-1])
                if v >= best_v:
                    best, best_v = t, v
            if best is not None:
                free.discard(best)
                out[i] = best
        return out

    def wants_embedding(self, track: int | None, quality: float) -> bool:
        if track is None:
            return True
        q = self.active[track].embedded_qualities()
        return len(q) < self.keep or quality > min(q)

    def update(self, frame: int, faces: list[PreparedFace], embed: Callable[[list[PreparedFace]], np.ndarray],
               qualities: list[float]) -> None:
        """Add one sampled frame's faces; ``embed`` is called once, for the faces that need it."""
        self._step += 1
        boxes = [f.box or (0.0, 0.0, 0.0, 0.0) for f in faces]
        order = sorted(range(len(faces)), key=lambda j: -qualities[j])
        assoc = self.associate(boxes, order)
        need = [i for i in range(len(faces)) if self.wants_embedding(assoc[i], qualities[i])]
        embs: dict[int, np.ndarray] = dict(zip(need, embed([faces[i] for i in need]))) if need else {}
        taken = {t for t in assoc if t is not None}
        for i in order:
            t = assoc[i]
            if t is None:
                t = self._reidentify(boxes[i], embs[i], taken)
            if t is None:
                self.active.append(Track(self._next))
                self._next += 1
                t = len(self.active) - 1
            taken.add(t)
            self.active[t].add(frame, faces[i], embs.get(i), qualities[i])
            self._last[self.active[t].id] = self._step
        still = []
        for tr in self.active:
            (still if self._step - self._last[tr.id] <= self.max_gap else self.done).append(tr)
        self.active = still

    def _reidentify(self, box: tuple[float, float, float, float], emb: np.ndarray, taken: set[int]) -> int | None:
        best, best_v = None, self.min_cos
        w = box[2] - box[0]
        for t, tr in enumerate(self.active):
            if t in taken or not tr.embeddings:
                continue
            last = tr.boxes[-1]
            near = abs((last[0] + last[2]) - (box[0] + box[2])) / 2 <= 2 * max(w, last[2] - last[0]) and \
                abs((last[1] + last[3]) - (box[1] + box[3])) / 2 <= 2 * max(w, last[2] - last[0])
            cos = float(tr.mean_embedding() @ emb)
            if near and cos >= best_v:
                best, best_v = t, cos
        return best

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
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0) or 25.0
    first_ok, first = cap.read()
    if not first_ok:
        cap.release()
        raise LrfaceError(f"{source}: not a readable video (no frame could be decoded)")

    def gen_video() -> Iterator[tuple[int, np.ndarray]]:
        i, ok, frame = 0, first_ok, first
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
class ScanResult:
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
    res = t.result.to_dict() if t.result is not None else {"identity": None, "matches": []}
    return {"track": t.id, "first_frame": t.frames[0], "last_frame": t.frames[-1],
            "start_s": round(t.frames[0] / fps, 2), "end_s": round(t.frames[-1] / fps, 2), "detections": len(t.frames),
            "embedded": len(t.embeddings), "r": round(t.r, 1), "best_quality": round(max(t.qualities), 3), **res}


def scan(source: Path, rec: Any, gallery: Any = None, every: int = 1, min_detections: int = 2, k: int = 3,
         threshold: float | None = None, progress: Callable[[int, int], None] | None = None) -> ScanResult:
    """Detect, track, fuse and match (module doc). ``gallery``: a ``Gallery`` or None (tracks only);
    tracks with fewer than ``min_detections`` faces are dropped as likely false detections."""
    frames, expected, fps = iter_frames(source, every)
    tracker = Tracker()
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
        tracker.update(i, faces, rec.embed_faces, [face_quality(f) for f in faces])
        n += 1
        if progress:
            progress(n, expected)
    seconds = time.perf_counter() - t0
    if n == 0:
        raise LrfaceError(f"{source}: no frame could be read" + (f" ({errors[0]})" if errors else ""))
    tracks = [t for t in tracker.finish() if len(t.frames) >= min_detections]
    if gallery is not None and tracks:
        found = gallery.search(np.stack([t.template() for t in tracks]), [t.r for t in tracks], rec, k, "fused", threshold)
        for t, res in zip(tracks, found):
            t.result = res
    return ScanResult(tracks, n, fps, seconds, errors, every)


def _png_data_uri(rgb: np.ndarray, side: int = 112) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgb).resize((side, side), Image.BICUBIC).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def write_outputs(result: ScanResult, out: Path, source: str) -> dict[str, Path]:
    """JSON, CSV and the HTML contact sheet under ``out`` (each written atomically)."""
    data = {"source": source, **result.to_dict()}
    paths = {"json": out / "scan.json", "csv": out / "tracks.csv", "html": out / "contact_sheet.html"}
    atomic_write_text(paths["json"], json.dumps(data, indent=1))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["track", "start_s", "end_s", "first_frame", "last_frame", "detections", "r", "best_quality", "identity",
                "top_match", "top_score", "threshold"])
    for t in data["tracks"]:
        top = t["matches"][0] if t["matches"] else {}
        w.writerow([t["track"], t["start_s"], t["end_s"], t["first_frame"], t["last_frame"], t["detections"], t["r"],
                    t["best_quality"], t["identity"] or "unknown", top.get("name", ""), top.get("score", ""),
                    top.get("threshold", "")])
    atomic_write_text(paths["csv"], buf.getvalue())
    cards = []
    for t, d in zip(result.tracks, data["tracks"]):
        who = html.escape(d["identity"] or "unknown")
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


def make_test_video(out: Path, frames: int = 60, people: int = 3, fps: float = 10.0, seed: int = 0,
                    data_root: str | None = None) -> dict[str, Any]:
    """A 640x480 MJPG video of LFW people moving across a real background while they shrink from
    an inter-ocular distance of 48 px to 8 px, and a gallery folder with another photo of each
    (plus as many distractor people). Returns the ground truth (also written as truth.json)."""
    from .align.detect import detect_faces
    from .data.lfw import lfw_dir
    from .eval.detection import SCENE, _background, _ignore_regions, _paste, eye_centres

    root = lfw_dir(data_root) / "lfw-deepfunneled"
    rng = np.random.default_rng(seed)
    candidates = [p for p in sorted(root.iterdir()) if p.is_dir() and len(list(p.glob("*.jpg"))) >= 2]
    chosen = [candidates[i] for i in rng.choice(len(candidates), 2 * people, replace=False)]
    actors, distractors = chosen[:people], chosen[people:]
    photos, eyes = [], []
    for person in actors:
        photo = load_image(sorted(person.glob("*.jpg"))[0])
        found = detect_faces(photo, "hog")
        if not found:
            raise LrfaceError(f"no face in {person.name}'s first LFW photo")
        photos.append(photo)
        eyes.append(eye_centres(found[0]))
    for person in actors + distractors:
        g = out / "gallery" / person.name
        g.mkdir(parents=True, exist_ok=True)
        src = sorted(person.glob("*.jpg"))[1]
        (g / src.name).write_bytes(src.read_bytes())
    photos_all = sorted(root.glob("*/*.jpg"))
    background = _background(photos_all, rng)
    for _ in range(20):  # a background without faces of its own (other people in the LFW strips)
        if not _ignore_regions(background):
            break
        background = _background(photos_all, rng)
    writer = cv2.VideoWriter(str(out / "video.avi"), cv2.VideoWriter_fourcc(*"MJPG"), fps, SCENE[::-1])
    if not writer.isOpened():
        raise LrfaceError("OpenCV cannot write MJPG video here")
    lanes = np.linspace(SCENE[1] * 0.2, SCENE[1] * 0.8, people)
    truth = []
    for f in range(frames):
        scene = background.copy()
        u = f / max(frames - 1, 1)
        iod = 48.0 * (8.0 / 48.0) ** u  # geometric shrink 48 -> 8 px
        for p in range(people):
            at = np.array([lanes[p] + 40 * np.sin(2 * np.pi * u + p), 150 + 180 * u])
            _paste(scene, photos[p], eyes[p], iod, at)
            truth.append({"frame": f, "person": actors[p].name, "iod": round(iod, 2), "eyes_mid": at.round(1).tolist()})
        writer.write(np.ascontiguousarray(scene[..., ::-1]))
    writer.release()
    meta = {"frames": frames, "fps": fps, "people": [a.name for a in actors],
            "distractors": [d.name for d in distractors], "seed": seed, "truth": truth}
    atomic_write_text(out / "truth.json", json.dumps(meta, indent=1))
    return meta
