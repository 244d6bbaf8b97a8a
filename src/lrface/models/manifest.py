"""``weights/manifest.json``: name -> entry (kind, file, sha256, command, data, commit, metrics,
thresholds). Read and written here, without torch (``lrface models`` starts fast)."""
from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..errors import LrfaceError
from ..paths import weights_dir

MANIFEST = "manifest.json"
log = logging.getLogger(__name__)


REQUIRED = {"recognition": ("file", "sha256", "base_model"), "sr": ("file", "sha256", "scale"),
            "routed": ("hr", "lr", "cutoff"), "shipped": ("source",)}  # shipped: a wheel's model, its thresholds


def _valid_entries(data: Any, f: Path) -> dict[str, dict[str, Any]]:
    """Entries that have what their kind needs; others are left out with a warning."""
    if not isinstance(data, dict):
        raise LrfaceError(f"{f}: the manifest must be a JSON object")
    out = {}
    for name, entry in data.items():
        kind = entry.get("kind", "recognition") if isinstance(entry, dict) else None
        if kind in REQUIRED and all(k in entry for k in REQUIRED[kind]):
            out[name] = entry
        else:
            log.warning("%s: entry %r is incomplete or of an unknown kind; ignored", f, name)
    return out


def read_manifest(root: Path | None = None, strict: bool = False) -> dict[str, dict[str, Any]]:
    """``weights/manifest.json``. A broken manifest only costs its own models: without ``strict``
    it reads as empty (with a warning), so unrelated commands keep working; writers read it strictly
    and never overwrite what they cannot parse."""
    f = (root or weights_dir()) / MANIFEST
    if not f.is_file():
        return {}
    try:
        return _valid_entries(json.loads(f.read_text()), f)
    except (ValueError, OSError, LrfaceError) as e:
        msg = f"{f}: unreadable manifest ({e})"
        if strict:
            raise LrfaceError(msg) from None
        log.warning("%s; published models are unavailable", msg)
        return {}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record_weights(name: str, path: Path, entry: dict[str, Any]) -> None:
    """Add or replace the manifest entry of a weights file (sha256 and commit filled in)."""
    root = weights_dir()
    manifest = read_manifest(root, strict=True)
    manifest[name] = {"file": path.name, "sha256": sha256(path), "commit": entry.pop("commit", None) or git_commit(),
                      **entry}
    _write_manifest(root, manifest)


def _write_manifest(root: Path, manifest: dict[str, dict[str, Any]]) -> None:
    atomic_write_text(root / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def write_manifest_entry(name: str, entry: dict[str, Any]) -> None:
    """Add or replace an entry that has no weights file of its own (e.g. a routed recognizer)."""
    root = weights_dir()
    manifest = read_manifest(root, strict=True)
    manifest[name] = {"commit": git_commit(), **entry}
    _write_manifest(root, manifest)


def set_manifest_field(name: str, key: str, value: Any) -> None:
    root = weights_dir()
    manifest = read_manifest(root, strict=True)
    if name not in manifest:
        raise LrfaceError(f"{name} is not in {root / MANIFEST}")
    manifest[name][key] = value
    _write_manifest(root, manifest)
