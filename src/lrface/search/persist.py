"""Reading and writing galleries: SQLite (``search.store``, the record) and the legacy single-file
.npz format (read, checked, and imported with ``lrface gallery import``).

``save_gallery(g, path)``: a new path gets the whole gallery (written beside it, then renamed into
place); an existing SQLite gallery gets ``g``'s journal (its adds and removes since it was loaded)
in one transaction, so concurrent writers keep each other's work. A legacy .npz is never
rewritten: it is imported into a new file.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_path, atomic_write
from ..errors import LrfaceError
from . import store

FORMAT, VERSION = "lrface-gallery", 1


def _meta(g: Any) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "model": g.model, "model_id": g.model_id, "dim": g.dim,
            "index": g.index_kind, "index_params": g.index_params, "meta": g.meta}


def _all_rows(g: Any) -> list[tuple]:
    """The whole gallery as a journal of adds (one per identity)."""
    out = []
    for k, name in enumerate(g.names):
        sel = np.flatnonzero(g.ident == k)
        out.append(("add", name, g.emb[sel], g.r[sel], g.quality[sel], [g.sources[i] for i in sel],
                    [g.content[i] for i in sel]))
    return out


def save_gallery(g: Any, path: Path, replace: bool = False) -> None:
    if path.is_dir():
        raise LrfaceError(f"{path} is a folder: give a file name")
    if path.is_file() and path.stat().st_size and not replace:
        if not store.is_sqlite(path):
            raise LrfaceError(f"{path} is a gallery in the old single-file format: import it into a database "
                              f"first (lrface gallery import {path} NEW.db)")
        if g.journal:
            store.commit(path, g.journal, g.model_id)
        g.journal.clear()
        return
    with atomic_path(path) as tmp:  # SQLite takes the empty temp file as a new database
        try:
            store.create(tmp, _meta(g))
            store.commit(tmp, _all_rows(g), g.model_id)
        finally:
            for leftover in (f"{tmp}-wal", f"{tmp}-shm"):  # left only if a write failed half-way
                Path(leftover).unlink(missing_ok=True)
    for stale in (f"{path}-wal", f"{path}-shm"):  # the replaced database's, if it had any
        Path(stale).unlink(missing_ok=True)
    g.journal.clear()


def load_gallery(cls: Any, path: Path) -> Any:
    if not path.is_file():
        raise LrfaceError(f"{path}: no such gallery (create it with `lrface gallery create`)")
    if path.stat().st_size == 0:
        raise LrfaceError(f"{path}: empty file, not an lrface gallery")
    if store.is_sqlite(path):
        data = store.read(path)
        m = data["meta"]
        g = cls(m["model"], m["model_id"], int(m["dim"]), data["names"], data["emb"], data["ident"], data["r"],
                data["quality"], data["sources"], data["content"], m.get("index", "flat"),
                dict(m.get("index_params", {})), dict(m.get("meta", {})))
        header = m
    else:
        g, header = _load_npz(cls, path)
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise LrfaceError(f"{path}: not an lrface gallery of version {VERSION}")
    n = len(g.ident)
    if g.emb.shape != (n, g.dim) or len(g.r) != n or len(g.sources) != n or \
            (n and (g.ident.max() >= len(g.names) or g.ident.min() < 0)):
        raise LrfaceError(f"{path}: gallery arrays are inconsistent")
    if not np.isfinite(g.emb).all():
        raise LrfaceError(f"{path}: {int((~np.isfinite(g.emb).all(1)).sum())} template(s) hold NaN or infinite "
                          "values: the file is damaged")
    return g


def import_npz(src: Path, dst: Path, cls: Any) -> Any:
    """A legacy .npz gallery copied into a new SQLite gallery ``dst`` (``src`` is left as it is)."""
    if store.is_sqlite(src):
        raise LrfaceError(f"{src} is already a database gallery")
    if dst.exists():
        raise LrfaceError(f"{dst} exists: import into a new file")
    g = load_gallery(cls, src)
    save_gallery(g, dst)
    return g


def save_npz(g: Any, path: Path) -> None:
    """The legacy single-file format (for exchange; not a record that concurrent writers can share)."""
    header = {**_meta(g), "names": g.names}
    arrays = {"header": np.array(json.dumps(header)), "emb": g.emb.astype(np.float32), "ident": g.ident.astype(np.int64),
              "r": g.r.astype(np.float32), "quality": g.quality.astype(np.float32),
              "sources": np.array(g.sources, dtype=str), "content": np.array(g.content, dtype=str)}

    def write(p: Path) -> None:
        with open(p, "wb") as fh:
            np.savez(fh, **arrays)

    atomic_write(path, write)


def _load_npz(cls: Any, path: Path) -> tuple[Any, dict[str, Any]]:
    check_npz_sizes(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            g = cls(header["model"], header["model_id"], int(header["dim"]), list(header["names"]),
                    z["emb"].astype(np.float32), z["ident"].astype(np.int64), z["r"].astype(np.float32),
                    z["quality"].astype(np.float32), z["sources"].tolist(), z["content"].tolist(),
                    header.get("index", "flat"), dict(header.get("index_params", {})), dict(header.get("meta", {})))
    except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as e:
        raise LrfaceError(f"{path}: not a readable lrface gallery ({str(e).splitlines()[0] if str(e) else e!r})") from None
    return g, header


def check_npz_sizes(path: Path) -> None:
    """Refuse an .npz whose array headers promise more data than the file holds (a damaged or
    hostile header would otherwise ask for gigabytes before failing)."""
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                with zf.open(info) as fh:
                    major, _ = np.lib.format.read_magic(fh)
                    read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                    shape, _, dtype = read(fh)
                if dtype.hasobject:
                    raise LrfaceError(f"{path}: {info.filename} holds Python objects; refused")
                need = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                if need > info.file_size:
                    raise LrfaceError(f"{path}: {info.filename} promises {need} bytes but holds {info.file_size}: "
                                      "the file is damaged")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise LrfaceError(f"{path}: not a readable lrface gallery ({str(e).splitlines()[0] if str(e) else e!r})") from None
