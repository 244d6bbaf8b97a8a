"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1``) rebuilt in PyTorch.

29 convolutions, 14 residual blocks, 128-D output (../shared/docs/dlib-dnn-format.md).
Batch-norm ("affine") layers are folded into the convolutions, so the module is a plain,
trainable conv net. Input: RGB float in [0, 1], N x 3 x 150 x 150 dlib face chips.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load as load_safetensors
from safetensors.torch import save_file
from torch import nn

from ..atomic import atomic_write
from ..paths import cache_dir, dlib_model_file
from .base import FaceBackbone
from .dlib_format import DlibFormatError, parse_dlib_network

log = logging.getLogger(__name__)

DLIB_MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"
CHANNEL_MEANS = (122.782, 117.001, 104.298)
# (out channels, downsampling) per residual block, input to output (dnn_face_recognition_ex.cpp).
BLOCKS: tuple[tuple[int, bool], ...] = (
    ((32, False),) * 3
    + ((64, True),) + ((64, False),) * 3
    + ((128, True),) + ((128, False),) * 2
    + ((256, True),) + ((256, False),) * 2
    + ((256, True),)
)


def add_zero_padded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib ``add_prev``: sum of two maps, the smaller zero-padded at the END of each axis."""
    shape = [max(x, y) for x, y in zip(a.shape[1:], b.shape[1:])]

    def grow(t: torch.Tensor) -> torch.Tensor:
        c, h, w = t.shape[1:]
        if (c, h, w) == tuple(shape):
            return t
        return F.pad(t, (0, shape[2] - w, 0, shape[1] - h, 0, shape[0] - c))

    return grow(a) + grow(b)


class ResBlock(nn.Module):
    """conv3x3 - relu - conv3x3 (+ shortcut), relu. Down blocks: stride-2 unpadded first conv
    and a 2x2 average-pool shortcut with no projection."""

    def __init__(self, cin: int, cout: int, down: bool) -> None:
        super().__init__()
        self.down = down
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2 if down else 1, padding=0 if down else 1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.relu(self.conv1(x)))
        shortcut = F.avg_pool2d(x, 2, 2) if self.down else x
        return F.relu(add_zero_padded(y, shortcut))


class DlibResNet(FaceBackbone):
    """dlib's 29-conv metric-learning ResNet; ``forward_features`` exposes stem, stage1..5,
    pool and embedding."""

    input_size = (150, 150)
    align_style = "dlib"
    embedding_dim = 128

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 7, stride=2, padding=0)
        blocks, cin = [], 32
        for cout, down in BLOCKS:
            blocks.append(ResBlock(cin, cout, down))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(256, 128, bias=False)
        self.register_buffer("mean", torch.tensor(CHANNEL_MEANS).view(1, 3, 1, 1), persistent=False)
        # stage ends: a stage closes before each down block and at the end
        self._stage_ends = [i - 1 for i, (_, d) in enumerate(BLOCKS) if d] + [len(BLOCKS) - 1]

    @property
    def feature_names(self) -> list[str]:
        return ["stem"] + [f"stage{k + 1}" for k in range(len(self._stage_ends))] + ["pool", "embedding"]

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = (x * 255.0 - self.mean) / 256.0  # type: ignore[operator]  # torch's stubs: module attributes and buffers
        x = F.max_pool2d(F.relu(self.stem(x)), 3, 2)
        feats: dict[str, torch.Tensor] = {"stem": x}
        stage = 1
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self._stage_ends:
                feats[f"stage{stage}"] = x
                stage += 1
        pooled = x.mean(dim=(2, 3))
        feats["pool"] = pooled
        feats["embedding"] = self.fc(pooled)
        return feats


def _folded_state_dict(dat_path: Path) -> dict[str, torch.Tensor]:
    """Convert the dlib file into this module's state dict, folding affine into conv:
    W' = W * gamma[o], b' = gamma * b + beta."""
    net = parse_dlib_network(dat_path)
    kinds = [layer.kind for layer in net.layers]
    convs = [(layer, net.layers[i + 1]) for i, layer in enumerate(net.layers) if layer.kind == "con"]
    if len(convs) != 1 + 2 * len(BLOCKS) or any(a.kind != "affine" for _, a in convs) or kinds[-1] != "fc":
        raise DlibFormatError(f"{dat_path.name} is not the 29-conv dlib face ResNet")
    model = DlibResNet()
    names = ["stem"] + [f"blocks.{i}.conv{j}" for i in range(len(BLOCKS)) for j in (1, 2)]
    sd: dict[str, torch.Tensor] = {}
    for name, (conv, aff) in zip(names, convs):
        g, b = aff.attrs["gamma"], aff.attrs["beta"]
        w = conv.attrs["weight"] * g[:, None, None, None]
        sd[f"{name}.weight"] = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))
        sd[f"{name}.bias"] = torch.from_numpy((g * conv.attrs["bias"] + b).astype(np.float32))
    sd["fc.weight"] = torch.from_numpy(net.layers[-1].attrs["weight"].astype(np.float32))
    expected = model.state_dict()
    for k, v in sd.items():
        if expected[k].shape != v.shape:
            raise DlibFormatError(f"{k}: file has {tuple(v.shape)}, model expects {tuple(expected[k].shape)}")
    return sd


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def load_dlib_state_dict(dat_path: Path | None = None) -> dict[str, torch.Tensor]:
    """Pretrained weights, converted once and cached as safetensors (re-converted if the cache
    is missing or corrupt)."""
    dat_path = dat_path or dlib_model_file(DLIB_MODEL_FILE)
    cached = cache_dir() / "models" / f"dlib_resnet_v1-{_file_digest(dat_path)}.safetensors"
    expected = {k: (v.shape, v.dtype) for k, v in DlibResNet().state_dict().items()}
    if cached.is_file():
        try:
            sd = load_safetensors(cached.read_bytes())  # in memory: no mmap of a file that may be replaced
            if {k: (v.shape, v.dtype) for k, v in sd.items()} == expected and \
                    all(torch.isfinite(v).all() for v in sd.values() if v.is_floating_point()):
                return sd
            log.warning("cached %s has the wrong keys, shapes, types or values; re-converting", cached)
        except Exception as e:  # noqa: BLE001 - any unreadable cache is re-made
            log.warning("cached %s unreadable (%s); re-converting", cached, e)
    sd = _folded_state_dict(dat_path)
    atomic_write(cached, lambda p: save_file(sd, str(p), metadata={"source": dat_path.name}))
    return sd
