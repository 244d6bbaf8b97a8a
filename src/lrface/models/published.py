"""Models trained by this project's own commands, committed under ``weights/`` with a manifest.

``weights/manifest.json``: name -> {file, sha256, base_model, command, data, commit, metrics}.
Each entry is registered as a model: its base architecture with those weights (sha256 checked).
"""
from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from pathlib import Path
from typing import Any

import yaml
from safetensors.torch import load as load_safetensors

from ..atomic import atomic_write_bytes, atomic_write_text
from ..errors import LrfaceError
from ..paths import weights_dir
from ..registry import MODELS

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


def _factory(name: str, entry: dict[str, Any]):
    def build(pretrained: bool = True):
        model = MODELS.create(entry["base_model"], pretrained=False)
        if pretrained:
            f = weights_dir() / entry["file"]
            if not f.is_file():
                raise LrfaceError(f"weights of {name} missing: {f}")
            data = f.read_bytes()
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise LrfaceError(f"{f}: sha256 does not match weights/{MANIFEST}")
            from . import load_weights

            load_weights(model, load_safetensors(data), str(f), name)
        return model

    metrics = entry.get("metrics", {})
    summary = ", ".join(f"{k} {v}" for k, v in list(metrics.items())[:4])
    build.__doc__ = f"{entry['base_model']} fine-tuned by lrface ({entry.get('recipe', '?')}); {summary}"
    return build


def register_published() -> None:
    """Register every face-recognition entry (SR networks and other kinds are not models)."""
    for name, entry in read_manifest().items():
        if entry.get("kind", "recognition") == "recognition" and name not in MODELS:
            MODELS.register(name)(_factory(name, entry))


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


def publish(run_dir: Path, name: str, base_model: str, command: str, data: str, metrics: dict[str, Any],
            max_mb: float = 30.0) -> Path:
    """Copy ``run_dir/model.safetensors`` to ``weights/<name>.safetensors`` and record it."""
    src = run_dir / "model.safetensors"
    if not src.is_file():
        raise LrfaceError(f"{src} not found: train first")
    data_bytes = src.read_bytes()
    if len(data_bytes) > max_mb * 2**20:
        raise LrfaceError(f"{src} is {len(data_bytes) / 2**20:.1f} MB, over the {max_mb} MB limit")
    root = weights_dir()
    dst = root / f"{name}.safetensors"
    atomic_write_bytes(dst, data_bytes)
    cfg_file = run_dir / "config.yaml"
    recipe = (yaml.safe_load(cfg_file.read_text()) or {}).get("name", "?") if cfg_file.is_file() else "?"
    record_weights(name, dst, {"kind": "recognition", "base_model": base_model, "recipe": recipe,
                               "command": command, "data": data, "metrics": metrics})
    return dst
