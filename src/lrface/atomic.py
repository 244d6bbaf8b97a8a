"""Atomic writes: write a temp file in the target folder, fsync, then rename over the target."""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

log = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside ``target``; on success it is renamed onto ``target``."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        from .errors import LrfaceError

        raise LrfaceError(f"cannot write {target}: {e.strerror or e}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def check_writable(target: str | os.PathLike[str]) -> None:
    """Fail now, with one line, when ``target`` cannot be written (before minutes of compute);
    leaves nothing behind."""
    target = Path(target)
    try:
        if target.is_dir():
            raise IsADirectoryError(21, "is a folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        from .errors import LrfaceError

        raise LrfaceError(f"cannot write {target}: {e.strerror or e}") from None
    os.close(fd)
    os.unlink(tmp)


def atomic_write(target: str | os.PathLike[str], writer: Callable[[Path], object]) -> None:
    """Call ``writer(tmp_path)`` and atomically move the result to ``target``."""
    with atomic_path(target) as tmp:
        writer(tmp)


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    atomic_write(target, lambda p: p.write_bytes(data))


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    atomic_write(target, lambda p: p.write_text(text))


STALE_TMP_SECONDS = 3600.0


def clean_stale_tmp(folder: Path, older_than: float = STALE_TMP_SECONDS) -> int:
    """Remove ``.NAME.*.tmp`` files an interrupted writer left in ``folder`` (older than an hour, so a
    writer still at work keeps its file). Returns how many were removed."""
    import time

    removed = 0
    now = time.time()
    for f in folder.glob(".*.tmp"):
        try:
            if now - f.stat().st_mtime > older_than:
                f.unlink()
                removed += 1
        except OSError:
            pass
    return removed


@contextlib.contextmanager
def locked(target: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``target``'s sibling ``.lock`` file (POSIX; a no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock = target.with_name(f".{target.name}.lock")
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_keyed_npz(path: Path, field: str, tag: str | None = None) -> dict[str, np.ndarray]:
    """``{key: row}`` of a table written by :func:`update_keyed_npz`; {} when absent, corrupt or
    written for another ``tag``."""
    if not path.is_file():
        return {}
    try:
        with np.load(path) as z:
            if tag is not None and str(z["config"]) != tag:
                return {}
            return dict(zip(z["keys"].tolist(), z[field]))
    except Exception as e:  # noqa: BLE001 - a corrupt cache is rebuilt, never fatal
        log.warning("ignoring corrupt cache %s (%s)", path, e)
        return {}


def update_keyed_npz(path: Path, field: str, rows: dict[str, np.ndarray], width: int,
                     tag: str | None = None) -> dict[str, np.ndarray]:
    """Merge ``rows`` into the cache table at ``path`` under a lock and write it atomically, so
    concurrent processes keep each other's entries. A cache that cannot be written is a warning, not
    an error. Returns the merged table."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_tmp(path.parent)
        with locked(path):
            merged = {**read_keyed_npz(path, field, tag), **rows}
            keys = np.array(list(merged), dtype=str) if merged else np.zeros(0, "U40")  # keys at their own length
            vals = np.stack(list(merged.values())) if merged else np.zeros((0, width), np.float32)
            extra = {} if tag is None else {"config": np.array(tag)}

            def write(p: Path) -> None:
                with open(p, "wb") as fh:
                    arrays: dict[str, Any] = {"keys": keys, field: vals, **extra}
                    np.savez(fh, **arrays)

            atomic_write(path, write)
        return merged
    except OSError as e:
        log.warning("cache not written: %s (%s)", path, e.strerror or e)
        return rows
