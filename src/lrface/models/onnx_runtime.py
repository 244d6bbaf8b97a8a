"""Inference on onnxruntime: the same network, exported once per weights, run faster on a CPU.

A recognizer on the CPU embeds through onnxruntime when it is installed (``runtime="auto"``, the
default; ``LRFACE_RUNTIME=torch`` or ``runtime="torch"`` keeps PyTorch). The graph is the module
itself, exported by ``export.onnx_bytes`` (backbone + L2 normalisation, dynamic batch) and cached
under ``$LRFACE_CACHE/onnx`` keyed by the weights' digest and input size, so it is exported once
per model, not once per process. Before a new export is used its embeddings are compared with
PyTorch's on a random batch: a graph that differs by more than ``PARITY_TOL`` is never used (the
recognizer stays on PyTorch and says so once in the log).

Why: on the 2-core CPU the same dlib ResNet embeds about 1.4x faster on onnxruntime than in eager
PyTorch (``python bench/runtime.py`` prints both rates for every shipped backbone, side by side in
one run); the embeddings agree to about 1e-6. Training and anything that changes the weights after
the first embedding use PyTorch (``Recognizer.from_model``).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_write_bytes
from ..errors import LrfaceError
from ..paths import cache_dir
from .export import OPSET, Normalized, onnx_bytes

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "torch", "onnx")
RUNTIME_ENV = "LRFACE_RUNTIME"
# max |diff| of L2-normalised embeddings allowed between the graph and PyTorch; measured 2e-7
# (dlib_lr150) to 4e-6 (sface) on random batches: float32 summation order only.
PARITY_TOL = 1e-4


def resolve_runtime(runtime: str | None, device: torch.device) -> str:
    """``auto`` (or None: ``$LRFACE_RUNTIME``, else auto) -> ``onnx`` on a CPU with onnxruntime
    installed, else ``torch``. ``onnx`` asked for where it cannot run is an error."""
    chosen = runtime or os.environ.get(RUNTIME_ENV) or "auto"
    if chosen not in RUNTIMES:
        source = "" if runtime else f" (from ${RUNTIME_ENV})"
        raise LrfaceError(f"unknown runtime {chosen!r}{source}; choose from {', '.join(RUNTIMES)}")
    if chosen == "torch":
        return "torch"
    if device.type != "cpu":
        if chosen == "onnx":
            raise LrfaceError(f"runtime onnx runs on the CPU only, not on {device}; use runtime torch")
        return "torch"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        if chosen == "onnx":
            raise LrfaceError("runtime onnx needs onnxruntime: pip install onnxruntime") from None
        return "torch"
    return "onnx"


class OnnxEmbedder:
    """``model`` (eval, float32) as an onnxruntime session: float N x 3 x H x W in [0, 1] ->
    L2-normalised N x D embeddings, as ``Normalized(model)`` computes them."""

    def __init__(self, model: torch.nn.Module, input_size: tuple[int, int], digest: str) -> None:
        from ..onnxsession import cpu_session

        h, w = input_size
        path = cache_dir() / "onnx" / f"{type(model).__name__}-{digest}-{h}x{w}-opset{OPSET}.onnx"
        data = self._cached(path)
        if data is not None:
            try:
                self.session = cpu_session(data)
                return
            except Exception as e:  # noqa: BLE001 - an unreadable cache entry is exported again
                log.warning("cached %s unreadable (%s); exporting again", path, e)
        data = onnx_bytes(model, input_size)
        self.session = cpu_session(data)
        diff = self.parity(model, input_size)
        if not diff <= PARITY_TOL:  # NaN too
            raise LrfaceError(f"{type(model).__name__} on onnxruntime differs from PyTorch by {diff:.2g}")
        atomic_write_bytes(path, data)

    @staticmethod
    def _cached(path: Path) -> bytes | None:
        try:
            return path.read_bytes() if path.is_file() else None
        except OSError:
            return None

    def parity(self, model: torch.nn.Module, input_size: tuple[int, int]) -> float:
        """max |diff| of the embeddings of a random batch, this graph vs PyTorch."""
        x = torch.rand(4, 3, *input_size, generator=torch.Generator().manual_seed(0))
        with torch.inference_mode():
            ref = Normalized(model).eval().cpu()(x).float().numpy()
        return float(np.abs(self(x.numpy()) - ref).max())

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"input": np.ascontiguousarray(x, dtype=np.float32)})[0]
