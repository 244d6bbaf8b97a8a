"""What ``lrface models`` lists, without importing torch: every registered architecture's one-line
description (``ARCHITECTURES``; ``tests/test_layers.py`` checks it against the registry's
docstrings and prints what differs), the published models of
``weights/manifest.json`` and the routed recognizers, each with its licence (``licences``)."""
from __future__ import annotations

from typing import Any

from ..defaults import DEFAULT_MODEL
from .manifest import read_manifest

ARCHITECTURES = {
    "dlib_resnet": "dlib ResNet-29 (128-D, 150 px dlib chip), pretrained weights converted from face_recognition_models.",
    "inception_resnet_v1": "Inception-ResNet-v1 (CS-MHL-Net's backbone, 112x96, 512-D), randomly initialised",
    "iresnet100": "ArcFace iresnet100 (112x112, 512-D), randomly initialised",
    "iresnet18": "ArcFace iresnet18 (112x112, 512-D), randomly initialised",
    "iresnet34": "ArcFace iresnet34 (112x112, 512-D), randomly initialised",
    "iresnet50": "ArcFace iresnet50 (112x112, 512-D), randomly initialised",
    "lrnet32": "Native-resolution LR expert, 32 x 32 dlib-framed input, 128-D (train: configs/lr_expert.yaml)",
    "mbf_w600k": "insightface MobileFaceNet w600k (512-D, 112 crop, 5 points); non-commercial research only",
    "sface": "OpenCV Zoo SFace (128-D, 112 crop, 5 points, int8 dequantised); Apache-2.0, any use",
    "sphereface20": "SphereFace-20 (Lai & Lam's backbone, 128x128, 512-D), randomly initialised",
}


def published_description(entry: dict[str, Any]) -> str:
    """A published model's line: its base, recipe and first metrics (also its factory's docstring)."""
    summary = ", ".join(f"{k} {v}" for k, v in list(entry.get("metrics", {}).items())[:4])
    return f"{entry['base_model']} fine-tuned by lrface ({entry.get('recipe', '?')}); {summary}"


def routed_description(name: str, entry: dict[str, Any]) -> str:
    return (f"routed: faces with r < {entry['cutoff']:g} -> {entry['lr']}, others -> {entry['hr']}"
            f"{'; operating points' if entry.get('far_tables') else ''}{' (default)' if name == DEFAULT_MODEL else ''}")


def catalogue() -> dict[str, str]:
    """name -> description of every model a recognizer can be built from, in ``lrface models`` order."""
    manifest = read_manifest()
    rows = dict(ARCHITECTURES)
    rows.update({n: published_description(e) for n, e in manifest.items() if e.get("kind", "recognition") == "recognition"})
    rows = dict(sorted(rows.items()))
    rows.update({n: routed_description(n, e) for n, e in manifest.items() if e.get("kind") == "routed"})
    return rows

