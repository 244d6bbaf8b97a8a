"""ONNX export of a recognizer's networks, checked against PyTorch with onnxruntime.

Each exported graph takes aligned chips (N x 3 x H x W, RGB in [0, 1]; N is dynamic) and returns
L2-normalised embeddings, exactly what ``Recognizer.embed_crops`` computes. A routed recognizer
exports both experts (``<stem>.hr.onnx``, ``<stem>.lr.onnx``) and a JSON file with its routing
(cut-off, match weight, thresholds), so another runtime can reproduce its decisions.
"""
from __future__ import annotations

import io
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..atomic import atomic_write_bytes, atomic_write_text
from ..errors import LrfaceError

OPSET = 17


class Normalized(torch.nn.Module):
    """The backbone followed by L2 normalisation (the embedding every lrface API returns)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.model(x), dim=1)


def onnx_bytes(model: torch.nn.Module, input_size: tuple[int, int]) -> bytes:
    """Serialise ``model`` (eval mode, CPU, float32) to ONNX with a dynamic batch axis."""
    net = Normalized(model).eval().float().cpu()
    x = torch.rand(2, 3, *input_size)
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes on shape arithmetic (shapes are static per input size)
        torch.onnx.export(net, (x,), buf, dynamo=False,  # type: ignore[arg-type]  # a BytesIO is accepted
                          input_names=["input"], output_names=["embedding"],
                          dynamic_axes={"input": {0: "batch"}, "embedding": {0: "batch"}}, opset_version=OPSET)
    return buf.getvalue()


@dataclass
class ExportCheck:
    path: str
    max_abs_diff: float
    onnx_faces_per_s: float
    torch_faces_per_s: float


def _rate(fn: Any, n: int, seconds: float) -> float:
    fn()
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        done += n
    return done / (time.perf_counter() - t0)


def check_onnx(data: bytes, model: torch.nn.Module, x: torch.Tensor, path: str, seconds: float = 2.0) -> ExportCheck:
    """Parity (max |diff| of the embeddings) and speed of onnxruntime vs PyTorch on the same batch."""
    from ..onnxsession import cpu_session

    sess = cpu_session(data)
    net = Normalized(model).eval().cpu()
    xn = x.numpy().astype(np.float32)
    with torch.inference_mode():
        ref = net(x.contiguous(memory_format=torch.channels_last)).numpy()
        out = sess.run(None, {"input": xn})[0]
        rt = _rate(lambda: net(x.contiguous(memory_format=torch.channels_last)), len(x), seconds)
    ro = _rate(lambda: sess.run(None, {"input": xn}), len(x), seconds)
    return ExportCheck(path, float(np.abs(out - ref).max()), ro, rt)


def export_recognizer(rec: Any, out: str | Path, sample: torch.Tensor | None = None,
                      seconds: float = 2.0) -> list[ExportCheck]:
    """Write ``out`` (.onnx) for a plain recognizer, or ``<stem>.hr.onnx`` + ``<stem>.lr.onnx`` +
    ``<stem>.json`` for a routed one; returns the parity/speed check of each graph (batch 32)."""
    out = Path(out)
    if out.suffix != ".onnx":
        raise LrfaceError(f"{out}: the output file must end in .onnx")
    if out.is_dir():
        raise LrfaceError(f"{out} is a directory")
    experts = [("hr", rec.hr), ("lr", rec.lr)] if hasattr(rec, "lr") else [("", rec)]
    checks = []
    for tag, r in experts:
        path = out if not tag else out.with_name(f"{out.stem}.{tag}.onnx")
        size = tuple(r.input_size)
        data = onnx_bytes(r.model, size)  # type: ignore[arg-type]
        atomic_write_bytes(path, data)
        gen = torch.Generator().manual_seed(0)
        x = sample if sample is not None and tuple(sample.shape[-2:]) == size else torch.rand(32, 3, *size, generator=gen)
        checks.append(check_onnx(data, r.model, x, str(path), seconds))
    if len(experts) == 2:
        spec = {"model": rec.model_name, "hr": Path(checks[0].path).name, "lr": Path(checks[1].path).name,
                "hr_input": list(rec.hr.input_size), "lr_input": list(rec.lr.input_size), "framing": "dlib",
                "cutoff": rec.cutoff, "match_weight": rec.match_weight, "threshold": rec.threshold,
                "calibration": None if rec.calibration is None else rec.calibration.to_dict(),
                "input": "aligned chips, RGB float in [0, 1], N x 3 x H x W; output: L2-normalised embeddings"}
        atomic_write_text(out.with_suffix(".json"), json.dumps(spec, indent=1))
    return checks
