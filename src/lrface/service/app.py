"""lrface as a service (``lrface serve``): the facade over HTTP, with the same typed results as ``--json``.

    GET    /health                                    model, galleries, version
    POST   /verify            image_a, image_b [far, crop_a, crop_b]
    POST   /detect            image [detector, min_r]
    POST   /embed             image [crop]
    GET    /galleries                                 every gallery with its size
    POST   /galleries/{g}                             a new, empty gallery (the server's recognizer)
    DELETE /galleries/{g}
    GET    /galleries/{g}/identities
    POST   /galleries/{g}/identities/{name}  images   enrol (several files at once)
    DELETE /galleries/{g}/identities/{name}
    POST   /galleries/{g}/identify  image [top_k, fpir, crop, all_faces]
    POST   /scans             video [gallery, every]   a scan job; GET /scans/{id}: progress, tracks
    POST   /scans/{id}/tracks/{t}  name [enrol]     confirm or correct a track's name
    GET    /docs                                      OpenAPI
    GET    /                                          the web page (enrol, search, see each face's answer)

Galleries are SQLite files in one folder (``search.store``): requests that change them are
transactions, so many clients (and ``lrface gallery`` commands) can write at once. Uploads are
checked as the command line checks files (``imageio.load_image``) and refused above
``max_upload_mb`` before they are read; with a token every request but ``/health`` needs
``Authorization: Bearer TOKEN``. Errors are one JSON object: ``{"error": "..."}``.
"""
from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse

from .. import __version__
from ..errors import LrfaceError
from .jobs import ScanJobs

NAME = re.compile(r"^[A-Za-z0-9_.\- ]{1,100}$")


class _Galleries:
    """Gallery files in ``root``; loaded snapshots cached until their file changes."""

    def __init__(self, root: Path, rec: Any) -> None:
        self.root, self.rec = root, rec
        self.root.mkdir(parents=True, exist_ok=True)
        self._cache: dict[str, tuple[tuple, Any]] = {}
        self._lock = threading.Lock()

    def path(self, name: str) -> Path:
        if not NAME.match(name) or name.startswith("."):
            raise LrfaceError(f"bad gallery name {name!r}: letters, digits, space, _ . - (at most 100)")
        return self.root / f"{name}.db"

    def _stamp(self, p: Path) -> tuple:
        return tuple((q.stat().st_mtime_ns, q.stat().st_size) if q.exists() else None
                     for q in (p, Path(f"{p}-wal")))

    def load(self, name: str) -> Any:
        from ..search.gallery import Gallery

        p = self.path(name)
        if not p.is_file():
            raise KeyError(name)
        stamp = self._stamp(p)
        with self._lock:
            hit = self._cache.get(name)
            if hit is not None and hit[0] == stamp:
                return hit[1]
        g = Gallery.load(p)
        g.check_recognizer(self.rec)
        with self._lock:
            self._cache[name] = (stamp, g)
        return g

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.db"))


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(model: str | None = None, galleries: str | Path = "galleries", token: str | None = None,
               max_upload_mb: float = 20.0, rec: Any = None) -> FastAPI:
    from ..api import load
    from ..defaults import DEFAULT_MODEL

    rec = rec or load(model or DEFAULT_MODEL)
    store = _Galleries(Path(galleries), rec)
    compute = threading.Lock()
    limit = int(max_upload_mb * 2**20)
    app = FastAPI(title="lrface", version=__version__,
                  description="Face recognition across resolutions: verify, detect, embed, galleries and "
                              "open-set identification with calibrated decisions.")

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        if token and request.url.path not in ("/health", "/") and \
                request.headers.get("authorization") != f"Bearer {token}":
            return _error(401, "missing or wrong token (Authorization: Bearer TOKEN)")
        size = request.headers.get("content-length")
        if size is not None and (not size.isdigit() or int(size) > limit):
            return _error(413, f"upload too large: at most {max_upload_mb:g} MB per request")
        try:
            return await call_next(request)
        except LrfaceError as e:
            return _error(400, str(e))

    @app.exception_handler(LrfaceError)
    async def lrface_error(request: Request, exc: LrfaceError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(KeyError)
    async def missing(request: Request, exc: KeyError) -> JSONResponse:
        what = str(exc.args[0])
        return _error(404, f"no {what}" if what.startswith("scan ") else f"no gallery {what!r}")

    def saved(upload: UploadFile) -> Path:
        """The upload as a file, checked like any file the command line reads."""
        suffix = Path(upload.filename or "x.jpg").suffix[:8] or ".jpg"
        fd, tmp = tempfile.mkstemp(suffix=suffix)
        with os.fdopen(fd, "wb") as fh:
            while chunk := upload.file.read(1 << 20):
                fh.write(chunk)
        return Path(tmp)

    def with_files(uploads: list[UploadFile], fn: Any) -> Any:
        paths = [saved(u) for u in uploads]
        try:
            with compute:  # one request computes at a time: dlib's detectors are not thread-safe
                return fn(paths)
        finally:
            for p in paths:
                p.unlink(missing_ok=True)

    page = (Path(__file__).parent / "static" / "index.html").read_text()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        """The web page: enrol people, search a photo or a tiny crop, see each face's answer."""
        return page

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "model": rec.model_name, "galleries": store.names()}

    @app.post("/verify")
    def verify(image_a: UploadFile = File(...), image_b: UploadFile = File(...), far: float | None = Form(None),
               crop_a: str = Form("auto"), crop_b: str = Form("auto")) -> dict[str, Any]:
        from ..api import verify as run

        return with_files([image_a, image_b], lambda p: run(p[0], p[1], model=rec, far=far, crop_a=crop_a,
                                                              crop_b=crop_b).to_dict(rec.model_name))

    @app.post("/detect")
    def detect(image: UploadFile = File(...), detector: str | None = Form(None), min_r: float = Form(0.0)) -> dict:
        from ..api import detect as run
        from ..defaults import FIND_DETECTOR

        faces = with_files([image], lambda p: run(p[0], detector=detector or FIND_DETECTOR, min_r=min_r))
        return {"faces": [f.to_dict() for f in faces]}

    @app.post("/embed")
    def embed(image: UploadFile = File(...), crop: str = Form("auto")) -> dict[str, Any]:
        def run(p: list[Path]) -> dict[str, Any]:
            face = rec.prepare(p[0], framing=crop)
            emb = rec.embed_assessed([face])[0]
            return {"embedding": [round(float(v), 6) for v in emb], "face": face.to_dict(rec.expert_for_face(face))}

        return with_files([image], run)

    @app.get("/galleries")
    def list_galleries() -> list[dict[str, Any]]:
        out = []
        for name in store.names():
            g = store.load(name)
            out.append({"name": name, "identities": len(g.names), "templates": len(g), "model": g.model})
        return out

    @app.post("/galleries/{gallery}", status_code=201)
    def create_gallery(gallery: str) -> dict[str, Any]:
        from ..search.gallery import new_gallery

        p = store.path(gallery)
        if p.exists():
            raise LrfaceError(f"gallery {gallery!r} exists")
        new_gallery(rec).save(p)
        return {"name": gallery, "identities": 0, "templates": 0}

    @app.delete("/galleries/{gallery}")
    def delete_gallery(gallery: str) -> dict[str, Any]:
        p = store.path(gallery)
        if not p.is_file():
            raise KeyError(gallery)
        for q in (p, Path(f"{p}-wal"), Path(f"{p}-shm")):
            q.unlink(missing_ok=True)
        return {"deleted": gallery}

    @app.get("/galleries/{gallery}/identities")
    def identities(gallery: str) -> list[dict[str, Any]]:
        g = store.load(gallery)
        return [{"name": n, "templates": c} for n, c in g.counts().items()]

    @app.post("/galleries/{gallery}/identities/{name}")
    def enrol(gallery: str, name: str, images: list[UploadFile] = File(...), crop: str = Form("photo")) -> dict:
        from ..search.gallery import Gallery, enroll

        p = store.path(gallery)
        if not p.is_file():
            raise KeyError(gallery)
        if not name.strip():
            raise LrfaceError("an identity name cannot be empty")

        def run(paths: list[Path]) -> dict[str, Any]:
            g = Gallery.load(p)  # a fresh snapshot: only this request's templates are committed
            g.check_recognizer(rec)
            report = enroll(g, rec, [(name, q) for q in paths], crop, progress=False)
            g.save(p)
            names = {str(q): u.filename for q, u in zip(paths, images)}
            report.refused = [(names.get(f) or f, why.replace(f, names.get(f) or f)) for f, why in report.refused]
            return {**report.to_dict(), "identities": len(g.names), "templates": len(g)}

        return with_files(images, run)

    @app.delete("/galleries/{gallery}/identities/{name}")
    def remove(gallery: str, name: str) -> dict[str, Any]:
        from ..search.gallery import Gallery

        p = store.path(gallery)  # no model work: not under the compute lock
        if not p.is_file():
            raise KeyError(gallery)
        g = Gallery.load(p)
        n = g.remove(name)
        g.save(p)
        return {"removed": name, "templates": n}

    jobs = ScanJobs(rec, store.root, compute)

    @app.post("/scans", status_code=202)
    def submit_scan(video: UploadFile = File(...), gallery: str | None = Form(None), every: int = Form(1)) -> dict:
        """Start scanning a video (or an image); poll GET /scans/{id} for progress and tracks."""
        gp = store.path(gallery) if gallery else None
        g = store.load(gallery) if gallery else None
        if not 1 <= every <= 1000:
            raise LrfaceError("every must be 1..1000")
        return {"id": jobs.submit(saved(video), g, gp, every), "status": "queued"}

    @app.get("/scans/{job}")
    def scan_state(job: str) -> dict[str, Any]:
        return jobs.get(job)

    @app.post("/scans/{job}/tracks/{track}")
    def name_track(job: str, track: int, name: str = Form(...), enrol: bool = Form(False)) -> dict[str, Any]:
        """Confirm or correct a track's name; ``enrol`` adds its fused template to the scan's gallery."""
        state = jobs.get(job)
        return jobs.confirm(job, track, name, store.path(state["gallery"]) if state["gallery"] else None, enrol)

    @app.post("/galleries/{gallery}/identify")
    def identify(gallery: str, image: UploadFile = File(...), top_k: int = Form(5), fpir: float | None = Form(None),
                 crop: str = Form("auto"), all_faces: bool = Form(False)) -> list[dict[str, Any]]:
        from ..api import identify as run

        g = store.load(gallery)
        if not 1 <= top_k <= 100:
            raise LrfaceError("top_k must be 1..100")
        return with_files([image], lambda p: [hit.to_dict() for hit in run(p[0], g, model=rec, top_k=top_k, fpir=fpir,
                                                                             framing=crop, all_faces=all_faces)])

    return app
