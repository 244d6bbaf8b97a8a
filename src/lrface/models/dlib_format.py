"""Pure-Python reader of dlib's serialized DNN files (``dlib::serialize`` encodings).

Format facts: ../shared/docs/dlib-dnn-format.md. Only what the face-recognition ResNet
(``dlib_face_recognition_resnet_model_v1.dat``) uses is supported; anything else raises.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LrfaceError


class DlibFormatError(LrfaceError):
    """The file is not a dlib network of the expected shape."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DlibFormatError(f"truncated dlib file at byte {self.pos}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def int_(self) -> int:
        ctrl = self._take(1)[0]
        n = ctrl & 0x0F
        if not 1 <= n <= 8:
            raise DlibFormatError(f"bad integer control byte {ctrl:#x} at byte {self.pos - 1}")
        value = int.from_bytes(self._take(n), "little")
        return -value if ctrl & 0x80 else value

    def float_(self) -> float:
        mantissa, exponent = self.int_(), self.int_()
        special = {32000: math.inf, 32001: -math.inf, 32002: math.nan}
        return special[exponent] if exponent in special else math.ldexp(mantissa, exponent)

    def bool_(self) -> bool:
        b = self._take(1)
        if b not in (b"0", b"1"):
            raise DlibFormatError(f"bad bool byte {b!r} at {self.pos - 1}")
        return b == b"1"

    def string(self) -> str:
        return self._take(self.int_()).decode("latin-1")

    def peek_string(self) -> str | None:
        save = self.pos
        try:
            return self.string()
        except (DlibFormatError, UnicodeDecodeError):
            return None
        finally:
            self.pos = save

    def tensor(self) -> np.ndarray:
        version = self.int_()
        if version != 2:
            raise DlibFormatError(f"unexpected tensor version {version}")
        shape = tuple(self.int_() for _ in range(4))
        count = int(np.prod(shape))
        return np.frombuffer(self._take(4 * count), dtype="<f4").reshape(shape).copy()

    def alias(self) -> tuple[int, ...]:
        if self.int_() != 1:
            raise DlibFormatError("unexpected alias tensor version")
        return tuple(self.int_() for _ in range(4))


@dataclass
class DlibLayer:
    """One computational layer with its parsed details (input-to-output order)."""

    kind: str  # con, affine, relu, add_prev, avg_pool, max_pool, fc
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class DlibNetwork:
    loss: str
    loss_attrs: dict[str, float]
    input_name: str
    channel_means: tuple[float, float, float]
    input_size: tuple[int, int]
    layers: list[DlibLayer]


def _layer_details(r: _Reader) -> DlibLayer:
    name = r.string()
    if name == "con_4":
        params = r.tensor()
        num_filters, nr, nc, sy, sx, py, px = (r.int_() for _ in range(7))
        w_shape, b_shape = r.alias(), r.alias()
        for _ in range(4):
            r.float_()
        flat = params.reshape(-1)
        n_w = int(np.prod(w_shape))
        weight = flat[:n_w].reshape(w_shape)
        bias = flat[n_w : n_w + b_shape[1]]
        attrs = dict(weight=weight, bias=bias, stride=(sy, sx), padding=(py, px), kernel=(nr, nc))
        return DlibLayer("con", attrs)
    if name == "affine_":
        params = r.tensor().reshape(-1)
        g_shape, _b_shape = r.alias(), r.alias()
        mode = r.int_()
        if mode != 0:
            raise DlibFormatError(f"affine mode {mode} unsupported (expected per-channel)")
        n = int(np.prod(g_shape))
        return DlibLayer("affine", dict(gamma=params[:n].copy(), beta=params[n : 2 * n].copy()))
    if name == "relu_":
        return DlibLayer("relu")
    if name == "add_prev_":
        return DlibLayer("add_prev")
    if name in ("avg_pool_2", "max_pool_2"):
        nr, nc, sy, sx, py, px = (r.int_() for _ in range(6))
        return DlibLayer(name[:-2], dict(kernel=(nr, nc), stride=(sy, sx), padding=(py, px)))
    if name == "fc_2":
        num_outputs, num_inputs = r.int_(), r.int_()
        params = r.tensor().reshape(-1)
        r.alias(), r.alias()
        bias_mode = r.int_()
        for _ in range(4):
            r.float_()
        fc = params[: num_inputs * num_outputs].reshape(num_inputs, num_outputs)
        return DlibLayer("fc", dict(weight=fc.T.copy(), has_bias=bias_mode != 1))
    raise DlibFormatError(f"unsupported dlib layer {name!r}")


def _trailer(r: _Reader) -> None:
    for _ in range(3):
        r.bool_()
    for _ in range(3):
        r.tensor()


def parse_dlib_network(path: str | Path) -> DlibNetwork:
    """Parse a dlib metric-loss network file into layers in input-to-output order."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise DlibFormatError(f"cannot read dlib network {path}: {e.strerror}") from None
    r = _Reader(data)
    if r.int_() != 1:
        raise DlibFormatError("not a dlib loss-layer network (first version int != 1)")
    loss = r.string()
    if not loss.startswith("loss_metric"):
        raise DlibFormatError(f"unsupported loss {loss!r}")
    loss_attrs = {"margin": r.float_(), "distance_threshold": r.float_()}
    stack: list[int] = []
    while True:
        nxt = r.peek_string()
        if nxt is not None and nxt.startswith("input"):
            break
        v = r.int_()
        if v not in (1, 2, 3):
            raise DlibFormatError(f"unexpected layer version {v}")
        stack.append(v)
    if not stack or stack[-1] != 3:
        raise DlibFormatError("network does not end in an input layer")
    input_name = r.string()
    if input_name != "input_rgb_image_sized":
        raise DlibFormatError(f"unsupported input layer {input_name!r}")
    means = (r.float_(), r.float_(), r.float_())
    size = (r.int_(), r.int_())
    layers = [_layer_details(r)]
    _trailer(r)
    r.int_()  # sample_expansion_factor
    for v in reversed(stack[:-1]):
        if v == 2:
            layers.append(_layer_details(r))
            _trailer(r)
    if r.pos != len(data):
        raise DlibFormatError(f"{len(data) - r.pos} trailing bytes after the network")
    return DlibNetwork(loss, loss_attrs, input_name, means, size, layers)
