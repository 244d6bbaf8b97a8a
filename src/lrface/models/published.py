"""Models trained by this project's own commands, committed under ``weights/`` with a manifest.

``weights/manifest.json``: name -> {file, sha256, base_model, command, data, commit, metrics}.
Each entry is registered as a model: its base architecture with those weights (sha256 checked).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from ..atomic import atomic_write_bytes
from ..errors import LrfaceError
from ..paths import weights_dir
from ..registry import MODELS
from .catalog import published_description
from .manifest import MANIFEST, git_commit, read_manifest, record_weights, set_manifest_field, sha256, write_manifest_entry  # noqa: F401


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
            from .base import load_weights

            sd = load_safetensors(data)
            if entry.get("stored_dtype") == "float16":  # published at half size (see publish)
                sd = {k: v.float() if v.dtype == torch.float16 else v for k, v in sd.items()}
            load_weights(model, sd, str(f), name)
        return model

    build.__doc__ = published_description(entry)
    return build


def register_published() -> None:
    """Register every face-recognition entry (SR networks and other kinds are not models)."""
    for name, entry in read_manifest().items():
        if entry.get("kind", "recognition") == "recognition" and name not in MODELS:
            MODELS.register(name)(_factory(name, entry))


def publish(run_dir: Path, name: str, base_model: str, command: str, data: str, metrics: dict[str, Any],
            max_mb: float = 30.0) -> Path:
    """Copy ``run_dir/model.safetensors`` to ``weights/<name>.safetensors`` and record it. Weights
    over ``max_mb`` in float32 are stored as float16 (``stored_dtype`` in the manifest) and read back
    as float32: ``sface_lr``'s 36.9 MB become 18.5 MB and its L2-normalised embeddings of 200 LFW crops
    move by at most 6.4e-4 (min cosine to the float32 ones 0.999998; ``python bench/half_weights.py``)."""
    src = run_dir / "model.safetensors"
    if not src.is_file():
        raise LrfaceError(f"{src} not found: train first")
    data_bytes, extra = src.read_bytes(), {}
    if len(data_bytes) > max_mb * 2**20:
        sd = load_safetensors(data_bytes)
        data_bytes = save_safetensors({k: v.half() if v.dtype == torch.float32 else v for k, v in sd.items()},
                                      metadata={"stored_dtype": "float16"})
        extra = {"stored_dtype": "float16"}
    if len(data_bytes) > max_mb * 2**20:
        raise LrfaceError(f"{src} is {len(data_bytes) / 2**20:.1f} MB even in float16, over the {max_mb} MB limit")
    root = weights_dir()
    dst = root / f"{name}.safetensors"
    atomic_write_bytes(dst, data_bytes)
    cfg_file = run_dir / "config.yaml"
    recipe = (yaml.safe_load(cfg_file.read_text()) or {}).get("name", "?") if cfg_file.is_file() else "?"
    record_weights(name, dst, {"kind": "recognition", "base_model": base_model, "recipe": recipe,
                               "command": command, "data": data, "metrics": metrics, **extra})
    return dst
