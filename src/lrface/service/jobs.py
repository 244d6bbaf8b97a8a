"""Scan jobs for the service: a video is scanned in a worker thread (one at a time: a scan uses
every core), its progress polled, its tracks browsed, and a track's name confirmed or corrected
(optionally enrolling the track's fused template under that name). Jobs live in the server's
memory: a restart forgets them (the scan's outputs are also written under the job's folder)."""
from __future__ import annotations

import queue
import threading
import uuid
from pathlib import Path
from typing import Any

from ..errors import LrfaceError


class ScanJobs:
    def __init__(self, rec: Any, root: Path, compute: Any) -> None:
        self.rec, self.root, self.compute = rec, root, compute
        self.jobs: dict[str, dict[str, Any]] = {}
        self._tracks: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[str, Path, Any, int]] = queue.Queue()
        threading.Thread(target=self._work, daemon=True).start()

    def submit(self, video: Path, gallery: Any, gallery_path: Path | None, every: int) -> str:
        job = uuid.uuid4().hex[:12]
        with self._lock:
            self.jobs[job] = {"id": job, "status": "queued", "frames_done": 0, "frames_total": 0, "error": None,
                              "gallery": None if gallery_path is None else gallery_path.stem, "result": None,
                              "confirmed": {}}
        self._queue.put((job, video, (gallery, gallery_path), every))
        return job

    def _work(self) -> None:
        from ..video.scan import _png_data_uri, scan

        while True:
            job, video, (gallery, _), every = self._queue.get()
            state = self.jobs[job]
            state["status"] = "running"

            def progress(done: int, total: int) -> None:
                state["frames_done"], state["frames_total"] = done, total

            try:
                with self.compute:  # the recognizer is shared with the requests (not thread-safe)
                    res = scan(video, self.rec, gallery, every=every, progress=progress)
                out = res.to_dict()
                for row, t in zip(out["tracks"], res.tracks):
                    row["best_crop"] = _png_data_uri(t.best_crop) if t.best_crop is not None else None
                self._tracks[job] = res.tracks
                state.update(result=out, status="done")
            except LrfaceError as e:
                state.update(status="failed", error=str(e))
            except Exception as e:  # noqa: BLE001 - a job reports its failure; the server stays up
                state.update(status="failed", error=f"{type(e).__name__}: {e}")
            finally:
                video.unlink(missing_ok=True)

    def get(self, job: str) -> dict[str, Any]:
        if job not in self.jobs:
            raise KeyError(f"scan {job}")
        return self.jobs[job]

    def confirm(self, job: str, track: int, name: str, gallery_path: Path | None, enrol: bool) -> dict[str, Any]:
        """Record ``name`` for ``track`` (a confirmation or a correction); with ``enrol``, add the
        track's fused template to the job's gallery under that name."""
        from ..search.gallery import Gallery

        state = self.get(job)
        if state["status"] != "done":
            raise LrfaceError(f"scan {job} is {state['status']}: tracks can be named once it is done")
        tracks = {t.id: t for t in self._tracks.get(job, [])}
        if track not in tracks:
            raise LrfaceError(f"scan {job} has no track {track}")
        if not name.strip():
            raise LrfaceError("an identity name cannot be empty")
        state["confirmed"][str(track)] = name
        added = 0
        if enrol:
            if gallery_path is None:
                raise LrfaceError("this scan ran without a gallery: nothing to enrol into")
            t = tracks[track]
            g = Gallery.load(gallery_path)
            g.check_recognizer(self.rec)
            added = g.add(name, t.template()[None], [t.r], [max(t.qualities)], [f"scan {job} track {track}"],
                          [f"scan-{job}-track-{track}"])
            g.save(gallery_path)
        return {"track": track, "name": name, "enrolled": added}
